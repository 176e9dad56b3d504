"""mnlu.data and mnlu.schedule: token ids, loss targets, batch plans, packing, learning rates."""

import math
import random

import pytest
import torch
from transformers import AutoModelForCausalLM

from helpers import make_record, make_records, tiny_config, word_tokenizer
from mnlu.chat import render_conversation, render_prompt
from mnlu.data import (
    IGNORE,
    DataError,
    collate,
    encode_records,
    epoch_plan,
    micro_batches,
    pack,
    padding_efficiency,
    targets_of,
    training_plan,
)
from mnlu.schedule import lr_at, warmup_steps
from mnlu.tasks import ner_record

# ---- encoding and completion-only masking -------------------------------------------------------


def test_completion_loss_is_on_exactly_the_answer_tokens():
    tok = word_tokenizer()
    record = make_record(0, ["patient", "reports", "fever"], ["fever"])
    ((ids, n_masked),) = encode_records(tok, [record], "completion", progress=False)[0]
    # Zephyr: "<|user|>\n{prompt}</s>\n<|assistant|>\n" + "{answer}</s>\n", bos added in front.
    words = lambda s: tok.convert_tokens_to_ids(s.split(" "))  # noqa: E731
    prompt = words("<s> <|user|> \n patient reports fever </s> \n <|assistant|> \n")
    answer = words("Disease : fever </s> \n")
    assert ids.tolist() == prompt + answer
    assert n_masked == len(prompt)
    targets = targets_of(ids.long(), n_masked)
    # Position i predicts token i+1: only the last prompt position and the answer positions
    # (but the very last, which has nothing to predict) carry loss.
    supervised = [i for i, t in enumerate(targets.tolist()) if t != IGNORE]
    assert supervised == list(range(len(prompt) - 1, len(prompt) + len(answer) - 1))
    assert [targets[i].item() for i in supervised] == answer


def test_full_loss_predicts_every_token_but_the_first():
    tok = word_tokenizer()
    ((ids, n_masked),) = encode_records(tok, [make_record(0, ["fever"], ["fever"])], "full", progress=False)[0]
    targets = targets_of(ids.long(), n_masked)
    assert targets[:-1].tolist() == ids[1:].tolist() and targets[-1] == IGNORE


def test_prompt_tokens_match_what_inference_sees():
    tok = word_tokenizer()
    record = make_record(0, ["severe", "cough"], ["cough"])
    ((ids, n_masked),) = encode_records(tok, [record], progress=False)[0]
    assert ids[:n_masked].tolist() == tok(render_prompt(tok, record["messages"])).input_ids
    assert tok.decode(ids[1:]).replace(" ", "") == render_conversation(tok, record["messages"]).replace(" ", "")


def ner(i, words, spans):
    """A NER record on the word vocabulary: `Medical text: ` then the words."""
    return ner_record(
        id=f"n{i}",
        dataset="toy",
        split="train",
        text=" ".join(words),
        labels=["Disease"],
        spans=[{"label": "Disease", "text": s} for s in spans],
    )


def test_a_long_record_has_its_medical_text_shortened_never_its_answer():
    tok = word_tokenizer()
    fits = ner(0, ["fever"] * 3, ["fever"])
    ((ids, _),), _ = encode_records(tok, [fits], progress=False)
    limit = len(ids) + 3
    long = ner(1, ["rash"] + ["pain"] * 10, ["rash"])  # its span opens the text: it survives the cut
    lost = ner(2, ["pain"] * 10 + ["rash"], ["rash"])  # its span closes the text: cutting it would lie
    no_text = make_record(3, ["fever"] * 30, ["fever"])  # nothing but the question to cut
    examples, stats = encode_records(tok, [fits, long, lost, no_text], max_seq_len=limit, progress=False)
    assert stats == {"records": 4, "shortened": 1, "dropped": 2}
    (whole, whole_masked), (short, short_masked) = examples
    assert torch.equal(whole, ids) and len(short) == limit
    ((full, full_masked),), _ = encode_records(tok, [long], progress=False)
    assert short[short_masked:].tolist() == full[full_masked:].tolist()  # the answer, whole
    text_starts = full.tolist().index(tok.convert_tokens_to_ids("rash"))
    assert short[:text_starts].tolist() == full[:text_starts].tolist()  # the instruction, whole
    assert short.tolist().count(tok.convert_tokens_to_ids("pain")) == 10 - (len(full) - limit)


def test_a_template_whose_prompt_is_not_a_prefix_is_refused_naming_the_record():
    tok = word_tokenizer()
    tok.chat_template = (
        "{% if add_generation_prompt %}<|assistant|> {% endif %}{% for m in messages %}{{ m['content'] }} {% endfor %}"
    )
    with pytest.raises(DataError, match="record 'x7': the chat template renders the conversation"):
        encode_records(tok, [make_record(7, ["fever"], ["fever"])], progress=False)
    long_id = {**make_record(8, ["fever"], ["fever"]), "id": "Mary Smith took quorvexan for her fever. " * 5}
    with pytest.raises(DataError, match=r"^record 'Mary Smith took quorvexan for her fe\.\.\.: the chat template"):
        encode_records(tok, [long_id], progress=False)


# ---- plans, micro-batches, packing ------------------------------------------------------------


def test_plan_is_a_seeded_permutation_of_full_batches():
    lengths = [random.Random(1).randint(1, 50) for _ in range(103)]
    plan = epoch_plan(lengths, 8, seed=42, epoch=0)
    flat = [i for batch in plan for seq in batch for i in seq]
    assert len(plan) == 103 // 8 and all(len(b) == 8 for b in plan)
    assert len(set(flat)) == len(flat) == 12 * 8
    assert plan == epoch_plan(lengths, 8, seed=42, epoch=0)
    assert plan != epoch_plan(lengths, 8, seed=42, epoch=1)


def test_training_plan_chains_seeded_epochs_and_max_steps_cuts_it():
    lengths = [random.Random(2).randint(1, 50) for _ in range(21)]
    plan, per_epoch = training_plan(lengths, 4, seed=1, epochs=3)
    assert per_epoch == 5 and len(plan) == 15
    assert plan[5:10] == epoch_plan(lengths, 4, seed=1, epoch=1)
    assert training_plan(lengths, 4, seed=1, epochs=3, max_steps=7)[0] == plan[:7]
    assert len(training_plan(lengths, 4, seed=1, epochs=1, max_steps=12)[0]) == 12  # runs into epoch 3
    assert training_plan(lengths, 32, seed=1, epochs=3) == ([], 0)


def test_packed_epochs_of_different_lengths_are_chained_in_order():
    rng = random.Random(2)
    lengths = [rng.randint(50, 1500) for _ in range(600)]
    epochs = [epoch_plan(lengths, 4, seed=1, epoch=e, pack_to=2048) for e in range(4)]
    assert len(epochs[1]) < len(epochs[0])  # packing makes a later epoch shorter here
    plan, per_epoch = training_plan(lengths, 4, seed=1, epochs=3, pack_to=2048)
    assert per_epoch == len(epochs[0])
    assert plan == (epochs[0] + epochs[1] + epochs[2] + epochs[3])[: 3 * per_epoch]


@pytest.mark.parametrize("world_size,micro", [(1, 8), (2, 4), (4, 1), (2, 1)])
def test_micro_batches_split_the_batch_whatever_the_layout(world_size, micro):
    lengths = list(range(1, 17))
    batch = [[i] for i in range(8)]
    parts = [micro_batches(batch, lengths, r, world_size, micro) for r in range(world_size)]
    assert len({len(p) for p in parts}) == 1 and len(parts[0]) == 8 // (micro * world_size)
    assert sorted(seq for p in parts for m in p for seq in m) == sorted(batch)


def test_short_batches_give_every_rank_the_same_number_of_micro_batches():
    parts = [micro_batches([[0], [1], [2]], [5, 6, 7], r, 2, 2) for r in range(2)]
    assert [len(p) for p in parts] == [1, 1]
    assert parts[1] == [[[0]]] and collate(micro_batches([[0]], [5], 1, 2, 1)[0], [], 0)[1].eq(IGNORE).all()


def test_pack_fills_sequences_in_order_without_exceeding_the_limit():
    assert pack([0, 1, 2, 3, 4], [5, 4, 3, 9, 2], 10) == [[0, 1], [2], [3], [4]]
    assert pack([2, 0], [5, 4, 11], 10) == [[2], [0]]  # an over-long example sits alone


def test_collate_pads_right_and_restarts_positions_per_example():
    examples = [(torch.tensor([5, 6, 7], dtype=torch.int32), 2), (torch.tensor([8, 9]), 1)]
    input_ids, targets, positions = collate([[0, 1], [1]], examples, pad_id=0)
    assert input_ids.tolist() == [[5, 6, 7, 8, 9], [8, 9, 0, 0, 0]]
    assert targets.tolist() == [[IGNORE, 7, IGNORE, 9, IGNORE], [9, IGNORE, IGNORE, IGNORE, IGNORE]]
    assert positions.tolist() == [[0, 1, 2, 0, 1], [0, 1, 0, 1, 2]]


def test_padding_efficiency_by_hand():
    lengths = [10, 2, 6, 6]
    plan = [[[0], [1], [2], [3]]]
    # one rank, micro-batch 2: sorted 10,6 | 6,2 -> real 24, computed 2*10 + 2*6 = 32
    assert padding_efficiency(plan, lengths, 1, 2) == pytest.approx(24 / 32)
    assert padding_efficiency(plan, lengths, 1, 1) == 1.0


@pytest.mark.parametrize("attention", ["sdpa", "flex_attention"])  # train.py's kernels on CPU and on CUDA
def test_packed_and_padded_rows_give_each_example_its_own_logits(attention, monkeypatch):
    """Block-diagonal attention from restarting positions: no example sees its neighbour or padding,
    with sdpa's dense mask and with flex attention's block mask alike. Flex attention runs eagerly
    here (forward only): on CPU it has no backward, and torch's CPU compiler fails on these shapes;
    on CUDA, transformers compiles it."""
    import transformers.integrations.flex_attention as flex
    from torch.nn.attention.flex_attention import flex_attention

    monkeypatch.setattr(
        flex, "compile_friendly_flex_attention", lambda *a, training=False, **k: flex_attention(*a, **k)
    )
    tok = word_tokenizer()
    examples = encode_records(tok, make_records(3, seed=3), progress=False)[0]
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(tiny_config(tok), dtype=torch.float32, attn_implementation=attention)
    model.eval()

    def logits(sequences):
        ids, _, pos = collate(sequences, examples, tok.pad_token_id)
        with torch.no_grad():
            return model(input_ids=ids, position_ids=pos, use_cache=False).logits

    alone = [logits([[i]])[0] for i in range(3)]
    packed = logits([[0, 1, 2]])[0]
    padded = logits([[0], [1], [2]])
    offset = 0
    for i, ref in enumerate(alone):
        n = len(ref)
        torch.testing.assert_close(packed[offset : offset + n], ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(padded[i, :n], ref, atol=1e-5, rtol=1e-5)
        offset += n


# ---- learning-rate schedule -------------------------------------------------------------------


def test_lr_schedule_by_hand():
    assert warmup_steps(100, 0.1) == 10 and warmup_steps(7, 0.1) == 1
    peak = 2e-4
    assert lr_at(1, 100, 10, peak) == pytest.approx(peak / 10)
    assert lr_at(10, 100, 10, peak) == pytest.approx(peak)
    # decay: progress (s - 10) / 91
    assert lr_at(11, 100, 10, peak) == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi / 91)))
    assert lr_at(100, 100, 10, peak) == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 90 / 91)))
    assert all(lr_at(s, 100, 10, peak) > 0 for s in range(1, 101))
    assert lr_at(1, 5, 0, peak) == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi / 6)))
