"""Atomic outputs: complete under the final name, or absent."""

import pytest

from mnlu.fileio import atomic_directory, atomic_write


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
    with atomic_directory(out) as tmp:
        (tmp / "a.bin").write_bytes(b"1")
        assert not out.exists()
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as tmp:
            (tmp / "b.bin").write_bytes(b"2")
            raise RuntimeError
    assert [p.name for p in out.iterdir()] == ["a.bin"]
    with atomic_directory(out) as tmp:
        (tmp / "c.bin").write_bytes(b"3")
    assert [p.name for p in out.iterdir()] == ["c.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_outputs_get_the_permissions_of_a_plain_write(tmp_path):
    plain_file, plain_dir = tmp_path / "plain.txt", tmp_path / "plain"
    plain_file.write_text("x")
    plain_dir.mkdir()
    with atomic_write(tmp_path / "atomic.txt") as f:
        f.write("x")
    with atomic_directory(tmp_path / "atomic"):
        pass
    assert (tmp_path / "atomic.txt").stat().st_mode == plain_file.stat().st_mode
    assert (tmp_path / "atomic").stat().st_mode == plain_dir.stat().st_mode
