"""Atomic outputs: complete under the final name, or absent."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnlu.cli import InputError
from mnlu.fileio import (
    MARKER,
    OutputError,
    atomic_directory,
    atomic_write,
    check_output_folder,
    claim_output_folder,
    read_json,
    remove_stale_temporaries,
    written_by,
)


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "out.txt"
    with atomic_write(path) as f:
        f.write("first")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write("half")
            raise RuntimeError
    assert path.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_directory_appears_whole_and_replaces_an_old_one(tmp_path):
    out = tmp_path / "model"
    with atomic_directory(out, "test") as tmp:
        (tmp / "a.bin").write_bytes(b"1")
        assert not out.exists()
    with pytest.raises(RuntimeError):
        with atomic_directory(out, "test") as tmp:
            (tmp / "b.bin").write_bytes(b"2")
            raise RuntimeError
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.bin"]
    with atomic_directory(out, "test") as tmp:
        (tmp / "c.bin").write_bytes(b"3")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "c.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_outputs_get_the_permissions_of_a_plain_write(tmp_path):
    plain_file, plain_dir = tmp_path / "plain.txt", tmp_path / "plain"
    plain_file.write_text("x")
    plain_dir.mkdir()
    with atomic_write(tmp_path / "atomic.txt") as f:
        f.write("x")
    with atomic_directory(tmp_path / "atomic", "test"):
        pass
    assert (tmp_path / "atomic.txt").stat().st_mode == plain_file.stat().st_mode
    assert (tmp_path / "atomic").stat().st_mode == plain_dir.stat().st_mode


# ---------------------------------------------------------------------------------------------
# what an output may replace


def test_a_folder_is_replaced_only_by_the_tool_that_wrote_it(tmp_path):
    out = tmp_path / "report"
    with atomic_directory(out, "evaluate.py") as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(OutputError, match="did not write"):
        with atomic_directory(out, "merge.py"):
            raise AssertionError("refused before the body runs")
    assert (out / "a").read_text() == "1"


@pytest.mark.parametrize(
    "make",
    [
        lambda p: (p.mkdir(), (p / "notes.txt").write_text("mine")),  # a user's folder
        lambda p: p.write_text("mine"),  # a file
    ],
)
def test_a_users_folder_or_file_is_never_replaced(tmp_path, make):
    out = tmp_path / "out"
    make(out)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=str(out)):
        with atomic_directory(out, "evaluate.py"):
            pass
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("added", ["preds", "notes.txt"])
def test_an_own_folder_that_now_holds_something_else_is_not_replaced(tmp_path, added):
    """infer.py --out merged/preds, then merge.py --overwrite --out merged: the answers must survive."""
    out = tmp_path / "merged"
    with atomic_directory(out, "merge.py") as tmp:
        (tmp / "model.safetensors").write_text("1")
    if added == "preds":
        claim_output_folder(out / added, "infer.py")
    else:
        (out / added).write_text("mine")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=f"now also holds '{added}', which merge.py did not write"):
        with atomic_directory(out, "merge.py"):
            pass
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_an_empty_folder_may_be_used(tmp_path):
    (tmp_path / "out").mkdir()
    with atomic_directory(tmp_path / "out", "evaluate.py") as tmp:
        (tmp / "a").write_text("1")
    assert (tmp_path / "out" / "a").exists()


@pytest.mark.parametrize("out", [".", "preds", "preds/sysA"])
def test_out_may_not_be_or_hold_an_input(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "preds" / "sysA").mkdir(parents=True)
    with pytest.raises(OutputError, match="holds the input preds/sysA"):
        check_output_folder(Path(out), "evaluate.py", inputs=[Path("preds/sysA")])
    with pytest.raises(OutputError, match="holds the input"):  # spelled differently, same place
        check_output_folder(tmp_path / out, "evaluate.py", inputs=[Path("./preds/../preds/sysA")])
    check_output_folder(Path("preds/sysA/report"), "evaluate.py", inputs=[Path("preds/sysA")])  # below: fine


def test_claim_marks_a_new_folder_and_refuses_a_users(tmp_path):
    claim_output_folder(tmp_path / "preds", "infer.py")
    assert written_by(tmp_path / "preds") == "infer.py"
    claim_output_folder(tmp_path / "preds", "infer.py")  # again: its own
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x.jsonl").write_text("{}")
    with pytest.raises(OutputError):
        claim_output_folder(tmp_path / "mine", "infer.py")
    assert not (tmp_path / "mine" / MARKER).exists()


# ---------------------------------------------------------------------------------------------
# what a killed writer leaves behind


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_write_removes_stale_temporaries_of_its_own_target_only(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    stale_dir = tmp_path / f".model.{dead}-0123456789ab.tmp"
    stale_old_format = tmp_path / ".model.0123456789ab.tmp"  # before temporaries carried a PID
    no_such_pid = tmp_path / f".model.{2**70}-0123456789ab.tmp"  # past what os.kill takes
    running = tmp_path / f".model.{alive}-0123456789ab.tmp"  # a writer still at work
    other = tmp_path / f".model2.{dead}-0123456789ab.tmp"  # another output's
    users = tmp_path / ".model.backup.tmp"  # not of the temporary shape
    for folder in (stale_dir, stale_old_format, no_such_pid, running, other, users):
        folder.mkdir()
        (folder / "shard").write_bytes(b"x")
    with atomic_directory(tmp_path / "model", "merge.py"):
        pass
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["model", running.name, other.name, users.name])


def test_stale_temporaries_matching_a_pattern(tmp_path):
    dead = _dead_pid()
    for step in (100, 200):
        (tmp_path / f".step-{step:06d}.{dead}-0123456789ab.tmp").mkdir()
    (tmp_path / "step-000100").mkdir()
    remove_stale_temporaries(tmp_path, "step-*")
    assert [p.name for p in tmp_path.iterdir()] == ["step-000100"]


def test_a_previous_output_left_aside_by_a_killed_replace_is_put_back(tmp_path):
    """Killed between `out -> .out.old` and `.tmp -> out`: the next run finds `out` missing."""
    dead = _dead_pid()
    old = tmp_path / f".report.{dead}-0123456789ab.old"
    old.mkdir()
    (old / MARKER).write_text('{"written_by": "evaluate.py"}')
    (old / "scores.json").write_text("{}")
    remove_stale_temporaries(tmp_path, "report")
    assert (tmp_path / "report" / "scores.json").exists() and not old.exists()


@pytest.mark.parametrize(
    "text, message",
    [
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'{"a": 1,\n "b": }', ":2: not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "a JSON value too large or too deeply nested"),
        (b'{"n": ' + b"9" * 5000 + b"}", "a JSON value too large or too deeply nested"),
    ],
)
def test_read_json_names_the_file_for_anything_json_cannot_read(tmp_path, text, message):
    (tmp_path / "run.json").write_bytes(text)
    with pytest.raises(
        InputError, match=f"^{tmp_path / 'run.json'}{message if message.startswith(':') else ': ' + message}"
    ):
        read_json(tmp_path / "run.json")
