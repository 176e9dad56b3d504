"""Chat rendering: the tokenizer's template, or the released Zephyr-style fallback."""

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from helpers import MISTRAL_V1_TEMPLATE
from mnlu.chat import prompt_token_ids, render_conversation, render_prompt
from mnlu.generate import template_markers

MESSAGES = [
    {"role": "user", "content": "Question?\nMedical text: fever"},
    {"role": "assistant", "content": "Disease: fever"},
]


def tiny_tokenizer(chat_template=None):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "fever": 3}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    tok.chat_template = chat_template
    return tok


def test_zephyr_fallback_matches_the_released_rendering():
    tok = tiny_tokenizer()
    assert render_conversation(tok, MESSAGES) == (
        "<|user|>\nQuestion?\nMedical text: fever</s>\n<|assistant|>\nDisease: fever</s>\n"
    )
    assert render_prompt(tok, MESSAGES) == "<|user|>\nQuestion?\nMedical text: fever</s>\n<|assistant|>\n"


def test_prompt_is_a_prefix_of_the_conversation():
    tok = tiny_tokenizer()
    assert render_conversation(tok, MESSAGES).startswith(render_prompt(tok, MESSAGES))


def test_a_tokenizer_template_wins_over_the_fallback():
    template = (
        "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    tok = tiny_tokenizer(template)
    assert render_prompt(tok, MESSAGES) == "[user]Question?\nMedical text: fever[assistant]"


def test_the_prompt_keeps_demonstration_answers_and_drops_only_the_records_own():
    tok = tiny_tokenizer()
    demo = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]
    assert render_prompt(tok, demo + MESSAGES) == (
        "<|user|>\nQ1</s>\n<|assistant|>\nA1</s>\n<|user|>\nQuestion?\nMedical text: fever</s>\n<|assistant|>\n"
    )
    assert render_prompt(tok, demo + MESSAGES[:1]) == render_prompt(tok, demo + MESSAGES)


def test_biomistral_dare_template_renders_mistral_instruct_turns():
    tok = tiny_tokenizer(MISTRAL_V1_TEMPLATE)
    prompt = render_prompt(tok, MESSAGES)
    assert prompt == "<s> [INST] Question?\nMedical text: fever [/INST]"  # no generation prompt of its own
    assert render_conversation(tok, MESSAGES) == prompt + " Disease: fever</s>"
    assert template_markers(tok) == ("", "</s>")  # nothing to strip before an answer; it ends at EOS
    ids = prompt_token_ids(tok, prompt)
    assert ids[:2] == [tok.bos_token_id, tok.unk_token_id] and tok.bos_token_id not in ids[1:]  # BOS once
