"""The evaluation files the paper's 2-shot baseline can answer, one a line: `infer.py --shots paper` draws
the demonstrations of a span task from the train split beside its file, so a span set without one is
left out (and named on stderr); choice tasks are answered zero-shot and always qualify.

    python scripts/baseline_files.py OUT/eval/*/test.jsonl    (used by scripts/steps.sh)
"""

import json
import sys
from pathlib import Path

from mnlu.records import SPAN_TASKS


def main(paths):
    for path in map(Path, paths):
        with open(path, encoding="utf-8") as f:
            task = json.loads(f.readline())["task"]
        if task in SPAN_TASKS and not path.with_name("train.jsonl").is_file():
            print(f"{path}: no train split beside it, so no 2-shot baseline", file=sys.stderr)
        else:
            print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
