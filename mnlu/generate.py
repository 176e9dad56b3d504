"""Greedy generation with two backends that give the same answers: vLLM, and plain transformers.

Both backends take the same token ids (`mnlu.chat.prompt_token_ids`), decode with the same settings
(`sampling_settings`, the one place every sampling field is chosen) and return generated token
ids, which `completion_text` turns into the prediction the same way for both. So a difference
between the backends can only come from the model's arithmetic, never from the plumbing.
"""

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open

from mnlu.chat import render_conversation, render_prompt
from mnlu.cli import InputError, one_line

if TYPE_CHECKING:
    from transformers import DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

SamplingSettings = dict[str, Any]  # every decoding field, by its vLLM `SamplingParams` name (`sampling_settings`)
_PROBE = "\x00answer\x00"  # a string no template writes, to find what a template puts around a turn


def template_markers(tokenizer: "PreTrainedTokenizerBase") -> tuple[str, str]:
    """(answer_prefix, end_of_turn): what the chat template writes before and after an answer.

    E.g. `<|assistant|>` and `</s>` for the Zephyr fallback, `<|im_start|>assistant` and
    `<|im_end|>` for ChatML. They are read off the template itself, so cleanup removes exactly
    these strings and never a word of the answer.
    """
    user = [{"role": "user", "content": "?"}]
    without, with_prompt = render_conversation(tokenizer, user), render_prompt(tokenizer, user)
    prefix = with_prompt[len(without) :] if with_prompt.startswith(without) else ""
    turn = render_conversation(tokenizer, user + [{"role": "assistant", "content": _PROBE}])
    end = turn.split(_PROBE, 1)[1] if _PROBE in turn else ""
    return prefix.strip(), end.strip()


def stop_token_ids(tokenizer: "PreTrainedTokenizerBase") -> list[int]:
    """EOS, and the template's end-of-turn token where that is a single token (`<|im_end|>`)."""
    ids = {tokenizer.eos_token_id}
    end = template_markers(tokenizer)[1]
    if end:
        end_ids = tokenizer.convert_tokens_to_ids([end])
        if end_ids[0] is not None and end_ids[0] != tokenizer.unk_token_id:
            ids.add(end_ids[0])
    return sorted(i for i in ids if i is not None)


def sampling_settings(tokenizer: "PreTrainedTokenizerBase", max_tokens: int = 1024, seed: int = 0) -> SamplingSettings:
    """Every decoding field, set explicitly: greedy, at most `max_tokens`, stop at EOS.

    The keys are vLLM `SamplingParams` fields; the hf backend implements exactly this setting
    (greedy, no penalties). Nothing is left to the model's generation_config.json, whose
    defaults vLLM and transformers would otherwise each apply in their own way.
    """
    return {
        "n": 1,
        "temperature": 0.0,
        "top_p": 1.0,
        "top_k": 0,
        "min_p": 0.0,
        "repetition_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "max_tokens": max_tokens,
        "min_tokens": 0,
        "stop_token_ids": stop_token_ids(tokenizer),
        "ignore_eos": False,
        "seed": seed,
        "skip_special_tokens": False,  # both backends return token ids; completion_text decodes them
    }


def completion_text(tokenizer: "PreTrainedTokenizerBase", token_ids: Sequence[int], settings: SamplingSettings) -> str:
    """The prediction: generated ids up to the first stop token, decoded, template markers removed.

    Only a leading answer prefix (a model repeating `<|assistant|>`) and everything from an
    end-of-turn marker on are removed; words inside the answer ("physician assistant") stay.
    """
    stops = set(settings["stop_token_ids"])
    cut = next((i for i, t in enumerate(token_ids) if t in stops), len(token_ids))
    text = tokenizer.decode(
        token_ids[:cut], skip_special_tokens=settings["skip_special_tokens"], clean_up_tokenization_spaces=False
    )
    return strip_template_markers(text, *template_markers(tokenizer))


def strip_template_markers(text: str, answer_prefix: str, end_of_turn: str) -> str:
    """`text` without a leading `answer_prefix` and without anything from `end_of_turn` on."""
    text = text.strip()
    if answer_prefix and text.startswith(answer_prefix):
        text = text[len(answer_prefix) :]
    if end_of_turn and end_of_turn in text:
        text = text[: text.index(end_of_turn)]
    return text.strip()


# ---------------------------------------------------------------------------------------------
# the model folder


def check_model_folder(folder: str | Path) -> None:
    """Raise InputError, naming the file, for a model folder that either backend would fail to load.

    `mnlu.shards.local_model` has found the folder and its weights; here every safetensors header
    is read too (a second, even for a 7B model), so a truncated shard fails before minutes of
    loading, and before anything is written.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder}: no config.json in it; --model needs a transformers model folder")
    for file in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(file, framework="pt"):
                pass
        except (SafetensorError, OSError) as e:
            raise InputError(f"{file}: not a readable safetensors file ({one_line(e)})") from None


def load_tokenizer(folder: str | Path, trust_remote_code: bool = False) -> "PreTrainedTokenizerBase":
    """The tokenizer saved in the model folder `folder`; InputError naming the folder if there is none."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise InputError(
            f"{folder}: no tokenizer that transformers can load ({one_line(e)}); "
            "copy the base model's tokenizer files there"
        ) from None


# ---------------------------------------------------------------------------------------------
# hf backend: transformers on CPU or GPU


def load_hf_model(
    folder: str | Path, dtype: torch.dtype, device: str | torch.device, trust_remote_code: bool = False
) -> "PreTrainedModel":
    """A causal LM from safetensors weights only, in eval mode on `device`.

    A checkpoint transformers cannot read (a broken config.json, weights that do not fit it) is
    bad input: InputError naming the folder.
    """
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=dtype, use_safetensors=True, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError, SafetensorError) as e:
        raise InputError(f"{folder}: the model could not be loaded ({one_line(e)})") from None
    return model.to(device).eval()


# the sampling fields greedy_generate implements, at the only values it implements
_HF_IMPLEMENTS = {
    "n": 1,
    "temperature": 0.0,
    "repetition_penalty": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "min_tokens": 0,
    "ignore_eos": False,
}


# prompts read through the model at once: rows enough for efficient matrix products, few enough
# that neighbours in length order are alike in length, so little padding is computed
PREFILL_ROWS = 8


@torch.inference_mode()
def greedy_generate(
    model: "PreTrainedModel", prompts: Sequence[Sequence[int]], settings: SamplingSettings, pad_token_id: int
) -> list[list[int]]:
    """Greedy continuations of token-id `prompts`, decoded as one left-padded batch with a KV cache.

    Left padding puts every prompt's last token in the last column, so each step appends one
    token to every row. The attention mask hides the padding and position ids count real tokens
    only, so each row computes what it would alone (up to floating-point rounding). A row stops
    after its first stop token (which it keeps) and leaves the batch, its cache with it, so each
    step computes only the rows still going.
    """
    unsupported = {k: settings[k] for k, v in _HF_IMPLEMENTS.items() if settings[k] != v}
    if unsupported:
        raise ValueError(f"the hf backend does plain greedy decoding only, not {unsupported}")
    rows = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))  # the prompt each batch row answers
    next_ids, mask, cache = _prefill(model, [prompts[i] for i in rows], pad_token_id)
    positions = mask.sum(-1, keepdim=True)  # of the next token: the real tokens before it
    stops = torch.tensor(settings["stop_token_ids"], device=model.device)
    generated = [[] for _ in prompts]
    for step in range(1, settings["max_tokens"] + 1):
        for row, token in zip(rows, next_ids.tolist()):
            generated[row].append(token)
        going = ~torch.isin(next_ids, stops)
        if step == settings["max_tokens"] or not going.any():
            break
        if not going.all():
            keep = going.nonzero().flatten()
            rows = [rows[i] for i in keep.tolist()]
            next_ids, mask, positions = next_ids[keep], mask[keep], positions[keep]
            cache.batch_select_indices(keep)
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        next_ids = _next_tokens(model, next_ids[:, None], mask, positions, cache)
        positions = positions + 1
    return generated


def _prefill(
    model: "PreTrainedModel", prompts: Sequence[Sequence[int]], pad_token_id: int
) -> tuple[torch.Tensor, torch.Tensor, "DynamicCache"]:
    """(first token of each answer, attention mask, KV cache) for `prompts`, longest first.

    The prompts are read PREFILL_ROWS at a time, each group padded only to its own longest
    prompt, so a batch of mixed lengths computes little padding; the groups' caches are then
    padded to the longest prompt of all and stacked. A sliding-window layer that has dropped
    keys cannot be padded so, and a batch that long is read whole.
    """
    from transformers import DynamicCache

    width = len(prompts[0])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
    window = getattr(model.config.get_text_config(), "sliding_window", None)
    group_rows = PREFILL_ROWS if window is None or width < window else len(prompts)
    first, caches = [], []
    for i in range(0, len(prompts), group_rows):
        group, pad = prompts[i : i + group_rows], width - len(prompts[i])
        ids = torch.tensor([[pad_token_id] * (len(group[0]) - len(p)) + list(p) for p in group], device=model.device)
        group_mask = mask[i : i + group_rows, pad:]
        cache = DynamicCache(config=model.config)
        first.append(_next_tokens(model, ids, group_mask, (group_mask.cumsum(-1) - 1).clamp(min=0), cache))
        caches.append([(F.pad(k, (0, 0, pad, 0)), F.pad(v, (0, 0, pad, 0))) for k, v, _ in cache])
    if len(caches) > 1:
        layers = [tuple(torch.cat(states) for states in zip(*layer)) for layer in zip(*caches)]
        cache = DynamicCache(ddp_cache_data=layers, config=model.config)
    return torch.cat(first), mask, cache


def _next_tokens(
    model: "PreTrainedModel",
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    positions: torch.Tensor,
    cache: "DynamicCache",
) -> torch.Tensor:
    """The greedy next token of each row after `input_ids`, which are added to `cache`."""
    # transformers renamed `past_key_values` to `cache` (5.24 has the new name, 5.19 only the old one)
    cache_kwarg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    logits = model(
        input_ids=input_ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=True,
        logits_to_keep=1,
        **{cache_kwarg: cache},
    ).logits[:, -1]
    return logits.argmax(-1)


# ---------------------------------------------------------------------------------------------
# vLLM backend


def vllm_engine(
    model: str,
    settings: SamplingSettings,
    *,
    dtype: str,
    tensor_parallel_size: int,
    max_num_seqs: int,
    gpu_memory_utilization: float,
    trust_remote_code: bool = False,
) -> Callable[[Sequence[Sequence[int]]], list[list[int]]]:
    """A vLLM engine on `model`, returned as a function prompts -> generated ids, decoding with `settings`.

    `generation_config="vllm"` keeps vLLM from taking defaults from the model's
    generation_config.json; the engine's seed is the run's seed.
    """
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(
        model=model,
        tokenizer=model,
        dtype=dtype,
        seed=settings["seed"],
        tensor_parallel_size=tensor_parallel_size,
        max_num_seqs=max_num_seqs,
        gpu_memory_utilization=gpu_memory_utilization,
        generation_config="vllm",
        trust_remote_code=trust_remote_code,
    )
    params = SamplingParams(**settings)

    def generate(prompts: Sequence[Sequence[int]]) -> list[list[int]]:
        outputs = llm.generate([TokensPrompt(prompt_token_ids=list(p)) for p in prompts], params, use_tqdm=False)
        return [list(o.outputs[0].token_ids) for o in outputs]

    return generate
