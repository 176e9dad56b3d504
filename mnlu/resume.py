"""Prediction files that a killed run resumes: appended one flushed line per record.

A long generation job must not lose hours of work to a kill, so predictions are not written
atomically at the end (mnlu.fileio) but appended as they come. Each line is written with its
newline in one write and flushed, so after a kill every complete line is a finished record and
anything after the last newline is one line the run did not finish.
"""

import json
from collections.abc import Hashable
from pathlib import Path
from typing import Any, TextIO

from mnlu.cli import excerpt
from mnlu.records import Record, RecordError

# The run.json settings that make answers comparable: a folder resumed, or folders joined, must agree on them.
RUN_KEYS = ("model", "backend", "dtype", "shots", "seed", "sampling")


def joined_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One run.json for the predictions of `runs` (whose RUN_KEYS agree): the last run's settings,
    every input file once, every dataset's instance count (a later run's replacing an earlier's)."""
    return {
        **runs[-1],
        "data": list(dict.fromkeys(str(path) for run in runs for path in run.get("data", []))),
        "instances": {dataset: n for run in runs for dataset, n in run.get("instances", {}).items()},
    }


def finished_ids(path: str | Path) -> set[Hashable]:
    """Ids of the records already in the prediction file `path` (an empty set if there is none).

    Only reads: a last line cut short by a kill is not counted (that record is done again, once)
    and is removed by `open_for_append` when the run really starts. Errors name `path:line` and
    never a record's text.
    """
    path = Path(path)
    if path.is_symlink():
        raise RecordError(f"{path}: a symbolic link; infer.py appends only to prediction files it wrote itself")
    if not path.exists():
        return set()
    data = path.read_bytes()
    ids = set()
    # split at b"\n" only: str.splitlines would also cut at U+2028 or U+0085 inside a record
    for lineno, line in enumerate(data[: data.rfind(b"\n") + 1].split(b"\n")[:-1], 1):
        try:
            record_id = json.loads(line)["id"]
            repeated = record_id in ids
        except (ValueError, RecursionError, KeyError, TypeError):  # not JSON, not UTF-8, no hashable "id"
            raise RecordError(f"{path}:{lineno}: not a prediction record; move the file away to start again") from None
        if repeated:
            raise RecordError(f"{path}:{lineno}: id {excerpt(record_id)} appears twice")
        ids.add(record_id)
    return ids


def open_for_append(path: str | Path) -> TextIO:
    """The prediction file `path` opened for appending, after removing a last line a kill cut short."""
    path = Path(path)
    if path.exists():
        data = path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):
            with open(path, "r+b") as f:
                f.truncate(complete)
    return open(path, "a", encoding="utf-8")


def append_line(f: TextIO, record: Record) -> None:
    """Write `record` as one JSON line to the open file `f` and flush it to the OS."""
    f.write(json.dumps(record, ensure_ascii=False) + "\n")
    f.flush()
