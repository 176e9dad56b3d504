"""mnlu.loss: the chunked loss over supervised tokens against cross-entropy of the full logits."""

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, LlamaConfig

import mnlu.loss
from helpers import make_model_dir, make_records, word_tokenizer
from mnlu.cli import InputError
from mnlu.data import IGNORE, collate, encode_records
from mnlu.distributed import init_distributed, load_sharded_weights, shard_model, teardown
from mnlu.loss import check_plain_output_layer, loss_head


def batch():
    """Four records padded into one micro-batch: prompt, answer and padding positions."""
    tok = word_tokenizer()
    examples = encode_records(tok, make_records(4, seed=9), progress=False)[0]
    return collate([[i] for i in range(len(examples))], examples, tok.pad_token_id)


def full_logits_loss(model, ids, targets, pos):
    """The definition: summed cross-entropy of every position's logits, IGNORE positions left out."""
    logits = model(input_ids=ids, position_ids=pos, use_cache=False).logits
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE, reduction="sum")


def loss_and_grads(model, loss_fn):
    model.zero_grad(set_to_none=True)
    loss = loss_fn()
    loss.backward()
    grads = {n: p.grad.full_tensor() if hasattr(p.grad, "full_tensor") else p.grad for n, p in model.named_parameters()}
    return loss.detach(), grads


@pytest.mark.parametrize("family", ["mistral", "llama"])  # llama: tied embeddings
def test_chunked_loss_and_gradients_match_the_full_logits(family, tmp_path, monkeypatch):
    ids, targets, pos = batch()
    supervised = int((targets != IGNORE).sum())
    monkeypatch.setattr(mnlu.loss, "CHUNK_TOKENS", 7)  # several chunks, the last one short
    assert supervised > 2 * 7 and supervised % 7
    model = AutoModelForCausalLM.from_pretrained(make_model_dir(tmp_path / family, family=family))

    def chunked():
        with loss_head(model, targets):
            return model(input_ids=ids, position_ids=pos, use_cache=False).logits

    expected, expected_grads = loss_and_grads(model, lambda: full_logits_loss(model, ids, targets, pos))
    loss, grads = loss_and_grads(model, chunked)
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    for name, grad in expected_grads.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-5, atol=1e-7)
    assert model.get_output_embeddings().__class__.__name__ == "Linear"  # the head is back


def test_under_fsdp_the_loss_uses_the_gathered_output_layer(tmp_path):
    ids, targets, pos = batch()
    model_dir = make_model_dir(tmp_path / "llama", family="llama")
    plain = AutoModelForCausalLM.from_pretrained(model_dir)
    expected, expected_grads = loss_and_grads(plain, lambda: full_logits_loss(plain, ids, targets, pos))
    init_distributed()
    try:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(plain.config, dtype=torch.float32)
        model = shard_model(model, torch.float32, activation_checkpointing=False)
        load_sharded_weights(model, model_dir, torch.device("cpu"))

        def chunked():
            with loss_head(model, targets):
                return model(input_ids=ids, position_ids=pos, use_cache=False).logits

        loss, grads = loss_and_grads(model, chunked)
    finally:
        teardown()
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    for name, grad in expected_grads.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-5, atol=1e-7)


def test_a_model_that_transforms_its_logits_is_refused():
    check_plain_output_layer(LlamaConfig())
    config = LlamaConfig()
    config.final_logit_softcapping = 30.0
    with pytest.raises(InputError, match="final_logit_softcapping=30.0"):
        check_plain_output_layer(config)
