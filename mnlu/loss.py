"""The training loss without the logits of every token: summed over supervised tokens, in chunks.

A causal LM's logits are tokens x vocabulary floats: for a micro-batch of 4 x 512 tokens and
SmolLM2's 49,152-token vocabulary, 400 MB in fp32, as much again for the softmax and for each of
their gradients, and most of them belong to prompt tokens whose loss is never counted. Instead,
for one forward, the model's output layer is swapped for `SupervisedLoss`, which keeps the hidden
states of the supervised tokens only and sums their cross-entropy CHUNK_TOKENS tokens at a time
under activation checkpointing: a chunk's logits exist only while that chunk is computed, in the
forward and again in the backward. The swap happens inside the model's own forward call, so under
FSDP the output layer's weight is the gathered one, as it would be for the logits.

This holds for models whose forward applies nothing to the output layer's result; models that
scale or soft-cap their logits after it are refused (`check_plain_output_layer`).
"""

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from mnlu.cli import InputError
from mnlu.data import IGNORE

if TYPE_CHECKING:
    from transformers import PretrainedConfig

CHUNK_TOKENS = 1024  # logits of 1,024 tokens: 200 MB in fp32 for a 49,152-token vocabulary
LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling")  # config fields that change logits


class SupervisedLoss(nn.Module):
    """Stands in for the output layer: hidden states -> summed cross-entropy of the supervised tokens."""

    def __init__(self, head: nn.Module, targets: torch.Tensor) -> None:
        super().__init__()
        self.head, self.targets = head, targets

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        supervised = self.targets != IGNORE
        hidden, targets = hidden[supervised], self.targets[supervised]
        total = hidden.new_zeros((), dtype=torch.float32)
        for start in range(0, len(targets), CHUNK_TOKENS):
            chunk = slice(start, start + CHUNK_TOKENS)
            total = total + checkpoint(self.chunk_loss, hidden[chunk], targets[chunk], use_reentrant=False)
        return total

    def chunk_loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.head(hidden).float(), targets, reduction="sum")


def check_plain_output_layer(config: "PretrainedConfig") -> None:
    """Refuse a model whose logits are transformed after the output layer: the loss would skip it."""
    for field in LOGIT_TRANSFORMS:
        if getattr(config, field, None) not in (None, 1, 1.0):
            raise InputError(
                f"the model's config sets {field}={getattr(config, field)!r}: its logits are transformed after the"
                " output layer, which train.py's chunked loss does not reproduce"
            )


@contextlib.contextmanager
def loss_head(model: nn.Module, targets: torch.Tensor) -> Iterator[None]:
    """While inside, `model(...).logits` is the summed cross-entropy of `targets` (IGNORE: no loss)."""
    head = model.get_output_embeddings()
    model.set_output_embeddings(SupervisedLoss(head, targets))
    try:
        yield
    finally:
        model.set_output_embeddings(head)
