"""The shape the project keeps: the README's layout table is the tree, and each script reads from
main's outline down to named steps of at most a screen each."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ("train.py", "merge.py", "infer.py", "evaluate.py", "demo/__main__.py", "scripts/reproduce_small.py")
MAX_FUNCTION_LINES = 60


def layout_table():
    """Every path the README's Layout table names in its first column, as written (folders end in /)."""
    section = ROOT.joinpath("README.md").read_text().split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ")[0] for line in section.splitlines() if line.startswith("| `")]
    return {path for row in rows for path in re.findall(r"`([^`]+)`", row)}


def test_the_layout_table_matches_the_tree():
    named = layout_table()
    assert all((ROOT / path).exists() for path in named), sorted(p for p in named if not (ROOT / p).exists())
    parts = [p.name for p in ROOT.glob("*.py")]  # the scripts, each named
    parts += [
        f"mnlu/{p.name}" for p in (ROOT / "mnlu").iterdir() if p.suffix in {".py", ".csv"} and p.stem != "__init__"
    ]
    parts += [f"scripts/{p.name}" for p in (ROOT / "scripts").iterdir() if p.suffix in {".py", ".sh"}]
    parts += ["data_builders/", "data_builders/eval/", "data_builders/instruct/", "demo/", "bench/", "tests/", "docs/"]
    assert sorted(set(parts) - named) == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_function_of_a_script_fits_on_a_screen(script):
    tree = ast.parse((ROOT / script).read_text())
    lengths = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert "main" in lengths
    assert {name: n for name, n in lengths.items() if n > MAX_FUNCTION_LINES} == {}
