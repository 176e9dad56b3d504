"""Fixtures shared by several test files (plain builders are in helpers.py)."""

import pytest

from helpers import byte_tokenizer, tiny_model


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A random 2-layer Llama folder with its byte-level tokenizer, made once per test module."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tok = byte_tokenizer()
    tiny_model("llama", len(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
