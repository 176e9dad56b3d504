"""Join the prediction folders of infer.py runs over disjoint datasets into one folder, as one run
over all of them would have written it. The experiment scripts answer with one vLLM engine per GPU
(a 7B model fits one GPU, and four engines outrun one spread over four), each on a share of the
evaluation files, then join the shares for evaluate.py.

    python scripts/join_predictions.py OUT/preds/NAME.partial/engine-* --out OUT/preds/NAME
"""

import argparse
import json
import shutil
from pathlib import Path

from mnlu.cli import InputError, run_main
from mnlu.fileio import atomic_directory, atomic_write, read_json
from mnlu.resume import RUN_KEYS, joined_run

TOOL = "join_predictions.py"


def join(folders, out):
    """`out`: every folder's <dataset>.jsonl, and one run.json listing all their inputs and counts."""
    runs = [read_json(folder / "run.json") for folder in folders]
    for folder, run in zip(folders[1:], runs[1:]):
        for key in RUN_KEYS:
            if run.get(key) != runs[0].get(key):
                raise InputError(f"{folder / 'run.json'}: {key} differs from {folders[0] / 'run.json'}'s: not one run")
    files = {}
    for folder in folders:
        for path in sorted(folder.glob("*.jsonl")):
            if path.name in files:
                raise InputError(f"{path}: {path.stem} was answered in {files[path.name].parent} too")
            files[path.name] = path
    run = joined_run(runs)
    with atomic_directory(out, TOOL) as tmp:
        for name, path in files.items():
            shutil.copyfile(path, tmp / name)
        with atomic_write(tmp / "run.json") as f:
            f.write(json.dumps(run, indent=2) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path, help="infer.py --out folders, each over its own datasets")
    p.add_argument("--out", type=Path, required=True, help="the joined folder (new, or an earlier join's)")
    args = p.parse_args(argv)
    if args.out in args.folders:
        raise InputError(f"--out {args.out} is one of the folders to join")
    join(args.folders, args.out)
    print(f"joined {len(args.folders)} folders into {args.out}")


if __name__ == "__main__":
    run_main(TOOL, main)
