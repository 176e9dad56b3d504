"""Prediction files that a killed run resumes: appended one flushed line per record.

A long generation job must not lose hours of work to a kill, so predictions are not written
atomically at the end (mnlu.fileio) but appended as they come. Each line is written with its
newline in one write and flushed, so after a kill every complete line is a finished record and
anything after the last newline is one line the run did not finish.
"""

import json
from pathlib import Path

from mnlu.records import RecordError


def finished_ids(path):
    """Ids of the records already in the prediction file `path` (an empty set if there is none).

    A last line cut short by a kill is removed from the file, so the next append starts on a
    fresh line and that record is done again, once.
    """
    path = Path(path)
    if not path.exists():
        return set()
    data = path.read_bytes()
    complete = data.rfind(b"\n") + 1
    if complete < len(data):
        with open(path, "r+b") as f:
            f.truncate(complete)
    ids = set()
    # split at b"\n" only: str.splitlines would also cut at U+2028 or U+0085 inside a record
    for lineno, line in enumerate(data[:complete].split(b"\n")[:-1], 1):
        try:
            record_id = json.loads(line)["id"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise RecordError(f"{path}:{lineno}: not a prediction record; move the file away to start again") from None
        if record_id in ids:
            raise RecordError(f"{path}:{lineno}: id {record_id!r} appears twice")
        ids.add(record_id)
    return ids


def append_line(f, record):
    """Write `record` as one JSON line to the open file `f` and flush it to the OS."""
    f.write(json.dumps(record, ensure_ascii=False) + "\n")
    f.flush()
