"""The learning-rate schedule of the paper: linear warm-up, then cosine decay towards zero."""

import math


def warmup_steps(total_steps: int, warmup_ratio: float) -> int:
    """Warm-up length, rounded up as Hugging Face's `get_warmup_steps` does."""
    return math.ceil(total_steps * warmup_ratio)


def lr_at(step: int, total_steps: int, warmup: int, peak: float) -> float:
    """Learning rate of optimizer step `step` (1-based); no step gets a zero rate.

    Steps 1..warmup climb linearly to `peak`; the remaining steps follow half a cosine from
    `peak` towards 0, reaching peak * (1 + cos(pi * n / (n + 1))) / 2 at the last step.
    """
    if step <= warmup:
        return peak * step / warmup
    progress = (step - warmup) / (total_steps - warmup + 1)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))
