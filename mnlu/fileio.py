"""Atomic writes, and the rules that keep every output from touching anything a user made.

Everything a user waits for (built datasets, checkpoints, merged models, reports) goes through
these helpers, so a killed job never leaves a half-written output that a later stage would trust.
Temporary names sit beside the target (same file system, so the final rename is atomic), carry
the writer's process id (`.NAME.PID-RANDOM.tmp`), and are created with the user's umask, so
outputs get the permissions a plain write would give them. The next write of the same target
removes the temporaries that a killed writer left behind, and only those.

A folder written whole carries a marker file naming the tool that wrote it. A command replaces
an existing folder only when it is that tool's own earlier output, never a folder that holds
one of its inputs, and never a file (`check_output_folder`, `claim_output_folder`).
"""

import contextlib
import fnmatch
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from mnlu.cli import InputError, excerpt

MARKER = ".mnlu-output.json"  # {"written_by": "evaluate.py"}: whose output a folder is
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[0-9a-f]{12}\.(?:tmp|old)$")


class OutputError(InputError):
    """An --out that would replace or delete something this tool did not write."""


def _temporary_name(path: Path, suffix: str = "tmp") -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.{suffix}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process; a number no PID can be
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temporaries(folder: str | Path, name_pattern: str) -> None:
    """Delete the temporaries beside outputs named like `name_pattern` (a glob) whose writer has died.

    A killed job's `.NAME.PID-RANDOM.tmp` files and folders would otherwise stay forever (many GB
    for a 7B merge). Only names of exactly that shape are touched, and only when process PID is
    gone; a pre-PID temporary (`.NAME.RANDOM.tmp`) counts as stale. A `.NAME....old` folder, the
    previous output of an atomic_directory killed between its two renames, is put back as NAME
    when NAME is missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        match = _TEMPORARY.match(entry.name)
        if not match or not fnmatch.fnmatchcase(match["name"], name_pattern):
            continue
        if match["pid"] is not None and _process_alive(int(match["pid"])):
            continue
        target = folder / match["name"]
        if entry.name.endswith(".old") and not os.path.lexists(target):
            os.replace(entry, target)
        else:
            _remove(entry)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; on success fsync it and rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, glob_escape(path.name))
    tmp = _temporary_name(path)
    try:
        with open(tmp, mode.replace("w", "x"), encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | Path, tool: str) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; on success it replaces `path` in one rename.

    The folder gets the marker naming `tool` and the entries it wrote. An existing `path` must be
    `tool`'s own earlier output holding nothing else, such as another command's output put inside
    it later (else OutputError, before anything is written); it is removed only once the new
    folder is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, glob_escape(path.name))
    check_output_folder(path, tool)
    tmp = _temporary_name(path)
    tmp.mkdir()
    try:
        yield tmp
        entries = sorted(p.name for p in tmp.iterdir())
        (tmp / MARKER).write_text(json.dumps({"written_by": tool, "entries": entries}) + "\n")
        if path.exists():
            check_output_folder(path, tool)  # still ours: nothing else appeared under that name meanwhile
            old = _temporary_name(path, "old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_json(path: str | Path) -> Any:
    """The JSON document in `path`; InputError naming the file (and line) when it is not one.

    Covers what json.loads lets through as other errors: bytes that are not UTF-8, nesting past
    the recursion limit, integers past 4,300 digits. A missing file is the caller's OSError.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: a JSON value too large or too deeply nested to read") from None


def numbered_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text without its newline) for each line of a UTF-8 file.

    Lines are split at \\n only (a record's text may hold U+2028 or a lone \\r) and decoded one by
    one, so bytes that are not UTF-8 raise InputError naming `path:line`.
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield lineno, raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise InputError(f"{path}:{lineno}: not UTF-8 text") from None


def glob_escape(name: str) -> str:
    """`name` as a glob pattern that matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def written_by(folder: str | Path) -> str | None:
    """The tool named by `folder`'s marker, or None."""
    return _marker(folder).get("written_by")


def _marker(folder: str | Path) -> dict[str, Any]:
    """`folder`'s marker: {"written_by": tool, "entries": [names]} ("entries" for folders written
    whole), or {} when there is none or it cannot be read."""
    try:
        marker = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return marker if isinstance(marker, dict) else {}


def check_output_folder(out: str | Path, tool: str, inputs: Iterable[str | Path] = ()) -> None:
    """Raise OutputError unless `tool` may write the folder `out`, possibly replacing it.

    Allowed: a path that does not exist, an empty folder, or a folder whose marker names `tool`
    (and, for a folder written whole, holds only the entries it lists). Refused: a file or link, a
    folder holding anything else, and any `out` that is one of `inputs` or a folder above one.
    """
    out = Path(out)
    here = {Path(os.path.abspath(out)), Path(os.path.realpath(out))}  # realpath: no error on a link loop
    for given in inputs:
        for place in {Path(os.path.abspath(given)), Path(os.path.realpath(given))}:
            if place in here or here & set(place.parents):
                raise OutputError(f"--out {out} holds the input {given}; choose an --out outside every input")
    if os.path.islink(out):
        raise OutputError(f"--out {out} is a symbolic link; give the folder itself, or a new name")
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputError(f"--out {out} is an existing file, not a folder; choose another --out")
    marker, present = _marker(out), {p.name for p in out.iterdir()} - {MARKER}
    if marker.get("written_by") != tool and present:
        raise OutputError(
            f"--out {out} is a folder that {tool} did not write (no {MARKER} naming it); "
            "choose a new or empty --out, or remove that folder yourself"
        )
    foreign = sorted(present - set(marker.get("entries", present)))
    if foreign:
        raise OutputError(
            f"--out {out} now also holds {excerpt(foreign[0])}, which {tool} did not write "
            "(another output put inside it?); move it out first, or choose another --out"
        )


def claim_output_folder(out: str | Path, tool: str, inputs: Iterable[str | Path] = ()) -> None:
    """check_output_folder, then create `out` if needed and mark it as `tool`'s (outputs added in place)."""
    check_output_folder(out, tool, inputs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if written_by(out) != tool:
        with atomic_write(out / MARKER) as f:
            f.write(json.dumps({"written_by": tool}) + "\n")
