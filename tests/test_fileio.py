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
