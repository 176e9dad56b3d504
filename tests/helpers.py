"""Small builders the tests and bench/ share, so nothing is downloaded: tokenizers, tiny random
models saved as Hugging Face folders, training records, and edited copies of the fixture releases.

Two tokenizers for two needs: `word_tokenizer` (a few words, training records built from them)
and `byte_tokenizer` (byte-level, so any text encodes and decodes exactly: generation).
"""

import json
import random
import shutil
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
)

from data_builders.instruct.build import build

RAW = Path(__file__).parent / "fixtures" / "instruct" / "raw"

# ---- a word-level tokenizer and training records ----------------------------------------------

WORDS = (
    "fever cough rash aspirin headache patient denies reports severe mild chronic acute pain "
    "Disease Drug Medical text Extract entities : the a of and with"
).split()
SPECIAL = ["<unk>", "<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>"]


def word_tokenizer():
    """A word-level tokenizer that prepends bos, with eos/pad and no chat template (Zephyr fallback)."""
    vocab = {t: i for i, t in enumerate(SPECIAL + ["\n"] + WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(pattern=" ", behavior="removed")
    core.post_processor = processors.TemplateProcessing(  # prepends bos, as Llama/Mistral's do
        single="<s> $A", special_tokens=[("<s>", vocab["<s>"])]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    tok.add_special_tokens({"additional_special_tokens": ["<|user|>", "<|assistant|>", "<|system|>", "\n"]})
    return tok


def make_record(i, prompt_words, answer_words):
    return {
        "id": f"x{i}",
        "dataset": "toy",
        "task": "ner",
        "split": "train",
        "messages": [
            {"role": "user", "content": " ".join(prompt_words)},
            {"role": "assistant", "content": "Disease : " + " ".join(answer_words)},
        ],
        "gold": {"labels": ["Disease"], "spans": [{"label": "Disease", "text": answer_words[0]}]},
    }


def make_records(n, seed=0, max_words=40):
    """Records of very different lengths (3 to max_words prompt words), so batches pad heavily."""
    rng = random.Random(seed)
    return [
        make_record(i, rng.choices(WORDS, k=rng.randint(3, max_words)), rng.choices(WORDS[:6], k=rng.randint(1, 4)))
        for i in range(n)
    ]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


TINY = dict(  # the dimensions of the tests' models; bench/ scales them up
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
)


def tiny_config(tok, family="mistral", **size):
    """A Mistral (untied) or Llama (tied embeddings) config for `tok`; `size` overrides TINY's dimensions
    (and the vocabulary size, which is the tokenizer's unless given)."""
    common = dict(
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **{"vocab_size": len(tok), **TINY, **size},
    )
    if family == "mistral":
        return MistralConfig(**common, tie_word_embeddings=False)
    return LlamaConfig(**common, tie_word_embeddings=True)


# Mistral's chat template for its tokenizer V1 (Mistral-7B-Instruct-v0.1), as Mistral's documentation
# gives it. BioMistral-7B-DARE's tokenizer is that model's: BioMistral's merge (Merges/MergeDARE.py)
# ran mergekit with --copy-tokenizer, which copies the merge's base, mistralai/Mistral-7B-Instruct-v0.1.
MISTRAL_V1_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ ' [INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)


def make_model_dir(path, family="mistral", seed=0, **size):
    """A random model of `tiny_config` saved with the word-level tokenizer, in fp32."""
    tok = word_tokenizer()
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(tok, family, **size), dtype=torch.float32)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


# ---- a byte-level tokenizer and generation models ---------------------------------------------


def byte_tokenizer(chat_template=None, extra_special=()):
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({t: len(vocab) + i for i, t in enumerate(extra_special)})
    vocab.update({c: len(vocab) + i for i, c in enumerate(alphabet)})
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        additional_special_tokens=list(extra_special),
    )
    tok.chat_template = chat_template
    return tok


def tiny_model(arch, vocab_size):
    """A random 2-layer model whose answers stop at EOS at different lengths (EOS row scaled up).

    A large init range makes the logits peaked, so greedy choices are not near-ties.
    """
    config_class, model_class = {
        "llama": (LlamaConfig, LlamaForCausalLM),
        "mistral": (MistralConfig, MistralForCausalLM),
    }[arch]
    torch.manual_seed(0)
    config = config_class(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        tie_word_embeddings=False,
        initializer_range=0.3,
    )
    model = model_class(config).eval()
    with torch.no_grad():
        model.lm_head.weight[2] *= 2
    return model


# ---- fixture releases, edited -----------------------------------------------------------------


def build_edited(tmp_path, release, file, old, new, sources=None, also=()):
    """Build a copy of fixture releases where `old` is replaced by `new` in `release`/`file`."""
    raw = tmp_path / "raw"
    for name in (release, *also):
        shutil.copytree(RAW / name, raw / name)
    path = raw / release / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    return path, build(raw, tmp_path / "out", sources)
