"""`python -m data_builders build`: each evaluation dataset's release files -> OUT/<id>/<split>.jsonl.

Release files are read from RAW/<id>/ (found by their release names anywhere below that folder)
and written in the record contract (mnlu.records). A missing folder or split is skipped with a
one-line notice. A malformed file stops its dataset with `data_builders build: error: file:line:
what is wrong` and exit status 2; a dataset's files are written only once all its splits have
been built, so a failure leaves nothing of it half-written. OUT is a folder `build` made (or a new
or empty one), never RAW or a folder holding it.
"""

import functools
import os
import sys
from pathlib import Path

from tqdm import tqdm

from data_builders.eval import EVAL_BUILDERS, I2B2_PAIRS
from data_builders.eval.versions import VERSIONED
from data_builders.readers import MissingRelease, ReleaseError
from mnlu.benchmarks import EVAL_DATASETS, RELEASES
from mnlu.cli import InputError, describe_os_error, excerpt
from mnlu.fileio import check_output_folder, claim_output_folder
from mnlu.records import SPAN_TASKS, RecordError, check_record, write_records
from mnlu.tasks import make_record

SPLITS = ("train", "dev", "test")
TOOL = "build"  # the name in OUT's marker file: the folders `build` may write into


def run_eval_build(args):
    """`build`: every dataset found is built; each malformed one is reported (one line each) and exits 2."""
    if not args.raw_dir.is_dir():
        raise InputError(f"--raw-dir {args.raw_dir} is not a folder")
    check_output_folder(args.out, TOOL, inputs=[args.raw_dir])
    table, failed, found, claimed = [], [], 0, False
    for dataset in args.only or list(EVAL_BUILDERS):
        folder = args.raw_dir / dataset
        if not folder.is_dir():
            if os.path.lexists(folder):
                failed.append(f"{folder}: not a folder (a file, a broken link or a link loop)")
            else:
                print(f"{dataset}: skipped, no folder {folder}")
            continue
        found += 1
        try:
            builder = I2B2_PAIRS[args.i2b2_pairs] if dataset == "i2b2_2010" else EVAL_BUILDERS[dataset]
            if dataset in VERSIONED:
                builder = functools.partial(builder, version=args.version)
            built = build_dataset(dataset, builder, folder, args.split)
        except InputError as e:
            failed.append(str(e))
            continue
        except OSError as e:  # a release file that cannot be read: permissions, a folder named like a file
            failed.append(describe_os_error(e))
            continue
        if built and not claimed:  # OUT is made and marked at the first write, not before
            claim_output_folder(args.out, TOOL, inputs=[args.raw_dir])
            claimed = True
        for split, (source, records) in built.items():
            write_records(args.out / dataset / f"{split}.jsonl", records)
            table.append(summary_row(dataset, split, source, records))
    if not found and not failed:
        raise InputError(
            f"--raw-dir {args.raw_dir} holds no dataset folder (named by its id: {', '.join(EVAL_BUILDERS)})"
        )
    print_table(table)
    for message in failed:  # last, after the progress bars: one line per failed dataset
        print(f"{args.script}: error: {message}", file=sys.stderr)
    return 2 if failed else 0


def build_dataset(dataset, builder, folder, splits):
    """{split: (source, records)} by `builder` for the splits whose files exist; raises on a malformed file.

    A split whose files hold no instance at all is malformed too: an empty split is never what a
    release means, and would pass for a built dataset.
    """
    task = EVAL_DATASETS[dataset].task
    built = {}
    for split in splits:
        records, source = [], None
        try:
            for where, fields in tqdm(
                builder(folder, split), desc=f"{dataset} {split}", unit=" instances", leave=False
            ):
                records.append((where, check_record(record_at(where, task, fields), where)))
                source = source or Path(where.split(":")[0]).relative_to(folder)
        except MissingRelease as e:
            print(f"{dataset} {split}: skipped, {e}")
            continue
        if not records:
            raise ReleaseError(f"{folder}: the {split} release files hold no instance")
        require_unique_ids(records)
        built[split] = (source, [record for _, record in records])
    return built


def record_at(where, task, fields):
    """The record of one instance; an instance the format refuses (RecordError) becomes an error
    naming `where`. Any other exception is a bug in a builder and keeps its traceback.

    A `version` among the fields (the release of a dataset in both BLURB and BLUE) is kept as the
    record's own key, for evaluate.py's report.
    """
    fields = dict(fields)
    version = fields.pop("version", None)
    try:
        record = make_record(task, **fields)
    except RecordError as e:
        raise ReleaseError(f"{where}: {e}") from None
    return record | ({"version": version} if version else {})


def require_unique_ids(records):
    """Two instances with one id would overwrite each other's predictions and scores downstream."""
    seen = {}
    for where, record in records:
        if record["id"] in seen:
            raise ReleaseError(
                f"{where}: a second instance with the id {excerpt(record['id'])} (the first is at "
                f"{seen[record['id']]}; the release repeats a key)"
            )
        seen[record["id"]] = where


def summary_row(dataset, split, source, records):
    """dataset, split, source file (and release, where a dataset has two), instances, entity mentions
    (span tasks), labels or options per instance."""
    gold = [r["gold"] for r in records]
    if "version" in records[0]:
        source = f"{source} ({RELEASES[records[0]['version']]})"
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
