"""A back-of-the-envelope estimate of per-GPU memory under FSDP2, for `train.py --dry-run`.

Counts what dominates a full fine-tune: the sharded fp32 weights, gradients and AdamW states; the
layers gathered for compute and the unsharded gradients waiting for their reduce-scatter (the
embedding and output head, in the root group, are counted whole); the optimizer step's
temporaries; activations; the logits of one chunk of the loss (mnlu.loss); and the CUDA context
with the allocator's reserve.
Fragmentation comes on top. Activation sizes follow Korthikanti et al. (2022) adapted to a
Llama-style block with SDPA/flash attention (no attention-score matrix is stored).
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mnlu.loss import CHUNK_TOKENS

if TYPE_CHECKING:
    from transformers import PreTrainedConfig

GIB = 2**30
CUDA_CONTEXT = 1 * GIB  # the CUDA context, cuBLAS/NCCL workspaces and the allocator's reserve (typical)


def estimate_memory(
    config: "PreTrainedConfig",
    n_params: int,
    world_size: int,
    micro_batch_size: int,
    seq_len: int,
    compute_bytes: int,
) -> dict[str, float]:
    """Bytes per GPU by category; `compute_bytes` is 2 for bf16 compute, 4 for fp32. train.py's
    AdamW step is fused: it needs no temporaries."""
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    head_dim = getattr(config, "head_dim", None) or h // config.num_attention_heads
    kv = config.num_key_value_heads * head_dim
    tokens = micro_batch_size * seq_len
    layer_params = n_params / layers  # close enough: embeddings are a small share of a 7B model
    # Per token and layer, autograd keeps: the two norm inputs and their fp32 upcasts, q/k/v, the
    # attention output, and the MLP's gate, up, activation and product.
    per_token_layer = compute_bytes * (6 * h + 2 * kv + 4 * i) + 2 * 4 * h * 2
    # the input embedding and the output head (one matrix when tied), in FSDP's root group
    root_params = config.vocab_size * h * (1 if getattr(config, "tie_word_embeddings", False) else 2)
    return {
        "parameters (fp32 shard)": 4 * n_params / world_size,
        "gradients (fp32 shard)": 4 * n_params / world_size,
        "AdamW states (2 x fp32 shard)": 8 * n_params / world_size,
        "gathered layers (2 in flight)": 2 * compute_bytes * layer_params,
        "gathered embedding and head": compute_bytes * root_params,
        "unsharded gradients (fp32)": 4 * (layer_params + root_params),
        "CUDA context and reserve": CUDA_CONTEXT,
        "activations, no checkpointing": layers * tokens * per_token_layer,
        "activations, checkpointing": layers * tokens * compute_bytes * h + tokens * per_token_layer,
        "logits of one loss chunk (fp32)": min(tokens, CHUNK_TOKENS) * config.vocab_size * (compute_bytes + 4 + 4),
    }


def format_estimate(estimate: Mapping[str, float]) -> str:
    """Lines of the estimate and the two totals (with and without activation checkpointing)."""
    fixed = sum(v for k, v in estimate.items() if not k.startswith("activations"))
    lines = [f"  {k:<32} {v / GIB:8.1f} GiB" for k, v in estimate.items()]
    for ac in ("checkpointing", "no checkpointing"):
        total = fixed + estimate[f"activations, {ac}"]
        lines.append(f"  {'total, ' + ac:<32} {total / GIB:8.1f} GiB")
    return "\n".join(lines)
