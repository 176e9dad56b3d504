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
only the classes an index is made of and fills only their fresh instances, and the entries by
`torch.load(weights_only=True)`. Indexes are read only to resume.

Whatever rank 0 alone checks or writes once the ranks have met goes through `on_rank0`, so that
a refusal stops every rank rather than leaving the others waiting for rank 0.
"""

import contextlib
import copy
import io
import json
import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from safetensors.torch import load_file, save
from torch.distributed.checkpoint import FileSystemReader
from torch.distributed.checkpoint._traverse import set_element
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
from torch.distributed.checkpoint.filesystem import _StorageInfo
from torch.distributed.checkpoint.metadata import (
    BytesStorageMetadata,
    ChunkStorageMetadata,
    Metadata,
    MetadataIndex,
    StorageMeta,
    TensorProperties,
    TensorStorageMetadata,
)
from torch.distributed.checkpoint.planner import ReadItem
from torch.distributed.checkpoint.state_dict import (
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.tensor import DTensor

from mnlu.chat import chat_template
from mnlu.cli import InputError, excerpt
from mnlu.distributed import on_rank0
from mnlu.fileio import OutputError, atomic_directory, check_output_folder, read_json
from mnlu.shards import MAX_SHARD_BYTES, TensorSpec, shard_writer

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

TOOL = "train.py"  # the writer named in every checkpoint's and export's marker file
# Everything torch 2.13 pickles into a DCP index (found by unpickling real ones with a logging
# find_class): the metadata dataclasses, the file-system reader's storage records, sizes, dtypes,
# layouts (by name), and the checkpoint's path. Nothing here runs code when built.
_INDEX_GLOBALS = {
    *(
        ("torch.distributed.checkpoint.metadata", name)
        for name in (
            "Metadata",
            "MetadataIndex",
            "StorageMeta",
            "TensorProperties",
            "TensorStorageMetadata",
            "BytesStorageMetadata",
            "ChunkStorageMetadata",
            "_MEM_FORMAT_ENCODING",
        )
    ),
    ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
    ("torch", "Size"),
    ("torch.serialization", "_get_layout"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    *(("torch", name) for name, value in vars(torch).items() if isinstance(value, torch.dtype)),
}
# The classes whose instances an index fills by pickle's BUILD (the rest are built by calls).
_BUILT = (
    Metadata,
    MetadataIndex,
    StorageMeta,
    TensorProperties,
    TensorStorageMetadata,
    BytesStorageMetadata,
    ChunkStorageMetadata,
    _StorageInfo,
)


def checkpoint_path(out: str | Path, step: int) -> Path:
    return Path(out) / "checkpoints" / f"step-{step:06d}"


def checkpoint_entries(out: str | Path) -> list[Path]:
    """Every `step-*` entry of a run's checkpoints folder, newest first, whatever it is."""
    return sorted((Path(out) / "checkpoints").glob("step-*"), reverse=True)


def checkpoints(out: str | Path) -> list[tuple[Path, str | None]]:
    """Every checkpoint folder of a run, newest first, each with why it cannot be resumed (None: it can).

    Every `step-*` entry must be a folder train.py wrote, holding nothing else (else InputError):
    saving the next checkpoint deletes the older ones, and must neither delete nor trip on anything
    a user made.
    """
    found = []
    for folder in checkpoint_entries(out):
        if not _ours(folder):
            raise InputError(
                f"{folder}: not a checkpoint folder that {TOOL} wrote whole (a file, a link, or a "
                f"folder holding other files), which saving the next checkpoint would delete; move "
                f"it out of {folder.parent}"
            )
        found.append((folder, _problem(folder)))
    return found


def _ours(folder: Path) -> bool:
    """Whether `folder` is a folder train.py wrote holding nothing else, which it may delete."""
    try:
        check_output_folder(folder, TOOL)
    except OutputError:
        return False
    return folder.is_dir()


def latest_checkpoint(out: str | Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or None."""
    return next((folder for folder, problem in checkpoints(out) if problem is None), None)


def _problem(folder: Path) -> str | None:
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


def read_state(folder: str | Path) -> dict[str, Any]:
    """A checkpoint's state.json: {"step", "ranks", "args", ...}, checked; InputError naming what is wrong."""
    path = Path(folder) / "state.json"
    try:
        state = read_json(path)
    except FileNotFoundError:
        raise InputError(f"{path}: missing") from None
    if not (
        isinstance(state, dict)
        and isinstance(state.get("args"), dict)
        and all(type(state.get(k)) is int and state[k] >= 1 for k in ("step", "ranks"))
    ):
        raise InputError(f"{path}: expected an object with a positive 'step' and 'ranks' and the run's 'args'")
    return state


class _IndexUnpickler(pickle._Unpickler):
    """Unpickles a DCP index into the classes an index is made of, and refuses any other global.

    Python's own unpickler, for its table of opcodes: BUILD sets attributes on whatever it is given,
    and given an allowed class or function rather than a fresh instance it would change that for
    the whole process (say `PosixPath.__fspath__`, which every open(path) calls).
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _INDEX_GLOBALS:
            raise InputError(
                f"names {excerpt(f'{module}.{name}')}, which no checkpoint index holds; "
                "not loaded, since unpickling it could run code"
            )
        return super().find_class(module, name)

    def load_build(self) -> None:
        target = self.stack[-2]  # below the state to set
        if not isinstance(target, _BUILT):
            what = getattr(target, "__qualname__", None) or f"a {type(target).__name__} object"
            raise InputError(
                f"sets attributes of {excerpt(what)}, which no checkpoint index does; not loaded, "
                "since that could change how code runs"
            )
        super().load_build()

    dispatch = {**pickle._Unpickler.dispatch, pickle.BUILD[0]: load_build}


def _read_index(folder: str | Path) -> Metadata:
    """The DCP index (`.metadata`) of a checkpoint, unpickled safely and checked to be one DCP can load."""
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
    entries, storage = _fields(metadata, Metadata, "state_dict_metadata", "storage_data")
    if not (isinstance(entries, dict) and isinstance(storage, dict)):
        raise InputError(f"{path}: not a checkpoint index")
    for key, info in storage.items():
        fqn, offset = _fields(key, MetadataIndex, "fqn", "offset")
        if not (
            isinstance(fqn, str) and isinstance(offset, (torch.Size, type(None))) and isinstance(info, _StorageInfo)
        ):
            raise InputError(f"{path}: not a checkpoint index (a malformed data record)")
        _check_record(path, folder, info)
    for fqn, entry in entries.items():
        if not isinstance(fqn, str):
            raise InputError(f"{path}: not a checkpoint index (an entry without a name)")
        keys = _data_keys(fqn, entry)
        if keys is None or not all(key in storage for key in keys):
            raise InputError(f"{path}: entry {excerpt(fqn)} is malformed or lacks a data record")
    return metadata


def _fields(obj: object, cls: type, *names: str) -> list[Any]:
    """The fields `names` of `obj` if it is a `cls` (None where unset, as an index may leave any), else Nones."""
    state = vars(obj) if isinstance(obj, cls) else {}
    return [state.get(name) for name in names]


def _data_keys(fqn: str, entry: object) -> list[MetadataIndex] | None:
    """The data records that DCP reads for index entry `fqn`; None if the entry is malformed.

    A tensor's chunks must lie inside it and add up to its size, or DCP would restore it partly or fail.
    """
    if isinstance(entry, BytesStorageMetadata):
        return [MetadataIndex(fqn)]
    properties, size, chunks = _fields(entry, TensorStorageMetadata, "properties", "size", "chunks")
    (dtype,) = _fields(properties, TensorProperties, "dtype")
    if not (isinstance(dtype, torch.dtype) and isinstance(size, torch.Size) and isinstance(chunks, list)):
        return None
    keys, covered = [], 0
    for chunk in chunks:
        offsets, sizes = _fields(chunk, ChunkStorageMetadata, "offsets", "sizes")
        if not (
            isinstance(offsets, torch.Size)
            and isinstance(sizes, torch.Size)
            and len(offsets) == len(sizes) == len(size)
            and all(0 <= o and 0 <= n and o + n <= d for o, n, d in zip(offsets, sizes, size))
        ):
            return None
        keys.append(MetadataIndex(fqn, offsets))
        covered += sizes.numel()
    return keys if covered == size.numel() else None


def _check_record(path: Path, folder: str | Path, info: _StorageInfo) -> None:
    """Refuse a data record that DCP would read outside `folder`, past a file's end, or through a transform."""
    name, offset, length, transforms = _fields(
        info, _StorageInfo, "relative_path", "offset", "length", "transform_descriptors"
    )
    if not isinstance(name, str) or name in ("", ".", "..") or Path(name).name != name:
        shown = excerpt(name) if isinstance(name, str) else "no name"
        raise InputError(f"{path}: names the data file {shown}, which is not inside {folder}")
    if not all(type(n) is int and 0 <= n < 2**63 for n in (offset, length)):
        raise InputError(
            f"{path}: a record in {excerpt(name)} has an offset or length that is not a whole "
            "number from 0 to 2**63 - 1"
        )
    if transforms not in (None, [], ()):  # torch 2.13 writes None for plain data
        raise InputError(
            f"{path}: a record in {excerpt(name)} is stored transformed (compressed, say), "
            f"which {TOOL} never writes; not loaded"
        )
    file = Path(folder) / name
    if not file.is_file():
        raise InputError(f"{file}: missing")
    if file.stat().st_size < offset + length:
        raise InputError(f"{file}: cut short ({file.stat().st_size} bytes, the index needs {offset + length})")


class _IndexReader(FileSystemReader):
    """DCP's file-system reader, handed the index that `_read_index` read instead of unpickling it itself."""

    def __init__(self, folder: str | Path, metadata: Metadata) -> None:
        super().__init__(folder)
        self.metadata = metadata

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        return self.metadata


class _PlainDataPlanner(DefaultLoadPlanner):
    """DCP's default load planner, except that non-tensor entries load with torch.load(weights_only=True)."""

    def __init__(self, folder: str | Path) -> None:
        super().__init__()
        self.folder = folder

    def load_bytes(self, read_item: ReadItem, value: io.BytesIO) -> None:
        fqn = read_item.dest_index.fqn
        try:
            loaded = torch.load(value, weights_only=True)
        except Exception:  # weights_only refuses anything but tensors and plain Python data
            raise InputError(
                f"{self.folder}: entry {excerpt(fqn)} is not plain data (or is unreadable); "
                "not loaded, since unpickling it could run code"
            ) from None
        if self.flatten_state_dict:
            set_element(self.original_state_dict, self.mappings[fqn], loaded)
        else:
            self.state_dict[fqn] = loaded


@contextlib.contextmanager
def _rank0_atomic_directory(path: str | Path) -> Iterator[Path]:
    """atomic_directory on rank 0, its temporary path shared with every rank (collective).

    Files inside need no atomic writes of their own: the folder appears whole or not at all. Rank 0
    checks `path`, creates the temporary folder and renames it through `on_rank0`, so that every
    rank stops if it cannot.
    """
    with contextlib.ExitStack() as rank0:  # holds rank 0's atomic_directory
        tmp = on_rank0(lambda: rank0.enter_context(atomic_directory(path, TOOL)))
        yield Path(tmp)
        dist.barrier()  # every rank has written its part before rank 0 renames the folder
        on_rank0(rank0.close)  # the rename; no rank goes on before the folder is visible


def save_checkpoint(
    out: str | Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Write checkpoint `step` (collective), then delete the older ones, keeping disk use bounded.

    Every file is synced to disk before the folder takes its final name (DCP syncs its own), so
    the older checkpoint is deleted only once the new one would survive a crash.
    """
    rank = dist.get_rank()
    with _rank0_atomic_directory(checkpoint_path(out, step)) as tmp:
        dcp.save(
            {"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, optimizer)},
            checkpoint_id=tmp,
        )
        _write_synced(tmp / _rng_name(rank), save(_rng_state()))
        if rank == 0:
            state = {"step": step, "ranks": dist.get_world_size(), **state}
            _write_synced(tmp / "state.json", json.dumps(state, indent=1).encode())
    on_rank0(lambda: _delete_older(out, step))


def _delete_older(out: str | Path, step: int) -> None:
    """Delete every checkpoint of `out` but `step`'s: only train.py's own folders, as checked at the start."""
    for old in checkpoint_entries(out):
        if old != checkpoint_path(out, step) and _ours(old):  # else something came in since the start: kept
            shutil.rmtree(old)


def load_checkpoint(path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
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


def _rng_name(rank: int) -> str:
    return f"rng-rank{rank:05d}.safetensors"


def _rng_state() -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def export_hf(
    out_dir: str | Path,
    model: "PreTrainedModel",
    tokenizer: "PreTrainedTokenizerBase",
    dtype: torch.dtype,
    max_shard_bytes: int = MAX_SHARD_BYTES,
) -> None:
    """Write `out_dir` as a Hugging Face model folder that from_pretrained and vLLM load as is.

    Collective: tensors are all-gathered one at a time in the same order on every rank, and rank 0
    casts each to `dtype` and writes it straight to its planned place (`mnlu.shards.shard_writer`,
    as merge.py writes), so memory peaks at one full tensor. A tied lm_head is written once, under
    the embedding's name, as save_pretrained does. The tokenizer keeps the chat template mnlu
    trained with.
    """
    first = {}  # id -> (name, tensor): a tensor shared by several names keeps its first name
    for name, tensor in model.state_dict(keep_vars=True).items():
        first.setdefault(id(tensor), (name, tensor))
    tensors = dict(first.values())
    specs = {name: TensorSpec(tuple(tensor.shape), dtype) for name, tensor in tensors.items()}  # DTensor: full shape
    rank0 = dist.get_rank() == 0
    with _rank0_atomic_directory(out_dir) as tmp:
        with shard_writer(tmp, specs, max_shard_bytes) if rank0 else contextlib.nullcontext() as write:
            for name, tensor in tensors.items():
                full = tensor.full_tensor() if isinstance(tensor, DTensor) else tensor
                if rank0:
                    write(name, full.detach().to(device="cpu", dtype=dtype))
        if rank0:
            config = copy.deepcopy(model.config)
            config.dtype = dtype
            config.save_pretrained(tmp)
            if getattr(model, "generation_config", None) is not None:
                model.generation_config.save_pretrained(tmp)
            tokenizer.chat_template = chat_template(tokenizer)
            tokenizer.save_pretrained(tmp)
