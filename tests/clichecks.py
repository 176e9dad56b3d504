"""Shared checks of the bad-input suites (tests/test_bad_input_*.py): how a command line must fail.

The promise, for every command: exit status 2, exactly one line on stderr starting with
`<script>: error:` that names the file (and line, where there is one), no traceback, none of
the input's text in anything printed, every input byte for byte as it was, and no partial or
temporary output left behind.
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRESS = re.compile(r"(\?|[\d.]+) ?[a-zA-Z ]*/s\]\s*$")  # a tqdm bar's end: "[00:01, 3.2 records/s]"


def run_command(argv, cwd=ROOT, timeout=300, env=None):
    """Run `python <argv...>` (a script path or `-m module`) and capture text output."""
    return subprocess.run(
        [sys.executable, *map(str, argv)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def checksums(*roots):
    """{path: sha256} of every file below `roots` (links as their target path), to prove inputs untouched."""
    found = {}
    for root in map(Path, roots):
        for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
            if path.is_symlink():
                found[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                found[str(path)] = "dir"
    return found


def hidden_leftovers(*roots):
    """Temporary files and folders (mnlu's `.NAME.*.tmp` / `.old`) below `roots`."""
    return [
        str(p)
        for root in map(Path, roots)
        if root.exists()
        for p in root.rglob(".*")
        if p.name.endswith((".tmp", ".old"))
    ]


def assert_clean_failure(result, script, names=(), secrets=()):
    """`result` failed as bad input should: status 2, its last line `script: error: ...` naming `names`,
    nothing before it but argparse's usage, progress bars or the tool's own `script: ...` notes, and no
    `secrets` anywhere."""
    lines = [line for line in re.split(r"[\r\n]", result.stderr) if line.strip() and not PROGRESS.search(line)]
    shown = f"exit {result.returncode}\nstderr:\n{result.stderr[-3000:]}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stderr, shown
    assert lines and lines[-1].startswith(f"{script}: error: "), shown
    # before it, only argparse's usage (a line and its indented continuations) or the tool's own notes
    before = [line for line in lines[:-1] if not line.startswith((f"{script}: ", "usage: ", " ")) or ": error:" in line]
    assert not before, shown
    for name in names:
        assert str(name) in lines[-1], f"{name!r} not named in: {lines[-1]}"
    for secret in secrets:
        assert secret not in result.stderr and secret not in result.stdout, f"input text {secret!r} printed:\n{shown}"
