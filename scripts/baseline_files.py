"""The evaluation files the paper's 2-shot baseline can answer, one a line: `infer.py --shots paper` draws
the demonstrations of a span task from the train split beside its file, so a span set without one is
left out (and named on stderr); choice tasks are answered zero-shot and always qualify.

    python scripts/baseline_files.py OUT/eval/*/test.jsonl    (used by scripts/steps.sh)
"""

import sys

from mnlu.shots import paper_shots_can_answer


def main(paths):
    for path in paths:
        if paper_shots_can_answer(path):
            print(path)
        else:
            print(f"{path}: no train split beside it, so no 2-shot baseline", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
