"""The README's record examples are exactly what mnlu.tasks renders from the demo fixtures."""

import json
import re
from pathlib import Path

from mnlu.tasks import make_record

ROOT = Path(__file__).resolve().parent.parent


def test_readme_record_examples_match_the_renderer():
    readme = (ROOT / "README.md").read_text()
    shown = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", readme, re.S)]
    fixtures = json.loads((ROOT / "tests" / "fixtures" / "unified_format.json").read_text())
    assert shown == [make_record(f["task"], **f["fields"]) for f in fixtures]
