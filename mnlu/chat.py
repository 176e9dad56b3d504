"""Chat rendering, shared by train.py and infer.py so both see the same prompt string.

A tokenizer's own chat template wins; tokenizers without one get the Zephyr-style template the
released BioMistral-NLU recipe trained with (alignment-handbook's default), verbatim.
"""

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


def chat_template(tokenizer):
    """The template mnlu renders with: the tokenizer's own, else the Zephyr fallback."""
    return tokenizer.chat_template or ZEPHYR_TEMPLATE


def render_prompt(tokenizer, messages):
    """The user turn(s) followed by the template's generation prompt: what a model answers."""
    prompt = [m for m in messages if m["role"] != "assistant"]
    return tokenizer.apply_chat_template(
        prompt, chat_template=chat_template(tokenizer), tokenize=False, add_generation_prompt=True
    )


def render_conversation(tokenizer, messages):
    """The whole conversation, answer included: what a model is trained on."""
    return tokenizer.apply_chat_template(
        messages, chat_template=chat_template(tokenizer), tokenize=False, add_generation_prompt=False
    )
