"""DARE (drop and rescale, Yu et al. 2024), one tensor at a time.

The convention, used everywhere in mnlu. For fine-tuned models i = 0..n-1 (command-line order),
with weights w_i and drop rate p (0 <= p < 1):

    delta_i = finetuned_i - base
    DARE(delta_i) = m_i * delta_i / (1 - p)      m_i[j] ~ Bernoulli(1 - p): each entry is dropped
                                                 with probability p, survivors are divided by 1 - p
    tau_i = w_i * DARE(delta_i)

    dare_linear: merged = base + sum_i tau_i
    dare_ties:   s = sign(sum_i tau_i), + where the sum is 0 (TIES sign election)
                 merged = base + sum_i [sign(tau_i) == s] * tau_i

With `normalize`, the sum is divided by the summed weights of the models that contribute to each
entry (all of them for dare_linear; those agreeing with s for dare_ties, 1 where none does). The
result is cast back to the base's dtype. One fine-tuned model, p = 0.2, w = 0.5 is the
BioMistral-NLU merge: base + 0.5 * DARE_0.2(finetuned - base).

Other tools: mergekit's `density` is the keep probability 1 - p; mergekit's `rescale` has, since
Feb 2025, scaled each tensor so its L1 norm matches the undropped one, instead of dividing by 1 - p.
MergeLM's `weight_mask_rate` is p.

Arithmetic is float64 for every input dtype: the difference of two bf16, fp16 or fp32 weights is
exact there, so base + 1 * (finetuned - base) gives the fine-tuned weights back bit for bit, and the
result is rounded once, into the base dtype. float32 would round it: for fp32 weights of opposite
signs, and even for bf16 ones whose exponents lie far apart (1 - 2^-30 is not a float32, so with
p = 0, w = 1 a bf16 base 1 and fine-tuned 2^-30 would merge to 0). float64 costs little here:
merge.py's time goes as much to reading, masks and writing as to this arithmetic.

Masks: the mask of model i's tensor `name` comes from its own generator, seeded by
(seed, i, name), so a merge does not depend on tensor order, threads or shard layout, and any tensor
can be re-derived alone. Entry j is dropped when u[j] < p, u = torch.rand(shape) (float32) drawn
from that generator on the CPU. torch.rand draws one value per entry, in order, so drawing u slice
by slice from the same generator (merge.py does) gives the same bits as drawing it whole.
"""

import hashlib
from collections.abc import Sequence

import torch

METHODS = ("dare_linear", "dare_ties")


def mask_generator(seed: int, model_index: int, name: str) -> torch.Generator:
    """A CPU generator seeded by (seed, model index, tensor name) alone."""
    digest = hashlib.sha256(f"{seed}:{model_index}:{name}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


def keep_mask(shape: Sequence[int], drop_rate: float, generator: torch.Generator) -> torch.Tensor:
    """True where an entry survives: u >= drop_rate for u = torch.rand(shape) drawn from `generator`."""
    if not 0 <= drop_rate < 1:
        raise ValueError(f"drop rate {drop_rate} is outside [0, 1)")
    return torch.rand(shape, generator=generator, dtype=torch.float32) >= drop_rate


def dare_(delta: torch.Tensor, keep: torch.Tensor, drop_rate: float) -> torch.Tensor:
    """Zero the entries of `delta` where `keep` is False, divide the others by 1 - drop_rate; in place.

    Kept entries are exactly delta / (1 - drop_rate) in delta's dtype; dropped entries are 0.
    """
    return delta.div_(1 - drop_rate).masked_fill_(keep.logical_not(), 0)


def merge_entries(
    base: torch.Tensor,
    finetuned: Sequence[torch.Tensor],
    keeps: Sequence[torch.Tensor],
    weights: Sequence[float],
    drop_rate: float,
    method: str,
    normalize: bool = False,
) -> torch.Tensor:
    """base + combine_i(w_i * DARE(finetuned_i - base)) in float64, for matching slices of one tensor.

    The inputs are left as they are (copy=True: a float64 input would otherwise be changed in place).
    """
    base = base.to(torch.float64)
    taus = [
        dare_(model.to(torch.float64, copy=True).sub_(base), keep, drop_rate).mul_(weight)
        for model, keep, weight in zip(finetuned, keeps, weights)
    ]
    return combine(taus, weights, method, normalize).add_(base)


def combine(taus: list[torch.Tensor], weights: Sequence[float], method: str, normalize: bool = False) -> torch.Tensor:
    """Sum the weighted DARE deltas `taus` (tau_i = w_i * DARE(delta_i)) by `method`; may reuse taus[0]."""
    if method == "dare_linear":
        total = taus[0]
        for tau in taus[1:]:
            total.add_(tau)
        return total.div_(sum(weights)) if normalize else total
    if method != "dare_ties":
        raise ValueError(f"unknown merge method {method!r}, expected one of {METHODS}")
    stacked = torch.stack(taus)
    elected = torch.where(stacked.sum(0) >= 0, 1.0, -1.0).to(stacked.dtype)
    agree = stacked.sign() == elected  # a dropped (zero) entry never agrees, so never counts
    total = (stacked * agree).sum(0)
    if normalize:
        w = torch.tensor(weights, dtype=stacked.dtype).reshape(-1, *[1] * (stacked.dim() - 1))
        divisor = (agree * w).sum(0)
        total /= torch.where(divisor == 0, 1.0, divisor)
    return total
