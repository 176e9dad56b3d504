"""The record contract: one JSON object per line, read and written by every stage.

    {"id": str, "dataset": str, "task": str, "split": str,
     "messages": [{"role": "user", "content": str}, {"role": "assistant", "content": str}],
     "gold": {...}}

`gold` is the structured truth the assistant answer was rendered from (`mnlu.tasks`):

    span tasks (ner, ete, eae)   {"labels": [str], "spans": [{"label", "text", "start", "end"}]}
                                 (start/end are character offsets into the text, where known)
    choice tasks (eac, dc, re,   {"options": [str], "letters": [str], "answers": [str],
                  qa, nli, sts)   "multi_label": bool}
                                 + eac: "label"; re: "negative" (the no-relation option, if any);
                                 + sts: "score" (the real-valued gold) and "option_scores"
    summ                         {"summary": str}

infer.py adds "prediction" (the raw model text) and run metadata; evaluate.py reads those.
Extra keys are allowed and kept, so later stages can annotate a record without losing it.
"""

import json
import re
import string
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from mnlu.cli import InputError, excerpt
from mnlu.fileio import atomic_write, numbered_lines

SPAN_TASKS = ("ner", "ete", "eae")
CHOICE_TASKS = ("eac", "dc", "re", "qa", "nli", "sts")
TASKS = SPAN_TASKS + CHOICE_TASKS + ("summ",)
LETTERS = string.ascii_uppercase  # option letters: (A), (B), ...
# A dataset id becomes a file name (infer.py writes `<dataset>.jsonl`): a plain name, no path.
DATASET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
Record = dict[str, Any]  # one record of the contract above (a JSON object)


class RecordError(InputError):
    """A record breaks the contract; the message starts with `file:line:` (or the record id)."""


def check_record(record: object, where: str = "record") -> Record:
    """Return `record` if it keeps the contract, else raise RecordError naming `where` and the field."""

    def fail(what: str) -> NoReturn:
        raise RecordError(f"{where}: {what}")

    if not isinstance(record, dict):
        fail(f"expected a JSON object, got {type(record).__name__}")
    for key in ("id", "dataset", "task", "split"):
        if not isinstance(record.get(key), str) or not record[key]:
            fail(f"'{key}' must be a non-empty string")
    if not DATASET_ID.fullmatch(record["dataset"]):
        fail("'dataset' must be a plain name of letters, digits, '.', '_' and '-' (it becomes a file name)")
    if record["task"] not in TASKS:
        fail(f"unknown task {excerpt(record['task'])} (expected one of {', '.join(TASKS)})")
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        fail("'messages' must be a non-empty list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            fail(f"messages[{i}] must be an object with role system, user or assistant")
        if not isinstance(m.get("content"), str):
            fail(f"messages[{i}].content must be a string")
    if not any(m["role"] == "user" for m in messages):
        fail("'messages' has no user turn")
    gold = record.get("gold")
    if not isinstance(gold, dict):
        fail("'gold' must be an object")
    _check_gold(record["task"], gold, fail)
    return record


def _check_gold(task: str, gold: dict[str, Any], fail: Callable[[str], NoReturn]) -> None:
    if task in SPAN_TASKS:
        labels = gold.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
            fail("gold.labels must be a list of non-empty strings")
        if not isinstance(gold.get("spans"), list):
            fail("gold.spans must be a list")
        for i, span in enumerate(gold["spans"]):
            if not isinstance(span, dict) or not isinstance(span.get("text"), str):
                fail(f"gold.spans[{i}] must be an object with a string 'text'")
            if span.get("label") not in labels:
                fail(f"gold.spans[{i}].label {excerpt(span.get('label'))} is not in gold.labels")
    elif task in CHOICE_TASKS:
        options = gold.get("options")
        if not isinstance(options, list) or not options or not all(isinstance(x, str) for x in options):
            fail("gold.options must be a non-empty list of strings")
        for key in ("letters", "answers"):
            if not isinstance(gold.get(key), list) or not all(isinstance(x, str) for x in gold[key]):
                fail(f"gold.{key} must be a list of strings")
        by_letter = dict(zip(LETTERS, options))
        if [by_letter.get(x) for x in gold["letters"]] != gold["answers"]:
            fail("gold.letters and gold.answers do not name the same options")
        if task == "sts" and (
            not isinstance(gold.get("score"), (int, float))
            or not isinstance(gold.get("option_scores"), list)
            or len(gold["option_scores"]) != len(options)
        ):
            fail("sts gold needs a numeric 'score' and one 'option_scores' entry per option")
    elif not isinstance(gold.get("summary"), str):
        fail("gold.summary must be a string")


def read_records(path: str | Path) -> Iterator[Record]:
    """Yield the records of a JSONL file, each checked; errors name `path:line`."""
    for _, record in numbered_records(path):
        yield record


def numbered_records(path: str | Path) -> Iterator[tuple[int, Record]]:
    """Yield (line number, record) for each record of a JSONL file, checked; errors name `path:line`."""
    name = str(path)
    for lineno, record in numbered_json(path):
        yield lineno, check_record(record, f"{name}:{lineno}")


def numbered_json(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) for each non-blank line of a JSON-lines file; errors name `path:line`."""
    for lineno, line in numbered_lines(path):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise RecordError(f"{path}:{lineno}: not valid JSON ({e.msg}, column {e.colno})") from None
        except (ValueError, RecursionError):  # an integer past 4,300 digits, nesting past the recursion limit
            raise RecordError(f"{path}:{lineno}: a JSON value too large or too deeply nested to read") from None
        yield lineno, value


def write_records(path: str | Path, records: Iterable[Record]) -> int:
    """Write records as JSONL atomically; return how many were written."""
    n = 0
    with atomic_write(path) as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n
