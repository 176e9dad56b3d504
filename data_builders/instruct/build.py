"""Build every source found under a raw folder into `<out>/<source>.jsonl` and `manifest.json`.

The output folder is written atomically. A source whose release is malformed gets no file: its
one-line `file:line` error is printed and kept in the manifest, the other sources still build,
and `build` reports the failure so the command can exit non-zero.
"""

import json
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from data_builders.instruct.registry import SOURCES
from mnlu.fileio import atomic_directory
from mnlu.records import check_record, write_records


def source_files(source, raw_dir):
    """The release files of `source` under `raw_dir`, sorted so builds are reproducible."""
    return sorted({p for pattern in source.files for p in Path(raw_dir).glob(pattern) if p.is_file()})


def build_source(source, paths):
    """All records of one source, each checked against the record contract and the declaration."""
    records, ids = [], set()
    for record in source.build(source, paths):
        check_record(record, f"{source.name}/{record.get('id')}")
        if record["task"] not in source.tasks or record["dataset"] != source.name or record["id"] in ids:
            raise ValueError(f"{source.name}/{record['id']}: task, dataset or id breaks the source's declaration")
        ids.add(record["id"])
        records.append(record)
    return records


def build(raw_dir, out_dir, names=None):
    """Build the named sources (default: all); return the manifest {source: description, counts, error}."""
    manifest = {}
    with atomic_directory(out_dir) as tmp:
        for name in tqdm(names or sorted(SOURCES), desc="sources", unit="source"):
            source = SOURCES[name]
            paths = source_files(source, raw_dir)
            records, error = [], None
            try:
                records = build_source(source, paths) if paths else []
            except ValueError as e:  # ReleaseError and RecordError are ValueErrors; neither quotes text
                error = str(e)
                tqdm.write(f"{name}: {error}", file=sys.stderr)
            if records:
                write_records(Path(tmp) / f"{name}.jsonl", records)
            manifest[name] = {
                "title": source.title, "tasks": list(source.tasks), "domain": source.domain,
                "format": source.format, "credentialed": source.credentialed,
                "files": [str(p.relative_to(raw_dir)) for p in paths],
                "counts": dict(sorted(Counter(r["task"] for r in records).items())),
                "error": error,
            }
        with open(Path(tmp) / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
    return manifest
