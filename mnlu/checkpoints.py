"""Resumable checkpoints during training, and the final export as a Hugging Face folder.

A checkpoint is `OUT/checkpoints/step-NNNNNN/`: the sharded model and optimizer written by every
rank with torch.distributed.checkpoint (DCP, so a run may resume on another number of ranks), one
RNG file per rank, and `state.json` (the step, which fixes the data position and the learning rate,
plus the arguments that define the run). The folder appears under its final name only once every
rank has written its part; a job killed mid-write leaves only a hidden temporary folder behind.
All ranks share one file system (on several nodes: a shared one).
"""

import contextlib
import copy
import json
import os
import shutil
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from safetensors.torch import load_file, save_file
from torch.distributed.checkpoint.state_dict import (
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.tensor import DTensor

from mnlu.chat import chat_template
from mnlu.fileio import atomic_directory

SHARD_BYTES = 5 * 2**30  # safetensors shard size of the export, as Hugging Face's save_pretrained


def checkpoint_path(out, step):
    return Path(out) / "checkpoints" / f"step-{step:06d}"


def latest_checkpoint(out):
    """The newest complete checkpoint folder of a run, or None."""
    done = sorted((Path(out) / "checkpoints").glob("step-*"))
    return done[-1] if done else None


@contextlib.contextmanager
def _rank0_atomic_directory(path):
    """atomic_directory on rank 0, its temporary path shared with every rank.

    Files inside need no atomic writes of their own: the folder appears whole or not at all.
    """
    rank = dist.get_rank()
    with atomic_directory(path) if rank == 0 else contextlib.nullcontext() as tmp:
        shared = [str(tmp) if rank == 0 else None]
        dist.broadcast_object_list(shared, src=0)
        yield Path(shared[0])
        dist.barrier()  # every rank has written its part before rank 0 renames the folder
    dist.barrier()  # the renamed folder is visible before anyone goes on


def save_checkpoint(out, step, model, optimizer, state):
    """Write checkpoint `step` (collective) and delete the older ones, keeping disk use bounded."""
    rank = dist.get_rank()
    with _rank0_atomic_directory(checkpoint_path(out, step)) as tmp:
        dcp.save({"model": get_model_state_dict(model),
                  "optim": get_optimizer_state_dict(model, optimizer)}, checkpoint_id=tmp)
        save_file(_rng_state(), tmp / f"rng-rank{rank:05d}.safetensors")
        if rank == 0:
            (tmp / "state.json").write_text(json.dumps({"step": step, **state}, indent=1))
    if rank == 0:
        for old in (Path(out) / "checkpoints").glob("step-*"):
            if old != checkpoint_path(out, step):
                shutil.rmtree(old)


def load_checkpoint(path, model, optimizer):
    """Restore model, optimizer and this rank's RNG from `path` (collective); return its state.json."""
    state = {"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, optimizer)}
    dcp.load(state, checkpoint_id=path)
    set_model_state_dict(model, state["model"])
    set_optimizer_state_dict(model, optimizer, state["optim"])
    rng = Path(path) / f"rng-rank{dist.get_rank():05d}.safetensors"
    if rng.exists():  # absent when resuming on more ranks than the run was saved from
        saved = load_file(rng)
        torch.set_rng_state(saved["cpu"])
        if "cuda" in saved:
            torch.cuda.set_rng_state(saved["cuda"])
    return json.loads((Path(path) / "state.json").read_text())


def _rng_state():
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


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
