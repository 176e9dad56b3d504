"""How every command line ends: exit 0 on success, 2 on bad input, 1 on an internal failure.

Library code raises `InputError` (or a subclass: `RecordError`, `ReleaseError`, `OutputError`)
for anything the user can fix: a file, a line, a field, an argument. Each script's entry point
runs its `main` through `run_main`, which turns those, and file-system errors (missing file,
permission, disk full), into one line on stderr, `<script>: error: <message>`, and exit status 2.
Anything else is a bug in mnlu: Python's traceback and exit status 1.

Messages name where the problem is and what was expected, never the text of a record: the data
are clinical and biomedical texts, and error lines end up in logs and bug reports.
"""

import argparse
import math
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class InputError(ValueError):
    """Input the user can fix; the message names the file (and line, field) and the expected form."""


def argument(convert: Callable[[str], T], accept: Callable[[T], bool], expected: str) -> Callable[[str], T]:
    """An argparse type: the `convert`ed text when `accept` holds for it (NaN never does), else a
    usage error saying what was `expected`."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


AT_LEAST_1 = argument(int, lambda n: n >= 1, "a whole number of at least 1")
AT_LEAST_0 = argument(int, lambda n: n >= 0, "a whole number of at least 0")
SEED = argument(int, lambda n: 0 <= n < 2**63, "a whole number from 0 to 2**63 - 1")
FINITE = argument(float, math.isfinite, "a finite number")
POSITIVE = argument(float, lambda x: 0 < x < math.inf, "a positive finite number")
NON_NEGATIVE = argument(float, lambda x: 0 <= x < math.inf, "a finite number of at least 0")
FRACTION = argument(float, lambda x: 0 <= x <= 1, "a number from 0 to 1")


def excerpt(value: object, limit: int = 40) -> str:
    """A bounded excerpt of a label or score field for an error message (never use it on text fields)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(error: BaseException, limit: int = 300) -> str:
    """The first line of a library's error message, at most `limit` characters, to put in
    parentheses after what mnlu says went wrong (model loading, hub downloads: never record text)."""
    text = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_os_error(error: OSError) -> str:
    """'path: reason' for an OSError, as `ls` would say it."""
    names = [n for n in (error.filename, error.filename2) if n is not None]
    reason = error.strerror or str(error)
    return f"{' -> '.join(map(str, names))}: {reason}" if names else reason


def run_main(script: str, main: Callable[..., T], *args: object) -> T:
    """Call `main(*args)`; bad input and file-system errors become one line and exit status 2."""
    try:
        return main(*args)
    except InputError as e:
        message = str(e)
    except OSError as e:
        message = describe_os_error(e)
    except KeyboardInterrupt:
        print(f"{script}: interrupted", file=sys.stderr)
        sys.exit(130)
    print(f"{script}: error: {message}", file=sys.stderr)
    sys.exit(2)
