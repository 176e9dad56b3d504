"""Resumable checkpoints during training, and the final export as a Hugging Face folder.

A checkpoint is `OUT/checkpoints/step-NNNNNN/`: the sharded model and optimizer written by every
rank with torch.distributed.checkpoint (DCP, so a run may resume on another number of ranks), one
RNG file per rank, and `state.json` (the step, which fixes the data position and the learning rate,
the number of ranks, and the arguments that define the run). The folder appears under its final
name only once every rank has written and synced its part; a job killed mid-write leaves only a
hidden temporary folder behind. All ranks share one file system (on several nodes: a shared one).

A checkpoint folder is data that anyone could hand over, so resuming never runs code from it.
DCP keeps its index (`.metadata`) as a pickle and reads it, and the optimizer's non-tensor
entries, with pickle's full power; here the index is unpickled by `_IndexUnpickler`, which builds
only the classes an index is made of, and the entries by `torch.load(weights_only=True)`.
"""

import contextlib
import copy
import json
import os
import pickle
import shutil
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from safetensors.torch import load_file, save, save_file
from torch.distributed.checkpoint import FileSystemReader
from torch.distributed.checkpoint._traverse import set_element
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
from torch.distributed.checkpoint.filesystem import _StorageInfo
from torch.distributed.checkpoint.metadata import Metadata
from torch.distributed.checkpoint.state_dict import (
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.tensor import DTensor

from mnlu.chat import chat_template
from mnlu.cli import InputError, excerpt
from mnlu.fileio import atomic_directory

SHARD_BYTES = 5 * 2**30  # safetensors shard size of the export, as Hugging Face's save_pretrained
TOOL = "train.py"  # the writer named in every checkpoint's and export's marker file
# Everything torch 2.13 pickles into a DCP index (found by unpickling real ones with a logging
# find_class): the metadata dataclasses, the file-system reader's storage records, sizes, dtypes,
# layouts (by name), and the checkpoint's path. Nothing here runs code when built.
_INDEX_GLOBALS = {
    *(("torch.distributed.checkpoint.metadata", name) for name in (
        "Metadata", "MetadataIndex", "StorageMeta", "TensorProperties", "TensorStorageMetadata",
        "BytesStorageMetadata", "ChunkStorageMetadata", "_MEM_FORMAT_ENCODING")),
    ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
    ("torch", "Size"),
    ("torch.serialization", "_get_layout"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    *(("torch", name) for name, value in vars(torch).items() if isinstance(value, torch.dtype)),
}


def checkpoint_path(out, step):
    return Path(out) / "checkpoints" / f"step-{step:06d}"


def checkpoints(out):
    """Every checkpoint folder of a run, newest first, each with why it cannot be resumed (None: it can)."""
    folders = sorted((p for p in (Path(out) / "checkpoints").glob("step-*") if p.is_dir()), reverse=True)
    return [(folder, _problem(folder)) for folder in folders]


def latest_checkpoint(out):
    """The newest complete checkpoint folder of a run, or None."""
    return next((folder for folder, problem in checkpoints(out) if problem is None), None)


def _problem(folder):
    """The first missing, cut or unreadable part of a checkpoint folder, as an error message; or None."""
    try:
        state = read_state(folder)
        for rank in range(state["ranks"]):
            if not (folder / _rng_name(rank)).is_file():
                raise InputError(f"{folder / _rng_name(rank)}: missing")
        _read_index(folder)
    except InputError as e:
        return str(e)
    return None


def read_state(folder):
    """A checkpoint's state.json: {"step", "ranks", "args", ...}, checked; InputError naming what is wrong."""
    path = Path(folder) / "state.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path}: not valid JSON (cut short?)") from None
    if not (isinstance(state, dict) and isinstance(state.get("args"), dict)
            and all(isinstance(state.get(k), int) and state[k] >= 1 for k in ("step", "ranks"))):
        raise InputError(f"{path}: expected an object with a positive 'step' and 'ranks' and the run's 'args'")
    return state


class _IndexUnpickler(pickle.Unpickler):
    """Unpickles a DCP index into the classes an index is made of, and refuses any other global."""

    def find_class(self, module, name):
        if (module, name) not in _INDEX_GLOBALS:
            raise InputError(f"names {excerpt(f'{module}.{name}')}, which no checkpoint index holds; "
                             "not loaded, since unpickling it could run code")
        return super().find_class(module, name)


def _read_index(folder):
    """The DCP index (`.metadata`) of a checkpoint, unpickled safely, its data files checked to be there whole."""
    path = Path(folder) / ".metadata"
    try:
        with open(path, "rb") as f:
            metadata = _IndexUnpickler(f).load()
    except FileNotFoundError:
        raise InputError(f"{path}: missing") from None
    except InputError as e:
        raise InputError(f"{path}: {e}") from None
    except Exception as e:  # cut short or garbled: pickle and the constructors it calls raise many kinds
        raise InputError(f"{path}: not a readable checkpoint index ({type(e).__name__})") from None
    storage = getattr(metadata, "storage_data", None)
    if not isinstance(metadata, Metadata) or not isinstance(storage, dict) or not all(
            isinstance(info, _StorageInfo) for info in storage.values()):
        raise InputError(f"{path}: not a checkpoint index")
    for info in storage.values():
        name = info.relative_path
        if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
            raise InputError(f"{path}: names the data file {excerpt(name)}, which is not inside {folder}")
        file = Path(folder) / name
        if not file.is_file():
            raise InputError(f"{file}: missing")
        if file.stat().st_size < info.offset + info.length:
            raise InputError(f"{file}: cut short ({file.stat().st_size} bytes, the index needs "
                             f"{info.offset + info.length})")
    return metadata


class _IndexReader(FileSystemReader):
    """DCP's file-system reader, handed the index that `_read_index` read instead of unpickling it itself."""

    def __init__(self, folder, metadata):
        super().__init__(folder)
        self.metadata = metadata

    def read_metadata(self, *args, **kwargs):
        return self.metadata


class _PlainDataPlanner(DefaultLoadPlanner):
    """DCP's default load planner, except that non-tensor entries load with torch.load(weights_only=True)."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def load_bytes(self, read_item, value):
        fqn = read_item.dest_index.fqn
        try:
            loaded = torch.load(value, weights_only=True)
        except Exception:  # weights_only refuses anything but tensors and plain Python data
            raise InputError(f"{self.folder}: entry {excerpt(fqn)} is not plain data (or is unreadable); "
                             "not loaded, since unpickling it could run code") from None
        if self.flatten_state_dict:
            set_element(self.original_state_dict, self.mappings[fqn], loaded)
        else:
            self.state_dict[fqn] = loaded


@contextlib.contextmanager
def _rank0_atomic_directory(path):
    """atomic_directory on rank 0, its temporary path shared with every rank.

    Files inside need no atomic writes of their own: the folder appears whole or not at all.
    """
    rank = dist.get_rank()
    with atomic_directory(path, TOOL) if rank == 0 else contextlib.nullcontext() as tmp:
        shared = [str(tmp) if rank == 0 else None]
        dist.broadcast_object_list(shared, src=0)
        yield Path(shared[0])
        dist.barrier()  # every rank has written its part before rank 0 renames the folder
    dist.barrier()  # the renamed folder is visible before anyone goes on


def save_checkpoint(out, step, model, optimizer, state):
    """Write checkpoint `step` (collective), then delete the older ones, keeping disk use bounded.

    Every file is synced to disk before the folder takes its final name (DCP syncs its own), so
    the older checkpoint is deleted only once the new one would survive a crash.
    """
    rank = dist.get_rank()
    with _rank0_atomic_directory(checkpoint_path(out, step)) as tmp:
        dcp.save({"model": get_model_state_dict(model),
                  "optim": get_optimizer_state_dict(model, optimizer)}, checkpoint_id=tmp)
        _write_synced(tmp / _rng_name(rank), save(_rng_state()))
        if rank == 0:
            state = {"step": step, "ranks": dist.get_world_size(), **state}
            _write_synced(tmp / "state.json", json.dumps(state, indent=1).encode())
    if rank == 0:
        for old in (Path(out) / "checkpoints").glob("step-*"):
            if old != checkpoint_path(out, step):
                shutil.rmtree(old)


def load_checkpoint(path, model, optimizer):
    """Restore model, optimizer and this rank's RNG from `path` (collective); return its state.json.

    Nothing in `path` is unpickled but through `_IndexUnpickler` and torch.load(weights_only=True);
    a refused or damaged part raises InputError on every rank.
    """
    path = Path(path)
    state = {"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, optimizer)}
    try:
        dcp.load(state, storage_reader=_IndexReader(path, _read_index(path)), planner=_PlainDataPlanner(path))
    except CheckpointException as e:  # DCP gathers every rank's exception and raises them all on each
        refused = [error for error, _ in e.failures.values() if isinstance(error, InputError)]
        if refused:
            raise refused[0] from None
        raise
    set_model_state_dict(model, state["model"])
    set_optimizer_state_dict(model, optimizer, state["optim"])
    rng = path / _rng_name(dist.get_rank())
    if rng.exists():  # absent when resuming on more ranks than the run was saved from
        saved = load_file(rng)
        torch.set_rng_state(saved["cpu"])
        if "cuda" in saved:
            torch.cuda.set_rng_state(saved["cuda"])
    return read_state(path)


def _rng_name(rank):
    return f"rng-rank{rank:05d}.safetensors"


def _rng_state():
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _write_synced(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def export_hf(out_dir, model, tokenizer, dtype, shard_bytes=SHARD_BYTES):
    """Write `out_dir` as a Hugging Face model folder that from_pretrained and vLLM load as is.

    Collective: tensors are all-gathered one at a time in the same order on every rank; rank 0
    casts them to `dtype` and writes a `model-0000k-of-0000n.safetensors` shard whenever it holds
    `shard_bytes`, so its memory peaks at one shard. A tied lm_head is written once, under the
    embedding's name, as save_pretrained does. The tokenizer keeps the chat template mnlu trained with.
    """
    rank = dist.get_rank()
    with _rank0_atomic_directory(out_dir) as tmp:
        shards, current, size, weight_map, seen = [], {}, 0, {}, set()
        for name, tensor in model.state_dict(keep_vars=True).items():
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            full = tensor.full_tensor() if isinstance(tensor, DTensor) else tensor
            if rank != 0:
                continue
            current[name] = full.detach().to(device="cpu", dtype=dtype).contiguous()
            size += current[name].numel() * current[name].element_size()
            if size >= shard_bytes:
                shards.append(_write_shard(tmp, len(shards), current))
                current, size = {}, 0
        if rank == 0:
            if current:
                shards.append(_write_shard(tmp, len(shards), current))
            total = 0
            for k, (path, names, nbytes) in enumerate(shards):
                final = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
                os.replace(path, tmp / final)
                weight_map.update((n, final) for n in names)
                total += nbytes
            index = {"metadata": {"total_size": total}, "weight_map": weight_map}
            (tmp / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
            config = copy.deepcopy(model.config)
            config.dtype = dtype
            config.save_pretrained(tmp)
            if getattr(model, "generation_config", None) is not None:
                model.generation_config.save_pretrained(tmp)
            tokenizer.chat_template = chat_template(tokenizer)
            tokenizer.save_pretrained(tmp)


def _write_shard(folder, index, tensors):
    path = folder / f".shard-{index}.safetensors"
    save_file(tensors, path, metadata={"format": "pt"})
    return path, list(tensors), sum(t.numel() * t.element_size() for t in tensors.values())
