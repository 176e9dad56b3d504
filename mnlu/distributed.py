"""Process groups and FSDP2: build a model sharded across ranks without ever holding it whole.

The model is created on the meta device (shapes only), wrapped with `fully_shard` per decoder layer
and then at the root, materialised shard by shard, and filled from the safetensors checkpoint one
tensor at a time, each rank keeping only its own rows. Peak CPU memory per rank is one full tensor
plus the rank's shard, whatever the model size and the number of ranks.
"""

import contextlib
import ctypes
import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import torch
import torch.distributed as dist
from torch.distributed._composable import checkpoint as checkpoint_activations
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor

from mnlu.cli import InputError, describe_os_error
from mnlu.shards import Checkpoint

if TYPE_CHECKING:
    from transformers import PreTrainedModel

T = TypeVar("T")

DTYPE_OPTIONS = {"bf16": torch.bfloat16, "fp32": torch.float32}  # train.py --dtype/--export-dtype values


def init_distributed() -> tuple[int, int, torch.device]:
    """Join the torchrun job (or a one-process group without torchrun); return (rank, world, device).

    NCCL on CUDA, gloo on CPU. Every rank must call it, and `teardown` at the end.
    """
    if torch.cuda.is_available():
        backend, device = "nccl", torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        backend, device = "gloo", torch.device("cpu")
    timeout = timedelta(minutes=30)  # checkpoint writes and exports of a 7B model take minutes
    if "RANK" in os.environ:
        dist.init_process_group(backend, timeout=timeout, device_id=device if backend == "nccl" else None)
    else:
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1, timeout=timeout)
    return dist.get_rank(), dist.get_world_size(), device


def return_freed_cpu_memory() -> None:
    """Make glibc give freed tensors back to the system, so a CPU rank's resident memory stays close
    to what it uses (a no-op where the C library is not glibc).

    By default glibc keeps a freed block of up to 32 MiB in its heap for later requests, raising
    that limit each time it frees a larger one, and gives each concurrently allocating thread a heap
    of its own. A training step frees and reallocates tensors of a few MiB in ever other sizes, so
    the heaps only grow: for SmolLM2-135M on 2 CPU ranks they kept about 1 GiB more per rank. A fixed
    4 MiB threshold maps larger blocks afresh and unmaps them when freed; two heaps suffice.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_mmap_threshold, m_arena_max = -3, -8  # from glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 4 << 20)
    libc.mallopt(m_arena_max, 2)


def teardown(finished: bool = False) -> None:
    """Leave the process group. `finished`: every rank got here after the last collective, so wait
    for all of them first; rank 0's last broadcast may still be in flight, and destroying the
    group under it aborts the process ("terminate called without an active exception")."""
    if dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def tell_launcher(message: str) -> None:
    """Hand torchrun the one line that says why this worker stops, for the failure summary it prints.

    torchrun's elastic agent gives every worker a TORCHELASTIC_ERROR_FILE and, when workers fail,
    ends its output with a summary of each failed rank; without that file the summary's line for
    the cause reads "To enable traceback see: <url>" instead of what went wrong.
    """
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path:
        error = {"message": message, "extraInfo": {"timestamp": str(int(time.time()))}}
        with contextlib.suppress(OSError), open(path, "w", encoding="utf-8") as f:
            json.dump({"message": error}, f)


def on_rank0(action: Callable[[], T]) -> T:
    """`action()` run on rank 0 alone, its result handed to every rank (collective; it must pickle).

    When it raises, every rank raises: rank 0 its error, the others the same message, as an
    InputError for bad input (exit 2, rank 0 alone says it) or a RuntimeError for a bug. Otherwise
    rank 0 would stop alone after the ranks have met, and the others would wait for it in their
    next collective until the timeout.
    """
    result = error = None
    if dist.get_rank() == 0:
        try:
            result = action()
        except Exception as e:
            error = e
    shared = [result, None if error is None else _for_the_others(error)]
    dist.broadcast_object_list(shared, src=0)
    if error is not None:
        raise error
    if shared[1] is not None:
        raise shared[1]
    return shared[0]


def _for_the_others(error: Exception) -> Exception:
    """What the other ranks raise for rank 0's `error`."""
    if isinstance(error, OSError):
        return InputError(describe_os_error(error))
    if isinstance(error, InputError):
        return InputError(str(error))
    return RuntimeError(f"rank 0 failed: {type(error).__name__}: {error}")


def all_sum(values: Sequence[float | torch.Tensor], device: torch.device) -> list[float]:
    """Sum each number or 0-d tensor over all ranks, in one all-reduce (every rank must call it)."""
    t = torch.stack([torch.as_tensor(v, device=device).to(torch.float64) for v in values])
    dist.all_reduce(t)
    return t.tolist()


def all_gather_float(value: float, device: torch.device) -> list[float]:
    """Every rank's `value`, in rank order (every rank must call it)."""
    mine = torch.tensor([value], dtype=torch.float64, device=device)
    gathered = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine)
    return [t.item() for t in gathered]


def decoder_layers(model: "PreTrainedModel") -> list[torch.nn.Module]:
    """The repeated transformer blocks, found by the class names transformers declares unsplittable."""
    names = set(model._no_split_modules or ())
    layers = [m for m in model.modules() if type(m).__name__ in names]
    if not layers:
        raise InputError(f"{type(model).__name__}: no decoder layer found (looked for {sorted(names)})")
    return layers


def shard_model(
    model: "PreTrainedModel",
    compute_dtype: torch.dtype,
    activation_checkpointing: bool,
    reshard_after_forward: bool = True,
) -> "PreTrainedModel":
    """Wrap each decoder layer, then the root, with FSDP2; return the model.

    Invariants: parameters stay fp32 (the optimizer's master copy) and are all-gathered in
    `compute_dtype`; gradients are reduced in fp32 by plain summation (divide factor 1), because
    the loss is already divided by the global number of supervised tokens (see train.py).
    The embeddings and a tied lm_head belong to the root unit, so a tied weight is one parameter.
    `reshard_after_forward=False` keeps each layer gathered until its backward (ZeRO-2): one
    all-gather less per micro-batch, for one unsharded model copy more in memory.
    """
    mp = MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=torch.float32)
    units = decoder_layers(model)
    for layer in units:
        if activation_checkpointing:
            checkpoint_activations(layer)  # keeps parameter names, unlike checkpoint_wrapper
        fully_shard(layer, mp_policy=mp, reshard_after_forward=reshard_after_forward)
    fully_shard(model, mp_policy=mp, reshard_after_forward=False)  # root is needed again at once
    for unit in units + [model]:
        unit.set_gradient_divide_factor(1.0)
        unit.set_force_sum_reduction_for_comms(True)  # gloo has no PREMUL_SUM / AVG reduce-scatter
    return model


def load_sharded_weights(model: "PreTrainedModel", model_dir: str | Path, device: torch.device) -> list[str]:
    """Materialise a sharded meta model and fill it from `model_dir`, one tensor at a time.

    Every rank reads each tensor and keeps its own shard (`distribute_tensor` without a source
    rank slices locally, no communication). Non-persistent buffers (rotary `inv_freq`) are not in
    checkpoints: transformers' own initialiser recomputes them first, so that whatever else it
    initialises in their modules is then overwritten by the checkpoint. Returns the checkpoint
    names the model did not use (e.g. a tied `lm_head.weight`).
    """
    model.to_empty(device=device)
    with torch.no_grad():
        for module in model.modules():
            if module._non_persistent_buffers_set:
                model._init_weights(module)
    checkpoint = Checkpoint(model_dir)
    wanted = dict(model.named_parameters())  # a tied weight appears once, under its first name
    wanted.update((name, b) for name, b in model.named_buffers() if _is_persistent(model, name))
    missing = sorted(set(wanted) - set(checkpoint.specs))
    if missing:
        raise InputError(
            f"{model_dir}: tensor {missing[0]} is missing from the checkpoint ({len(missing)} missing in all)"
        )
    with torch.no_grad():
        for name, param in wanted.items():
            if checkpoint.specs[name].shape != tuple(param.shape):
                raise InputError(
                    f"{model_dir}: tensor {name} has shape {checkpoint.specs[name].shape}, "
                    f"the model expects {tuple(param.shape)}"
                )
            full = checkpoint.get(name).to(device=device, dtype=param.dtype)
            if isinstance(param, DTensor):
                full = distribute_tensor(full, param.device_mesh, param.placements, src_data_rank=None)
            param.copy_(full)
    on_meta = [n for n, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    assert not on_meta, f"tensors left on the meta device after loading: {on_meta}"
    return sorted(set(checkpoint.specs) - set(wanted))


def _is_persistent(model: torch.nn.Module, name: str) -> bool:
    owner, _, leaf = name.rpartition(".")
    return leaf not in model.get_submodule(owner)._non_persistent_buffers_set
