"""Build the evaluation datasets and MNLU-Instruct from their release files, and mix MNLU-Instruct.

    python -m data_builders build --raw-dir RAW --out OUT [--only ID ...] [--split SPLIT ...]
    python -m data_builders build-instruct --raw-dir RAW --out BUILT [--sources NAME ...]
    python -m data_builders mix --built BUILT --recipe full --out mnlu_instruct.jsonl --exclude-eval OUT
    python -m data_builders demo-corpus --out RAW [--seed 42]

`build` reads each evaluation dataset's release files from RAW/<id>/ (found by their release names anywhere below
that folder) and writes OUT/<id>/<split>.jsonl in the record contract (mnlu.records). A missing
folder or split is skipped with a one-line notice. A malformed file stops its dataset with
`file:line: what is wrong` and exit status 2; a dataset's files are written only once all its
splits have been built, so a failure leaves nothing of it half-written.
"""

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from data_builders import EVAL_BUILDERS
from data_builders.demo_corpus import add_demo_command, run_demo_corpus
from data_builders.instruct.__main__ import add_build_command, add_mix_command, run_build, run_mix
from data_builders.readers import MissingRelease, ReleaseError
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.records import SPAN_TASKS, RecordError, check_record, write_records
from mnlu.tasks import make_record

SPLITS = ("train", "dev", "test")


def main(argv=None):
    args = parse_args(argv)
    if args.command == "mix":
        return run_mix(args)
    if args.command == "build-instruct":
        return run_build(args)
    if args.command == "demo-corpus":
        return run_demo_corpus(args)
    table, failed = [], []
    for dataset in args.only or list(EVAL_BUILDERS):
        folder = args.raw_dir / dataset
        if not folder.is_dir():
            print(f"{dataset}: skipped, no folder {folder}")
            continue
        try:
            built = build_dataset(dataset, folder, args.split)
        except (ReleaseError, RecordError, OSError) as e:
            print(f"{dataset}: error: {e}", file=sys.stderr)
            failed.append(dataset)
            continue
        for split, (source, records) in built.items():
            write_records(args.out / dataset / f"{split}.jsonl", records)
            table.append(summary_row(dataset, split, source, records))
    print_table(table)
    return 2 if failed else 0


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m data_builders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build evaluation datasets from their release files",
                                description="Build OUT/<id>/<split>.jsonl from the release files below RAW/<id>/.")
    build.add_argument("--raw-dir", type=Path, required=True, metavar="RAW",
                       help="folder with one sub-folder per dataset id, holding its release files")
    build.add_argument("--out", type=Path, required=True, help="output folder: OUT/<id>/<split>.jsonl")
    build.add_argument("--only", nargs="+", choices=list(EVAL_BUILDERS), metavar="ID",
                       help=f"build only these datasets (default: all): {', '.join(EVAL_BUILDERS)}")
    build.add_argument("--split", nargs="+", choices=SPLITS, default=list(SPLITS),
                       help="splits to build (default: all three; absent ones are skipped)")
    add_build_command(commands, name="build-instruct")
    add_mix_command(commands)
    add_demo_command(commands)
    return parser.parse_args(argv)


def build_dataset(dataset, folder, splits):
    """{split: (source, records)} for the splits whose files exist; raises on a malformed file."""
    task = EVAL_DATASETS[dataset].task
    built = {}
    for split in splits:
        records, source = [], None
        try:
            for where, fields in tqdm(EVAL_BUILDERS[dataset](folder, split), desc=f"{dataset} {split}",
                                      unit=" instances", leave=False):
                records.append(check_record(record_at(where, task, fields), where))
                source = source or Path(where.split(":")[0]).relative_to(folder)
        except MissingRelease as e:
            print(f"{dataset} {split}: skipped, {e}")
            continue
        require_unique_ids(records, folder / str(source))
        built[split] = (source, records)
    return built


def record_at(where, task, fields):
    """The record of one instance; a value the format refuses becomes an error naming `where`."""
    try:
        return make_record(task, **fields)
    except ValueError as e:
        raise ReleaseError(f"{where}: {e}") from None


def require_unique_ids(records, source):
    seen = set()
    for record in records:
        if record["id"] in seen:
            raise ReleaseError(f"{source}: two instances have the id {record['id']!r} (the release repeats a key)")
        seen.add(record["id"])


def summary_row(dataset, split, source, records):
    """dataset, split, source file, instances, entity mentions (span tasks), labels or options per instance."""
    gold = [r["gold"] for r in records]
    mentions = sum(len(g["spans"]) for g in gold) if EVAL_DATASETS[dataset].task in SPAN_TASKS else ""
    sizes = sorted({len(g.get("labels") or g["options"]) for g in gold})
    options = "-".join(dict.fromkeys(str(n) for n in sizes[:1] + sizes[-1:]))  # "5", or a range "2-6"
    return (dataset, split, source or "", len(records), mentions, options)


def print_table(rows):
    header = ("dataset", "split", "source", "instances", "mentions", "options")
    rows = [header] + [tuple(str(x) for x in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(x.rjust(w) if i >= 3 else x.ljust(w) for i, (x, w) in enumerate(zip(row, widths))))


if __name__ == "__main__":
    sys.exit(main())
