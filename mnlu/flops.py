"""Model FLOPs utilisation (MFU): the share of the GPUs' peak that a training step turns into model
arithmetic, as nanochat and torchtitan report it.

A token costs 6 FLOPs per parameter (forward 2, backward 4) plus attention's 12 x layers x width x
length of its sequence (Kaplan et al. 2020; PaLM, appendix B). Activation checkpointing's
recomputed forward is not counted: MFU measures the model's arithmetic, not the hardware's.
"""

# Dense bf16 tensor-core peak per GPU, from NVIDIA's data sheets (no sparsity), by a part of the
# name torch reports; the first match wins, so a variant comes before its family. Others: no MFU.
PEAK_BF16_FLOPS = {
    "H200": 989e12,
    "H100 PCIe": 756e12,
    "H100": 989e12,  # SXM
    "A100": 312e12,
    "L40S": 362e12,
}


def peak_flops(device_name: str) -> float | None:
    """The bf16 peak of a GPU named `device_name` (torch.cuda.get_device_name); None if unknown."""
    return next((flops for part, flops in PEAK_BF16_FLOPS.items() if part in device_name), None)


def training_flops(n_params: int, layers: int, width: int, tokens: int, mean_length: float) -> float:
    """FLOPs of one training step over `tokens` tokens in sequences of `mean_length` tokens on average."""
    return tokens * (6 * n_params + 12 * layers * width * mean_length)


def mfu(flops: float, seconds: float, peak: float, world_size: int) -> float:
    """The share (0-1) of `world_size` GPUs' combined peak that `flops` in `seconds` is."""
    return flops / (seconds * peak * world_size)
