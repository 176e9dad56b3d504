"""`python -m data_builders build-instruct`: every source found under a raw folder -> `<out>/<source>.jsonl`
and `manifest.json`.

The output folder is written atomically, and only ever replaces an earlier output of this build
(`mnlu.fileio.atomic_directory`). A source whose release is malformed gets no file: its one-line
`file:line` error is kept in the manifest, the other sources still build, and the command reports
the failure and exits non-zero. A release that cannot be read (permissions, bytes that are not
UTF-8) fails its source the same way; a failure to write the output stops the whole build.
"""

import json
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from data_builders.instruct.registry import SOURCES
from data_builders.readers import ReleaseError
from mnlu.cli import InputError, describe_os_error, excerpt
from mnlu.fileio import atomic_directory, check_output_folder
from mnlu.records import check_record, write_records

TOOL = "build-instruct"  # the name in the output folder's marker file: the folders this build may replace


def source_files(source, raw_dir):
    """The release files of `source` under `raw_dir`, sorted so builds are reproducible."""
    return sorted({p for pattern in source.files for p in Path(raw_dir).glob(pattern) if p.is_file()})


def build_source(source, paths):
    """All records of one source, each checked against the record contract and the declaration.

    Release files that give no instance at all are an error, not an empty source.
    """
    records, ids = [], set()
    for record in source.build(source, paths):
        where = f"{source.name} instance {excerpt(record.get('id'))}"
        check_record(record, where)
        if record["task"] not in source.tasks or record["dataset"] != source.name or record["id"] in ids:
            raise ReleaseError(f"{where}: task, dataset or id breaks the source's declaration")
        ids.add(record["id"])
        records.append(record)
    if not records:
        more = f" (and {len(paths) - 1} more files)" if len(paths) > 1 else ""
        raise ReleaseError(f"{paths[0]}{more}: no instance of {source.name} (empty or header-only release files)")
    return records


def build(raw_dir, out_dir, names=None):
    """Build the named sources (default: all); return the manifest {source: description, counts, error}."""
    found = {name: source_files(SOURCES[name], raw_dir) for name in names or sorted(SOURCES)}
    if not any(found.values()):
        raise InputError(f"--raw-dir {raw_dir} holds no release file of {'these sources' if names else 'any source'}")
    manifest = {}
    with atomic_directory(out_dir, TOOL) as tmp:
        for name, paths in tqdm(found.items(), desc="sources", unit="source"):
            source = SOURCES[name]
            records, error = [], None
            try:
                records = build_source(source, paths) if paths else []
            except InputError as e:  # ReleaseError, and RecordError (mnlu.tasks' refusals too): none quotes text
                error = str(e)
            except OSError as e:  # a release file that cannot be read
                error = describe_os_error(e)
            if records:
                write_records(Path(tmp) / f"{name}.jsonl", records)
            manifest[name] = {
                "title": source.title,
                "tasks": list(source.tasks),
                "domain": source.domain,
                "format": source.format,
                "credentialed": source.credentialed,
                "files": [str(p.relative_to(raw_dir)) for p in paths],
                "counts": dict(sorted(Counter(r["task"] for r in records).items())),
                "error": error,
            }
        with open(Path(tmp) / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
    return manifest


def run_instruct_build(args):
    """Build, print one line per source; 2 if a source failed (one error line each, after the table)."""
    if not args.raw_dir.is_dir():
        raise InputError(f"--raw-dir {args.raw_dir} is not a folder")
    check_output_folder(args.out, TOOL, inputs=[args.raw_dir])
    manifest = build(args.raw_dir, args.out, args.sources)
    for name, entry in manifest.items():
        counts = ", ".join(f"{t} {n}" for t, n in entry["counts"].items()) or "no release files found"
        print(f"{name:20s} {entry['domain']:10s} {'FAILED' if entry['error'] else counts}")
    failed = [entry["error"] for entry in manifest.values() if entry["error"]]
    for message in failed:
        print(f"{args.script}: error: {message}", file=sys.stderr)
    return 2 if failed else 0
