"""Chat rendering and prompt tokenization, shared by train.py and infer.py so both see the same ids.

A tokenizer's own chat template wins; tokenizers without one get the Zephyr-style template the
released BioMistral-NLU recipe trained with (alignment-handbook's default), verbatim.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

Message = dict[str, str]  # one chat turn: {"role": "system" | "user" | "assistant", "content": text}

ZEPHYR_TEMPLATE = (
    "{% for message in messages %}\n"
    "{% if message['role'] == 'user' %}\n"
    "{{ '<|user|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'system' %}\n"
    "{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n"
    "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n"
    "{{ '<|assistant|>' }}\n"
    "{% endif %}\n"
    "{% endfor %}"
)


def chat_template(tokenizer: "PreTrainedTokenizerBase") -> str:
    """The template mnlu renders with: the tokenizer's own, else the Zephyr fallback."""
    return tokenizer.chat_template or ZEPHYR_TEMPLATE


def render_prompt(tokenizer: "PreTrainedTokenizerBase", messages: list[Message]) -> str:
    """The conversation up to its last user turn, then the generation prompt: what a model answers.

    A record's own answer (a trailing assistant turn) is left out; earlier assistant turns, such
    as the answers of few-shot demonstrations, stay.
    """
    prompt = messages[:-1] if messages and messages[-1]["role"] == "assistant" else messages
    return tokenizer.apply_chat_template(
        prompt, chat_template=chat_template(tokenizer), tokenize=False, add_generation_prompt=True
    )


def render_conversation(tokenizer: "PreTrainedTokenizerBase", messages: list[Message]) -> str:
    """The whole conversation, answer included: what a model is trained on."""
    return tokenizer.apply_chat_template(
        messages, chat_template=chat_template(tokenizer), tokenize=False, add_generation_prompt=False
    )


def prompt_token_ids(tokenizer: "PreTrainedTokenizerBase", prompt: str) -> list[int]:
    """Token ids of a rendered prompt: the tokenizer's special tokens (BOS) are added, unless the
    template already wrote BOS. Training and inference both tokenize prompts here."""
    has_bos = tokenizer.bos_token is not None and prompt.startswith(tokenizer.bos_token)
    return tokenizer(prompt, add_special_tokens=not has_bos)["input_ids"]
