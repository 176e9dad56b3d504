"""Fixtures shared by several test files (plain builders are in helpers.py).

The suite runs on the CPU wherever it runs: a GPU would switch train.py to NCCL and bf16, and its
two-process tests to devices a one-GPU machine lacks. CUDA is hidden before anything touches it,
from this process and the scripts it starts. The GPU path has its own check, scripts/gpu_check.sh.
"""

import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""

import pytest  # noqa: E402

from helpers import byte_tokenizer, tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A random 2-layer Llama folder with its byte-level tokenizer, made once per test module."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tok = byte_tokenizer()
    tiny_model("llama", len(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
