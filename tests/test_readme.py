"""Every command the README and docs/ show runs as written: its script exists and takes each flag.

The fenced shell blocks are read as a user would paste them (continuation lines joined, comments
dropped); each `python X.py`, `python -m M`, `torchrun ... train.py`, `scripts/*.sh` and `make`
command is checked against the script's own `--help` (the usage line of a shell script, the
targets of the Makefile). The commands themselves run in their own tests and in `make demo`.
"""

import functools
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(bash|sh|shell)?\n(.*?)^```", re.M | re.S)


def shell_commands(page):
    """(page, command tokens) of every shell line in the page's fenced bash blocks."""
    for _, block in FENCE.findall(page.read_text(encoding="utf-8")):
        pending = ""  # a command whose quotes span lines (python -c "...") is read whole
        for line in block.replace("\\\n", " ").splitlines():
            line = line if pending else line.split(" #", 1)[0].strip()
            if not pending and (not line or line.startswith("#")):
                continue
            try:
                yield shlex.split(pending + line)
                pending = ""
            except ValueError:
                pending += line + "\n"


def command_of(tokens):
    """(what runs, its arguments) of one line, or None for a command that is not the project's."""
    tokens = [t for t in tokens if not re.fullmatch(r"[A-Z_]+=.*", t)]  # VAR=value before a command
    if not tokens:
        return None
    head, rest = tokens[0], tokens[1:]
    if head in ("python", "python3", "python3.11", ".venv/bin/python"):
        if rest[:1] == ["-m"]:
            module, rest = rest[1], rest[2:]
            if module.split(".")[0] not in ("data_builders", "demo", "scripts", "bench"):
                return None  # another package's module (venv, pip)
            if module == "data_builders":
                return (module, rest[0]), rest[1:]
            return (module,), rest
        return (rest[0],), rest[1:]
    if head == "torchrun":
        script = next(i for i, t in enumerate(rest) if t.endswith(".py"))
        return (rest[script],), rest[script + 1 :]
    if head.startswith("scripts/") and head.endswith(".sh") or head == "make":
        return (head,), rest
    return None


@functools.cache
def help_text(what):
    """What a user can read of a command's flags."""
    if what[0] == "make":
        return (ROOT / "Makefile").read_text()
    if what[0].endswith(".sh"):
        return (ROOT / what[0]).read_text()
    target = ["-m", *what] if not what[0].endswith(".py") else [what[0]]
    result = subprocess.run([sys.executable, *target, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(what)} --help: {result.stderr[-500:]}"
    return result.stdout


COMMANDS = [
    (page.relative_to(ROOT).as_posix(), command)
    for page in PAGES
    for tokens in shell_commands(page)
    if (command := command_of(tokens))
]


@pytest.fixture(scope="module", autouse=True)
def helps():
    """Each command's --help once, two at a time."""
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(help_text, sorted({what for _, (what, _) in COMMANDS})))


def test_the_pages_show_commands():
    pages = {page for page, _ in COMMANDS}
    assert "README.md" in pages and len(pages) >= 8
    assert {what for _, (what, _) in COMMANDS} >= {("train.py",), ("merge.py",), ("infer.py",), ("evaluate.py",)}


@pytest.mark.parametrize("page, command", COMMANDS, ids=lambda c: c if isinstance(c, str) else " ".join(c[0]))
def test_a_shown_command_exists_and_takes_its_flags(page, command):
    what, arguments = command
    if what[0].endswith((".py", ".sh")):
        assert (ROOT / what[0]).is_file(), f"{page}: no script {what[0]}"
    text = help_text(what)
    if what[0] == "make":
        for target in arguments:
            if "=" not in target:
                assert re.search(rf"^{re.escape(target)}:", text, re.M), f"{page}: make has no target {target}"
        return
    flags = {a.strip("[]").split("=")[0] for a in arguments if a.strip("[]").startswith("--")}
    unknown = sorted(flag for flag in flags if not re.search(rf"{re.escape(flag)}\b", text))
    assert not unknown, f"{page}: {' '.join(what)} has no {', '.join(unknown)}"
