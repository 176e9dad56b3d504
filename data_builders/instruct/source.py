"""What an instruction-tuning source is, and how its readers fail.

A source is one corpus of MNLU-Instruct: where its train split lives under the raw folder, the
format its release uses, the tasks it is recast into, its domain and its labels with the expanded
forms the prompts show. Readers raise ReleaseError (the one error of every data builder) naming
`file:line` and what is wrong, and never quote the text itself: several sources are clinical
notes that must not reach a log.
"""

from collections.abc import Callable
from typing import NamedTuple

from data_builders.readers import ReleaseError

DOMAINS = ("biomedical", "clinical", "general")  # literature and trials, clinical notes, general English


class Source(NamedTuple):
    name: str  # the dataset id of its records
    title: str  # corpus and citation, for the docs table
    tasks: tuple  # the unified-format tasks of its records
    domain: str  # one of DOMAINS
    format: str  # the release format its reader parses
    files: tuple  # glob patterns under the raw folder: the train split (or whole set)
    labels: dict  # label as released -> expanded form shown in prompts
    build: Callable  # build(source, paths) -> iterator of records
    credentialed: bool = False  # i2b2/n2c2 data use agreement: tested on fixtures only


def fail(path, line, what):
    """Raise `path:line: what`, or `path: field: what` where a JSON or XML release gives no line."""
    raise ReleaseError(f"{path}:{line}: {what}" if isinstance(line, int) else f"{path}: {line}: {what}")
