"""mnlu.shards: planned, streamed safetensors files read back by safetensors itself."""

import json
import random
import re
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from mnlu.cli import InputError
from mnlu.shards import (
    INDEX_FILE,
    SINGLE_FILE,
    Checkpoint,
    TensorSpec,
    local_model,
    parse_size,
    plan_shards,
    shard_writer,
    spec_of,
    weight_map,
)


def mixed_tensors():
    g = torch.Generator().manual_seed(0)
    return {
        "b.weight": torch.randn(7, 5, generator=g).to(torch.bfloat16),
        "a.weight": torch.randn(3, 4, generator=g),
        "c.count": torch.arange(5, dtype=torch.int64),
        "d.flag": torch.tensor([True, False, True]),
        "e.half": torch.randn(9, generator=g).half(),
        "f.scalar": torch.tensor(2.5, dtype=torch.float64),
        "g.empty": torch.zeros(0, 4),
    }


def write_all(directory, tensors, max_shard_bytes, order=None, metadata=None):
    specs = {name: spec_of(t) for name, t in tensors.items()}
    with shard_writer(directory, specs, max_shard_bytes, metadata) as write:
        for name in order or list(tensors):
            write(name, tensors[name])


def test_single_file_is_byte_identical_to_safetensors_save_file(tmp_path):
    tensors = mixed_tensors()
    (tmp_path / "ours").mkdir()
    write_all(tmp_path / "ours", tensors, parse_size("5GB"), order=sorted(tensors, reverse=True))
    save_file(tensors, tmp_path / "theirs.safetensors", metadata={"format": "pt"})
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == [SINGLE_FILE]
    assert (tmp_path / "ours" / SINGLE_FILE).read_bytes() == (tmp_path / "theirs.safetensors").read_bytes()


def test_slices_written_in_any_order_make_the_same_file_and_read_back(tmp_path):
    tensors = mixed_tensors()
    specs = {name: spec_of(t) for name, t in tensors.items()}
    slices = [
        (name, start, tensor.reshape(-1)[start : start + 4])
        for name, tensor in tensors.items()
        for start in range(0, tensor.numel(), 4)
    ]
    random.Random(0).shuffle(slices)
    (tmp_path / "sliced").mkdir()
    with shard_writer(tmp_path / "sliced", specs, parse_size("5GB")) as write:
        for name, start, values in slices:
            write(name, values.clone(), start)
    save_file(tensors, tmp_path / "whole.safetensors", metadata={"format": "pt"})
    assert (tmp_path / "sliced" / SINGLE_FILE).read_bytes() == (tmp_path / "whole.safetensors").read_bytes()
    checkpoint = Checkpoint(tmp_path / "sliced")
    for name, start, values in slices:
        assert torch.equal(checkpoint.read(name, start, values.numel()), values), (name, start)
    with pytest.raises(ValueError, match="outside tensor"):
        checkpoint.read("a.weight", 10, 3)


def test_a_slice_written_twice_or_a_tensor_left_short_is_refused(tmp_path):
    specs = {"a": TensorSpec((2, 3), torch.float32)}
    with pytest.raises(ValueError, match="written twice"):
        with shard_writer(tmp_path, specs, 10**9) as write:
            write("a", torch.zeros(4), 0)
            write("a", torch.zeros(4), 2)
    with pytest.raises(ValueError, match="never written in full, first 'a'"):
        with shard_writer(tmp_path, specs, 10**9) as write:
            write("a", torch.zeros(4), 0)
    with pytest.raises(ValueError, match="must be 1-D"):
        with shard_writer(tmp_path, specs, 10**9) as write:
            write("a", torch.zeros(2, 2), 0)


def test_a_truncated_file_is_refused_when_read(tmp_path):
    save_file({"a": torch.arange(8.0)}, tmp_path / SINGLE_FILE, metadata={"format": "pt"})
    checkpoint = Checkpoint(tmp_path)
    data = (tmp_path / SINGLE_FILE).read_bytes()
    (tmp_path / SINGLE_FILE).write_bytes(data[:-8])
    with pytest.raises(InputError, match="truncated"):
        checkpoint.read("a", 0, 8)


def test_shards_and_index_round_trip_through_safetensors(tmp_path):
    tensors = mixed_tensors()
    write_all(tmp_path, tensors, max_shard_bytes=64, metadata={"note": "x"})
    index = json.loads((tmp_path / INDEX_FILE).read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) >= 3 and files[0] == f"model-00001-of-{len(files):05d}.safetensors"
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in tensors.values())
    loaded = {}
    for file in files:
        part = load_file(tmp_path / file)
        assert all(index["weight_map"][name] == file for name in part)
        loaded.update(part)
    assert loaded.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype and torch.equal(loaded[name], tensor), name
    checkpoint = Checkpoint(tmp_path)
    assert checkpoint.specs == {name: spec_of(t) for name, t in tensors.items()}
    assert all(torch.equal(checkpoint.get(name), t) for name, t in tensors.items())


def test_write_order_and_threads_do_not_change_the_bytes(tmp_path):
    tensors = {f"layer.{i}.w": torch.randn(50, 30) for i in range(40)}
    (tmp_path / "seq").mkdir()
    (tmp_path / "par").mkdir()
    write_all(tmp_path / "seq", tensors, max_shard_bytes=20_000)
    specs = {name: spec_of(t) for name, t in tensors.items()}
    names = list(tensors)
    random.Random(1).shuffle(names)
    with shard_writer(tmp_path / "par", specs, 20_000) as write:
        workers = [
            threading.Thread(target=lambda part: [write(n, tensors[n]) for n in part], args=(names[k::4],))
            for k in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    files = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "par").iterdir()) and len(files) > 2
    assert all((tmp_path / "seq" / f).read_bytes() == (tmp_path / "par" / f).read_bytes() for f in files)


def test_plan_puts_an_oversized_tensor_alone_and_keeps_name_order():
    specs = {
        "a": TensorSpec((10,), torch.float32),
        "b": TensorSpec((100,), torch.float32),
        "c": TensorSpec((10,), torch.float32),
        "d": TensorSpec((5,), torch.float32),
    }
    assert plan_shards(specs, 80) == [["a"], ["b"], ["c", "d"]]
    assert plan_shards(specs, 10**9) == [["a", "b", "c", "d"]]
    assert plan_shards({}, 80) == [[]]


def test_writer_refuses_wrong_tensors_and_missing_ones(tmp_path):
    specs = {"a": TensorSpec((2, 3), torch.float32), "b": TensorSpec((4,), torch.bfloat16)}
    with pytest.raises(ValueError, match=r"'a' is .*\(3, 2\).*plan says"):
        with shard_writer(tmp_path, specs, 10**9) as write:
            write("a", torch.zeros(3, 2))
    with pytest.raises(ValueError, match="'b' is .*float32"):
        with shard_writer(tmp_path, specs, 10**9) as write:
            write("b", torch.zeros(4))
    with pytest.raises(ValueError, match="never written in full, first 'b'"):
        with shard_writer(tmp_path, specs, 10**9) as write:
            write("a", torch.zeros(2, 3))
    with pytest.raises(ValueError, match="written twice"):
        with shard_writer(tmp_path, specs, 10**9) as write:
            write("a", torch.zeros(2, 3))
            write("a", torch.zeros(2, 3))


def test_writer_accepts_non_contiguous_tensors(tmp_path):
    tensor = torch.arange(12.0).reshape(3, 4).t()
    write_all(tmp_path, {"t": tensor}, 10**9)
    assert torch.equal(load_file(tmp_path / SINGLE_FILE)["t"], tensor)


@pytest.mark.parametrize(
    "text, size",
    [("5GB", 5 * 10**9), ("512MiB", 512 * 2**20), ("1000", 1000), ("1.5kb", 1500), ("2 GiB", 2 * 2**30)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "5XB", "-1GB", "0", "GB"])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_reading_errors_name_the_folder_and_the_problem(tmp_path):
    with pytest.raises(ValueError, match="no such checkpoint folder"):
        weight_map(tmp_path / "nowhere")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ValueError, match=r"neither .* \(found pytorch_model.bin; only safetensors"):
        weight_map(tmp_path)
    (tmp_path / INDEX_FILE).write_text(json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}}))
    with pytest.raises(ValueError, match="lists shard model-00001-of-00002.safetensors, which is missing"):
        weight_map(tmp_path)
    save_file({"b": torch.zeros(2)}, tmp_path / "model-00001-of-00002.safetensors")
    with pytest.raises(ValueError, match=r"index.json: maps 'a' to model-00001-of-00002.safetensors, which lacks it"):
        Checkpoint(tmp_path)
    (tmp_path / INDEX_FILE).unlink()
    (tmp_path / SINGLE_FILE).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(ValueError, match="model.safetensors: not a readable safetensors file"):
        weight_map(tmp_path)


@pytest.mark.parametrize("entry", ["../ft/model.safetensors", "ABSOLUTE", "sub/../../ft/model.safetensors", ".."])
def test_index_entries_must_be_plain_file_names_in_the_model_folder(tmp_path, entry):
    other = tmp_path / "ft" / SINGLE_FILE
    other.parent.mkdir()
    save_file({"a": torch.zeros(2)}, other)
    model = tmp_path / "model"
    model.mkdir()
    entry = str(other) if entry == "ABSOLUTE" else entry
    (model / INDEX_FILE).write_text(json.dumps({"weight_map": {"a": entry}}))
    index, folder = re.escape(str(model / INDEX_FILE)), re.escape(str(model))
    with pytest.raises(InputError, match=rf"^{index}: .*not a plain file name inside {folder}"):
        Checkpoint(model)


def test_a_link_the_user_made_in_the_folder_is_followed(tmp_path):
    """Links are the user's own layout (and how a hub snapshot points into ../../blobs)."""
    blobs, snapshot = tmp_path / "models--o--m" / "blobs", tmp_path / "models--o--m" / "snapshots" / "abc"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    save_file({"a": torch.arange(3.0)}, blobs / "0123")
    (snapshot / SINGLE_FILE).symlink_to("../../blobs/0123")
    assert torch.equal(Checkpoint(snapshot).get("a"), torch.arange(3.0))


def test_a_truncated_or_garbled_safetensors_file_is_named(tmp_path):
    save_file({"a": torch.zeros(100)}, tmp_path / SINGLE_FILE)
    data = (tmp_path / SINGLE_FILE).read_bytes()
    for broken in (data[: len(data) // 2], data[:5], (10**15).to_bytes(8, "little") + b"{}", b""):
        (tmp_path / SINGLE_FILE).write_bytes(broken)
        with pytest.raises(InputError, match=rf"^{re.escape(str(tmp_path / SINGLE_FILE))}: not a readable"):
            Checkpoint(tmp_path)


def test_a_folder_is_itself_and_a_hub_id_becomes_its_safetensors_snapshot(tmp_path, monkeypatch):
    import huggingface_hub

    save_file({"a": torch.zeros(2)}, tmp_path / SINGLE_FILE)
    asked = []

    def snapshot_download(repo_id, allow_patterns):
        asked.append((repo_id, allow_patterns))
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    assert local_model("BioMistral/BioMistral-7B-DARE") == tmp_path
    assert local_model("gpt2", weights=False) == tmp_path
    (repo_id, patterns), (_, config_only) = asked
    assert repo_id == "BioMistral/BioMistral-7B-DARE" and "*.safetensors" in patterns
    assert not any(p.endswith((".bin", ".pt", ".pth", ".ckpt", "*")) for p in patterns)  # never pickled weights
    assert "*.json" in config_only
    assert not any("safetensors" in p for p in config_only)
    (tmp_path / "runs" / "model").mkdir(parents=True)
    save_file({"a": torch.zeros(2)}, tmp_path / "runs" / "model" / SINGLE_FILE)
    monkeypatch.chdir(tmp_path)
    assert local_model("runs/model") == Path("runs/model")  # an existing folder, even of the owner/name shape
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local_model("~/runs/model") == tmp_path / "runs" / "model"
    assert len(asked) == 2


@pytest.mark.parametrize("name", ["./missing", "/no/such/model", "~/missing", "a/b/c", "runs/missing", SINGLE_FILE])
def test_a_name_that_looks_local_must_exist(tmp_path, monkeypatch, name):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: pytest.fail("asked the hub"))
    (tmp_path / "runs").mkdir()
    save_file({"a": torch.zeros(2)}, tmp_path / SINGLE_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    problem = "not a folder" if name == SINGLE_FILE else "no such model folder"
    with pytest.raises(InputError, match=rf"^{re.escape(name)}: {problem}$"):
        local_model(name)


def test_hub_failures_and_folders_without_safetensors_are_one_clear_error(tmp_path, monkeypatch):
    import huggingface_hub

    def offline(repo_id, allow_patterns):
        raise huggingface_hub.errors.LocalEntryNotFoundError("Cannot find it offline.\nsecond line")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    expected = (
        r"^could not fetch owner/model from the Hugging Face hub \(Cannot find it offline.\);"
        r" if it is a local folder, check the path$"
    )
    with pytest.raises(InputError, match=expected):
        local_model("owner/model")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    assert local_model(str(tmp_path), weights=False) == tmp_path
    with pytest.raises(InputError, match=r"\(found pytorch_model.bin; only safetensors weights are read\)"):
        local_model(str(tmp_path))
