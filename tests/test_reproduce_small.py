"""scripts/reproduce_small.py's own part: the results block it writes into docs/results.md.

Its stages are the demo's (tests/test_demo.py runs those end to end); what is new is that the
results land between markers in a hand-written document, which must keep its text around them.
"""

import json
from pathlib import Path

from demo.model import ROOT
from demo.stages import Stages
from scripts.reproduce_small import BEGIN, END, write_results

RAW = ROOT.parent / "releases" / "raw"  # shown in the commands as ../releases/raw
REPORT = """# Evaluation report

| Task | Metric | Dataset | base | fine-tuned |
|---|---|---|---|---|
| ner | entity-level F1 | ncbi_disease | 7.4 [4.7, 10.3] | 24.3 [18.5, 30.6] |

## Paired differences

| Dataset | `fine-tuned` - `base` |
|---|---|
| ncbi_disease | +16.9 [+10.9, +23.1] (n=200) |

## Completeness

- `base`: every listed dataset complete.
"""


def make_report(folder: Path) -> Path:
    folder.mkdir()
    (folder / "report.md").write_text(REPORT)
    (folder / "report.png").write_bytes(b"\x89PNG figure")
    return folder


def stages_with_one_run(tmp_path: Path) -> Stages:
    log = tmp_path / "stages.json"
    runs = [
        {
            "name": "link",
            "command": "python scripts/link_raw.py ../releases/raw --out x",
            "seconds": 1.0,
            "peak_mib": 14.0,
        },
        {"name": "mix", "command": "python -m data_builders mix", "seconds": 90.0, "peak_mib": 450.0},
    ]
    log.write_text(json.dumps(runs))
    return Stages("reproduce_small", log)


def test_the_block_replaces_only_what_is_between_the_markers(tmp_path):
    report, stages = make_report(tmp_path / "report"), stages_with_one_run(tmp_path)
    results = tmp_path / "results.md"
    results.write_text(f"# Results\n\nintro by hand\n\n{BEGIN}\nold scores\n{END}\n\n## Findings\n\nby hand too\n")

    write_results(results, report, stages, [Path("ncbi_disease/dev.jsonl")], RAW)

    text = results.read_text()
    assert text.startswith("# Results\n\nintro by hand\n\n" + BEGIN)
    assert text.endswith(END + "\n\n## Findings\n\nby hand too\n") and "old scores" not in text
    block = text[text.index(BEGIN) : text.index(END)]
    assert "| ncbi_disease | 7.4 [4.7, 10.3] | 24.3 [18.5, 30.6] |" in block
    assert "+16.9 [+10.9, +23.1] (n=200)" in block and "### Paired differences" in block
    assert "Completeness" not in block and "# Evaluation report" not in block
    assert "python -m data_builders mix" in block and "| mix | 1.5 | 450 |" in block
    assert "link_raw.py $MNLU_RAW --out" in block and "releases" not in block  # where the user keeps them
    assert (tmp_path / "results.png").read_bytes() == b"\x89PNG figure"

    write_results(results, report, stages, [Path("ncbi_disease/dev.jsonl")], RAW)  # a rerun: the same file
    assert results.read_text() == text


def test_a_file_without_markers_gets_the_block_appended(tmp_path):
    report, stages = make_report(tmp_path / "report"), stages_with_one_run(tmp_path)
    results = tmp_path / "results.md"
    results.write_text("# Results\n\nwritten by hand\n")
    write_results(results, report, stages, [], RAW)
    text = results.read_text()
    assert text.startswith("# Results\n\nwritten by hand\n\n" + BEGIN) and text.endswith(END + "\n")
