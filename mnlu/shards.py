"""Safetensors checkpoints, one tensor at a time: read by name, write into planned shards.

Memory stays at a few tensors whatever the model size, or at a few slices of one for a reader
that asks for slices. Reading goes through `safe_open`, opened afresh for each tensor, or
`os.preadv` for a slice (see `Checkpoint`). Writing plans every shard from the tensors' names,
shapes and dtypes first (which shard, which byte offset), writes each shard's header up front, and
then each tensor's bytes, whole or a slice at a time, go straight to their planned place with
`os.pwrite`: in any order, from any thread, with nothing accumulated in memory. The files are laid
out exactly as `safetensors.torch.save_file` lays them out, and a folder holds either one
`model.safetensors` or numbered shards plus `model.safetensors.index.json`, as `transformers`'
`save_pretrained` writes them. merge.py and train.py's export both write through `shard_writer`.
"""

import contextlib
import json
import math
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import SafetensorError, safe_open

from mnlu.cli import InputError, excerpt, one_line
from mnlu.fileio import read_json

SINGLE_FILE = "model.safetensors"
MAX_SHARD_BYTES = 5 * 10**9  # "5GB" of tensor data per shard at most: save_pretrained's default
INDEX_FILE = "model.safetensors.index.json"

# The dtype codes of a safetensors header (its "dtype" field) and the torch dtypes they stand for;
# the byte order on disk is little-endian, like every machine torch runs on.
SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
SAFETENSORS_CODES = {dtype: code for code, dtype in SAFETENSORS_DTYPES.items()}
assert sys.byteorder == "little", "safetensors stores little-endian bytes; this writer copies memory as is"


class TensorSpec(NamedTuple):
    """What a tensor will be, known before its values are: enough to plan a file."""

    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


def spec_of(tensor: torch.Tensor) -> TensorSpec:
    return TensorSpec(tuple(tensor.shape), tensor.dtype)


def parse_size(text: str) -> int:
    """'5GB' -> 5_000_000_000, '512MiB' -> 536_870_912, '1000' -> 1000 bytes: transformers' reading."""
    units = {
        "": 1,
        "B": 1,
        "KB": 10**3,
        "MB": 10**6,
        "GB": 10**9,
        "TB": 10**12,
        "KIB": 2**10,
        "MIB": 2**20,
        "GIB": 2**30,
        "TIB": 2**40,
    }
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    if not match or match[2].upper() not in units:
        raise ValueError(f"size {text!r} is not a number of bytes like 5GB, 500MB or 2GiB")
    size = int(float(match[1]) * units[match[2].upper()])
    if size <= 0:
        raise ValueError(f"size {text!r} must be positive")
    return size


# ---------------------------------------------------------------------------------------------
# Reading


def weight_map(directory: str | Path) -> dict[str, str]:
    """Tensor name -> file name of the checkpoint in `directory` (sharded with an index, or single).

    Every weights file must lie in `directory` (`_shard_path`); anything a user can fix raises InputError.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"{directory}: no such checkpoint folder")
    index = directory / INDEX_FILE
    if index.exists():
        mapping = _read_index(index)
        for file in sorted(set(mapping.values())):
            if not _shard_path(directory, file, index).is_file():
                raise InputError(f"{index}: lists shard {file}, which is missing")
        return mapping
    single = directory / SINGLE_FILE
    if single.is_file():
        with _open(_shard_path(directory, SINGLE_FILE, directory)) as f:
            return {name: SINGLE_FILE for name in f.keys()}
    others = sorted(p.name for p in directory.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".safetensors"})
    hint = f" (found {', '.join(others)}; only safetensors weights are read)" if others else ""
    raise InputError(f"{directory}: neither {INDEX_FILE} nor {SINGLE_FILE}{hint}")


def _read_index(index: Path) -> dict[str, str]:
    """The index's weight map, checked to be {tensor name: file name}."""
    document = read_json(index)
    mapping = document.get("weight_map") if isinstance(document, dict) else None
    if not isinstance(mapping, dict) or not all(isinstance(f, str) for f in mapping.values()):
        raise InputError(
            f"{index}: not a safetensors index: its 'weight_map' must map tensor names to shard file names"
        )
    return mapping


def _shard_path(directory: Path, file: str, source: Path) -> Path:
    """`directory / file`, refused unless `file` (named in `source`) is a plain file name.

    An index is data: `../other/model.safetensors` or `/abs/path` would read another model's
    weights. A link the user made in the folder is theirs to make, and is followed.
    """
    if file in ("", ".", "..") or any(c in file for c in "/\\\0"):
        raise InputError(f"{source}: shard {file!r} is not a plain file name inside {directory}")
    return directory / file


def _open(path: Path) -> safe_open:
    try:
        return safe_open(path, framework="pt")
    except (SafetensorError, OSError) as e:
        raise InputError(f"{path}: not a readable safetensors file ({e})") from None


def _data_offsets(path: Path) -> dict[str, int]:
    """The absolute byte offset of each tensor's data in a safetensors file: 8 + header + its start."""
    with open(path, "rb") as f:
        header_size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_size))
    return {name: 8 + header_size + info["data_offsets"][0] for name, info in header.items() if name != "__metadata__"}


class Checkpoint:
    """A checkpoint folder read lazily: specs from the headers, values one tensor at a time.

    `get` opens the tensor's shard for just that read: `safe_open` memory-maps the file, and every
    page a read touched would stay in this process's resident memory for as long as the handle
    lives, so one long-lived handle per shard grows to the size of the shard. `read` copies a slice
    of the flattened tensor into fresh memory with one system call, so a reader that walks a tensor
    slice by slice holds one slice, however large the tensor. Both are safe to call from several
    threads.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.files = weight_map(self.directory)
        self.specs, self.offsets = {}, {}  # offsets: where each tensor's bytes start in its file
        for file in sorted(set(self.files.values())):
            with _open(self.directory / file) as handle:
                present = set(handle.keys())
                for name in sorted(n for n, f in self.files.items() if f == file):
                    if name not in present:
                        raise InputError(f"{self.directory / INDEX_FILE}: maps {name!r} to {file}, which lacks it")
                    view = handle.get_slice(name)
                    dtype = view.get_dtype()
                    if dtype not in SAFETENSORS_DTYPES:
                        raise InputError(
                            f"{self.directory / file}: tensor {name!r} has dtype {dtype},"
                            f" not one of {sorted(SAFETENSORS_DTYPES)}"
                        )
                    self.specs[name] = TensorSpec(tuple(view.get_shape()), SAFETENSORS_DTYPES[dtype])
            self.offsets.update(_data_offsets(self.directory / file))  # a header safe_open has just checked

    def get(self, name: str) -> torch.Tensor:
        with _open(self.directory / self.files[name]) as handle:
            return handle.get_tensor(name)

    def read(self, name: str, start: int, count: int) -> torch.Tensor:
        """Entries [start, start + count) of the flattened tensor `name`, as a 1-D tensor."""
        spec = self.specs[name]
        if not 0 <= start <= start + count <= spec.numel:
            raise ValueError(f"entries [{start}, {start + count}) are outside tensor {name!r} {list(spec.shape)}")
        out = torch.empty(count, dtype=spec.dtype)
        buffer = memoryview(out.view(torch.uint8).numpy())
        path = self.directory / self.files[name]
        offset = self.offsets[name] + start * spec.dtype.itemsize
        fd = os.open(path, os.O_RDONLY)
        try:
            done = 0
            while done < len(buffer):  # preadv may read less than asked
                got = os.preadv(fd, [buffer[done:]], offset + done)
                if got == 0:
                    raise InputError(f"{path}: ends inside tensor {name!r}; the file is truncated")
                done += got
        finally:
            os.close(fd)
        return out

    @property
    def nbytes(self) -> int:
        return sum(spec.nbytes for spec in self.specs.values())


# ---------------------------------------------------------------------------------------------
# Writing


def plan_shards(specs: Mapping[str, TensorSpec], max_shard_bytes: int) -> list[list[str]]:
    """Split tensors, in name order, into shards of at most `max_shard_bytes` of data each.

    A tensor larger than the limit gets a shard of its own, as in transformers and mergekit.
    """
    shards, current, size = [], [], 0
    for name in sorted(specs):
        nbytes = specs[name].nbytes
        if current and size + nbytes > max_shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append(name)
        size += nbytes
    if current or not shards:
        shards.append(current)
    return shards


def shard_file_names(count: int) -> list[str]:
    if count == 1:
        return [SINGLE_FILE]
    return [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]


def file_layout(specs: Mapping[str, TensorSpec], metadata: Mapping[str, str]) -> tuple[bytes, dict[str, int], int]:
    """The header bytes of a safetensors file holding `specs`, and each tensor's absolute byte offset.

    The same layout as `safetensors.torch.save_file`: tensors ordered by decreasing alignment, then
    name (every tensor aligned to its element size), JSON header padded with spaces to 8 bytes.
    """
    order = sorted(specs, key=lambda name: (-specs[name].dtype.itemsize, name))
    header = {"__metadata__": dict(sorted(metadata.items()))} if metadata else {}
    offsets, position = {}, 0
    for name in order:
        spec = specs[name]
        header[name] = {
            "dtype": SAFETENSORS_CODES[spec.dtype],
            "shape": list(spec.shape),
            "data_offsets": [position, position + spec.nbytes],
        }
        offsets[name] = position
        position += spec.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    start = 8 + len(text)
    header_bytes = len(text).to_bytes(8, "little") + text
    return header_bytes, {name: start + offset for name, offset in offsets.items()}, start + position


@contextlib.contextmanager
def shard_writer(
    directory: str | Path,
    specs: Mapping[str, TensorSpec],
    max_shard_bytes: int,
    metadata: Mapping[str, str] | None = None,
) -> Iterator[Callable[[str, torch.Tensor], None]]:
    """Create the shards of a checkpoint with tensors `specs` in `directory`; yield a `write` function.

    `write(name, tensor)` writes a whole tensor, which must match its spec; `write(name, values, start)`
    writes 1-D `values` as entries [start, start + len(values)) of the flattened tensor. Calls may
    come in any order and from several threads; every entry must be written exactly once. On a
    clean exit every file is complete and synced and, for several shards, the index is written.
    Make `directory` a temporary folder (`mnlu.fileio.atomic_directory`) so that a failure leaves
    nothing behind under the final name.
    """
    directory = Path(directory)
    metadata = {"format": "pt", **(metadata or {})}
    shards = plan_shards(specs, max_shard_bytes)
    names = shard_file_names(len(shards))
    places, fds = {}, []
    try:
        for file, shard in zip(names, shards):
            header, offsets, size = file_layout({name: specs[name] for name in shard}, metadata)
            fd = os.open(directory / file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fds.append(fd)
            os.pwrite(fd, header, 0)
            os.ftruncate(fd, size)
            places.update({name: (fd, offsets[name], file) for name in shard})
        written = dict.fromkeys(specs, 0)  # entries written so far, per tensor
        lock = threading.Lock()

        def write(name: str, tensor: torch.Tensor, start: int | None = None) -> None:
            if name not in specs:
                raise ValueError(f"tensor {name!r} is not part of the planned checkpoint")
            spec = specs[name]
            if start is None and spec_of(tensor) != spec:
                raise ValueError(f"tensor {name!r} is {spec_of(tensor)}, the plan says {spec}")
            if start is not None and (tensor.dim() != 1 or tensor.dtype != spec.dtype):
                raise ValueError(f"a slice of tensor {name!r} must be 1-D {spec.dtype}, not {spec_of(tensor)}")
            start = start or 0
            if not 0 <= start <= start + tensor.numel() <= spec.numel:
                raise ValueError(f"entries [{start}, {start + tensor.numel()}) are outside tensor {name!r}")
            with lock:
                if written[name] + tensor.numel() > spec.numel:
                    raise ValueError(f"tensor {name!r} written twice")
                written[name] += tensor.numel()
            fd, offset, _ = places[name]
            data = memoryview(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
            offset += start * spec.dtype.itemsize
            done = 0
            while done < len(data):  # pwrite may write less than asked (large buffers, signals)
                done += os.pwrite(fd, data[done:], offset + done)

        yield write
        missing = sorted(name for name, count in written.items() if count < specs[name].numel)
        if missing:
            raise ValueError(f"{len(missing)} planned tensors were never written in full, first {missing[0]!r}")
        for fd in fds:
            os.fsync(fd)
    finally:
        for fd in fds:
            os.close(fd)
    if len(names) > 1:
        index = {
            "metadata": {"total_size": sum(spec.nbytes for spec in specs.values())},
            "weight_map": {name: places[name][2] for name in sorted(specs)},
        }
        (directory / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")


def local_model(name: str | Path, weights: bool = True) -> Path:
    """The folder of the model `name`: a local folder as it is, or the hub snapshot of a hub id.

    Every command that takes a model resolves it here, so they agree on what a name means. A name
    that looks like a path (starts with `.`, `/` or `~`, has more than one `/`, or its first part
    exists here) must be an existing folder; anything else is a hub id, fetched with config,
    tokenizer and, when `weights`, safetensors files only (never pickled weights). With `weights`,
    the folder must hold safetensors weights. Raises InputError saying which of these failed, or
    naming config.json when its dtype is none of torch's (transformers would raise AttributeError).
    """
    name = str(name)
    path = Path(name).expanduser()
    first = name.split("/")[0]
    looks_local = name.startswith((".", "/", "~")) or name.count("/") > 1 or os.path.lexists(first)
    if not path.is_dir() and looks_local:
        raise InputError(f"{name}: {'not a folder' if path.exists() else 'no such model folder'}")
    if not path.is_dir():
        path = _download(name, weights)
    if weights:
        weight_map(path)  # raises, naming the folder, when it holds no safetensors weights
    config = read_json(path / "config.json") if (path / "config.json").is_file() else {}
    for key in ("dtype", "torch_dtype"):
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, str) and not isinstance(getattr(torch, value, None), torch.dtype):
            raise InputError(f"{path / 'config.json'}: {key!r} is {excerpt(value)}, not a torch dtype")
    return path


def _download(name: str, weights: bool) -> Path:
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.jinja", "*.model", "*.txt"] + (["*.safetensors"] if weights else [])
    try:
        return Path(snapshot_download(name, allow_patterns=patterns))
    except Exception as e:  # invalid id, unknown or gated repository, offline: the hub's first line says which
        raise InputError(
            f"could not fetch {name} from the Hugging Face hub ({one_line(e)}); if it is a local folder, check the path"
        ) from None
