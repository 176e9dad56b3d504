"""infer.py and its helpers (mnlu.generate, mnlu.shots, mnlu.resume) on a tiny random model.

The tokenizer is byte-level with no merges, so any text encodes and decodes exactly, and it has
no chat template, so prompts use the Zephyr fallback the released recipe trained with.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import torch
from tokenizers.processors import TemplateProcessing
from transformers import MistralConfig, MistralForCausalLM

from helpers import byte_tokenizer, tiny_model
from mnlu.chat import prompt_token_ids, render_prompt
from mnlu.cli import InputError
from mnlu.generate import (
    PREFILL_ROWS,
    completion_text,
    greedy_generate,
    sampling_settings,
    stop_token_ids,
    strip_template_markers,
    template_markers,
    vllm_engine,
)
from mnlu.records import RecordError, write_records
from mnlu.resume import append_line, finished_ids, open_for_append
from mnlu.shots import FORMAT_EXPLANATION, few_shot_messages, pick_demonstrations
from mnlu.tasks import dc_record, make_record, ner_record

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = json.loads((ROOT / "tests" / "fixtures" / "unified_format.json").read_text())
CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def fixture_records():
    return [make_record(x["task"], **x["fields"]) for x in FIXTURES]


def reference_greedy(model, prompt, stops, max_tokens):
    """Greedy decoding the slow obvious way: the whole sequence through the model at every step."""
    ids, out = list(prompt), []
    with torch.no_grad():
        for _ in range(max_tokens):
            token = model(torch.tensor([ids])).logits[0, -1].argmax().item()
            out.append(token)
            ids.append(token)
            if token in stops:
                break
    return out


# ---------------------------------------------------------------------------------------------
# hf backend


@pytest.mark.parametrize("arch", ["llama", "mistral"])
def test_batched_greedy_equals_one_at_a_time_and_the_no_cache_reference(arch):
    tok = byte_tokenizer()
    model = tiny_model(arch, len(tok))
    settings = sampling_settings(tok, max_tokens=16)
    prompts = [prompt_token_ids(tok, render_prompt(tok, r["messages"])) for r in fixture_records()]
    lengths = [len(p) for p in prompts]
    # really different lengths, not in order, and more than one prefill group: the padding and the
    # reordering both matter
    assert len(set(lengths)) > 5 and lengths != sorted(lengths, reverse=True) and len(prompts) > PREFILL_ROWS

    batched = greedy_generate(model, prompts, settings, pad_token_id=0)
    alone = [greedy_generate(model, [p], settings, pad_token_id=0)[0] for p in prompts]
    assert batched == alone
    assert alone == [reference_greedy(model, p, {2}, 16) for p in prompts]
    # rows leave the batch at several steps, at EOS (kept as last token), and others end at max_tokens
    assert len({len(x) for x in batched if len(x) < 16 and x[-1] == 2}) >= 3
    assert any(len(x) == 16 and 2 not in x for x in batched)


def test_batched_greedy_past_a_sliding_window_equals_the_no_cache_reference():
    """Prompts longer than Mistral's sliding window: its layers keep only the window, so the batch is read whole."""
    tok = byte_tokenizer()
    torch.manual_seed(0)
    config = MistralConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        sliding_window=8,
        initializer_range=0.3,
    )
    model = MistralForCausalLM(config).eval()
    prompts = [[3 + (7 * i + j) % 200 for j in range(9 + i % 6)] for i in range(PREFILL_ROWS + 2)]

    settings = sampling_settings(tok, max_tokens=6)
    batched = greedy_generate(model, prompts, settings, pad_token_id=0)
    assert batched == [reference_greedy(model, p, {2}, 6) for p in prompts]


def test_greedy_refuses_settings_it_does_not_implement():
    tok = byte_tokenizer()
    model = tiny_model("llama", len(tok))
    settings = {**sampling_settings(tok), "temperature": 0.7}
    with pytest.raises(ValueError, match="greedy decoding only, not {.temperature.: 0.7}"):
        greedy_generate(model, [[5, 6]], settings, pad_token_id=0)


# ---------------------------------------------------------------------------------------------
# sampling settings and output cleanup


def test_markers_are_read_off_the_template():
    assert template_markers(byte_tokenizer()) == ("<|assistant|>", "</s>")  # the Zephyr fallback
    assert template_markers(byte_tokenizer(CHATML)) == ("<|im_start|>assistant", "<|im_end|>")


def test_stop_ids_are_eos_and_a_single_token_end_of_turn():
    assert stop_token_ids(byte_tokenizer()) == [2]
    chatml = byte_tokenizer(CHATML, extra_special=("<|im_start|>", "<|im_end|>"))
    assert stop_token_ids(chatml) == [2, chatml.convert_tokens_to_ids("<|im_end|>")]
    assert stop_token_ids(byte_tokenizer(CHATML)) == [2]  # `<|im_end|>` is no single token there


def test_cleanup_strips_template_markers_and_never_words():
    zephyr = ("<|assistant|>", "</s>")
    assert strip_template_markers("Occupation: physician assistant", *zephyr) == "Occupation: physician assistant"
    assert strip_template_markers("<|assistant|>\nDisease: fever</s>\n<|user|>\nmore", *zephyr) == "Disease: fever"
    assert strip_template_markers("  Role: assistant <|assistant|>  ", *zephyr) == "Role: assistant <|assistant|>"
    assert strip_template_markers("(B) no", "", "") == "(B) no"


def test_completion_text_cuts_at_the_first_stop_and_decodes_exactly():
    tok = byte_tokenizer()
    settings = sampling_settings(tok)
    answer = "Staff: physician assistant...nurse , é"
    ids = tok(answer, add_special_tokens=False)["input_ids"]
    assert completion_text(tok, ids + [2] + tok("junk")["input_ids"], settings) == answer
    assert completion_text(tok, tok("<|assistant|>\n")["input_ids"] + ids, settings) == answer


def test_settings_set_every_field_explicitly():
    settings = sampling_settings(byte_tokenizer(), max_tokens=77, seed=5)
    assert settings["temperature"] == 0.0 and settings["max_tokens"] == 77 and settings["seed"] == 5
    assert settings["stop_token_ids"] == [2] and settings["ignore_eos"] is False
    assert all(value is not None for value in settings.values())


def test_the_vllm_path_takes_its_sampling_parameters_from_the_shared_settings(monkeypatch):
    """vLLM is not installed here: a stand-in module records what the vLLM path passes to it."""
    seen = {}

    class LLM:
        def __init__(self, **kwargs):
            seen["engine"] = kwargs

        def generate(self, prompts, params, use_tqdm):
            seen["prompts"], seen["params"] = prompts, params
            completion = types.SimpleNamespace(token_ids=(7, 8, 2))
            return [types.SimpleNamespace(outputs=[completion]) for _ in prompts]

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: kw
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = dict
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.inputs", inputs)

    settings = sampling_settings(byte_tokenizer(), max_tokens=33, seed=9)
    generate = vllm_engine(
        "m", settings, dtype="float32", tensor_parallel_size=2, max_num_seqs=8, gpu_memory_utilization=0.5
    )
    assert generate([[5, 6], [7]]) == [[7, 8, 2], [7, 8, 2]]
    assert seen["params"] == settings
    assert seen["prompts"] == [{"prompt_token_ids": [5, 6]}, {"prompt_token_ids": [7]}]
    assert seen["engine"]["seed"] == 9 and seen["engine"]["generation_config"] == "vllm"
    assert seen["engine"]["tensor_parallel_size"] == 2 and seen["engine"]["max_num_seqs"] == 8


def test_prompt_ids_do_not_repeat_a_bos_the_template_wrote():
    tok = byte_tokenizer()
    tok._tokenizer.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])  # adds BOS
    assert prompt_token_ids(tok, "hi")[:2] == [1, tok.convert_tokens_to_ids("h")]
    assert prompt_token_ids(tok, "<s>hi")[:2] == [1, tok.convert_tokens_to_ids("h")]


# ---------------------------------------------------------------------------------------------
# 2-shot prompts


def ner(id, text, spans, split="train", shuffle=True):
    return ner_record(
        id=id,
        dataset="d",
        split=split,
        text=text,
        labels=["Disease", "Drug"],
        spans=[{"label": label, "text": s} for label, s in spans],
        shuffle=shuffle,
    )


def test_demonstrations_are_seeded_distinct_and_never_the_instance_itself():
    query = ner("q", "fever today", [("Disease", "fever")], split="test")
    same_id = ner("q", "cough", [("Disease", "cough")])
    same_question = ner("other-id", "fever today", [("Disease", "fever")])
    pool = [same_id, same_question] + [
        ner(f"t{i}", f"text {i} rash", [("Disease", "rash")] * (i % 3)) for i in range(40)
    ]
    picks = {seed: [d["id"] for d in pick_demonstrations(query, pool, 2, seed)] for seed in range(20)}
    assert picks[3] == [d["id"] for d in pick_demonstrations(query, list(pool), 2, 3)]  # deterministic
    assert len({tuple(p) for p in picks.values()}) > 1  # the seed matters
    for ids in picks.values():
        assert "q" not in ids and "other-id" not in ids
        answers = [next(r for r in pool if r["id"] == i)["messages"][1]["content"] for i in ids]
        assert len(set(answers)) == 2


def test_too_few_distinct_answers_is_an_error():
    query = ner("q", "fever", [], split="test")
    pool = [ner(f"t{i}", f"text {i}", []) for i in range(5)]  # every answer: no span (in either label order)
    with pytest.raises(ValueError, match="fewer than 2 records with distinct answers"):
        pick_demonstrations(query, pool, 2, seed=0)


def test_few_shot_prompt_holds_the_format_explanation_and_the_demonstrations_answers():
    tok = byte_tokenizer()
    query = ner("q", "fever today", [("Disease", "fever")], split="test", shuffle=False)
    demos = [
        ner("a", "aspirin for pain", [("Drug", "aspirin")], shuffle=False),
        ner("b", "no findings", [], shuffle=False),
    ]
    prompt = render_prompt(tok, few_shot_messages(query, demos))
    explained = f"{FORMAT_EXPLANATION}\nDisease: {{span}}\nDrug: {{span}}\nMedical text: "
    assert prompt.count(explained) == 3
    assert "<|assistant|>\nDisease: None\nDrug: aspirin</s>" in prompt
    assert "<|assistant|>\nDisease: None\nDrug: None</s>" in prompt
    assert "fever today" not in prompt.split("Medical text: fever today")[0]  # the query comes last, once
    assert prompt.endswith("Medical text: fever today</s>\n<|assistant|>\n")


def test_choice_tasks_get_demonstrations_without_the_span_format():
    fields = {"dataset": "d", "text": "t", "what": "x", "options": ["a", "b"]}
    query = dc_record(id="q", split="test", answers=["a"], **fields)
    messages = few_shot_messages(query, [dc_record(id="t", split="train", answers=["b"], **fields)])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert FORMAT_EXPLANATION not in json.dumps(messages)


# ---------------------------------------------------------------------------------------------
# resume


def test_a_line_cut_by_a_kill_is_dropped_and_the_file_stays_appendable(tmp_path):
    path = tmp_path / "d.jsonl"
    with open(path, "w") as f:
        append_line(f, {"id": "a", "prediction": "x"})
        append_line(f, {"id": "b", "prediction": "y"})
        f.write('{"id": "c", "predic')
    before = path.read_bytes()
    assert finished_ids(path) == {"a", "b"}
    assert path.read_bytes() == before  # only reading: a run that fails to start changes nothing
    with open_for_append(path) as f:
        append_line(f, {"id": "c", "prediction": "z"})
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["a", "b", "c"]


def test_line_separators_inside_a_prediction_do_not_split_its_record(tmp_path):
    path = tmp_path / "d.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        append_line(f, {"id": "a", "prediction": "Disease: fever\u2028cough\x85\x0c"})
        append_line(f, {"id": "b", "prediction": "x"})
    assert finished_ids(path) == {"a", "b"}


def test_a_damaged_or_repeated_line_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(RecordError, match=r"d\.jsonl:2:"):
        finished_ids(path)
    path.write_text('{"id": "a"}\n{"id": "a"}\n')
    with pytest.raises(RecordError, match=r"d\.jsonl:2: id 'a' appears twice"):
        finished_ids(path)
    assert finished_ids(tmp_path / "missing.jsonl") == set()


# ---------------------------------------------------------------------------------------------
# own text: structured answers with offsets


def load_infer():
    spec = importlib.util.spec_from_file_location("infer_script", ROOT / "infer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def own_ner(text, labels=("Symptom",)):
    return ner_record(
        id="text-1", dataset="own_text", split="test", text=text, labels=list(labels), spans=[], shuffle=False
    )


def test_offsets_for_repeated_overlapping_and_invented_spans():
    infer = load_infer()
    text = "Fever and chest pain; fever again, then pain."
    answer = infer.own_answer("n1", text, own_ner(text), "Symptom: Fever...fever...chest pain...pain...cough", False)
    found = [(s["text"], s["start"], s["end"], s["in_text"]) for s in answer["spans"]]
    assert found == [
        ("Fever", 0, 5, True),
        ("fever", 22, 27, True),
        ("chest pain", 10, 20, True),
        ("pain", 16, 20, True),
        ("cough", None, None, False),  # the model wrote it; the text does not hold it
    ]
    assert answer["unparseable"] is False


def test_an_own_text_answer_has_the_documented_keys_and_offsets_into_the_text():
    infer = load_infer()
    text = "Chest\n  pain after cisplatin.\nNo fever."  # a multi-line note: the span is written on one line
    prediction = "Symptom: chest pain...Chest pain...fever...nausea\nDrug: cisplatin"
    answer = infer.own_answer(7, text, own_ner(text, ["Symptom", "Drug"]), prediction, True)
    assert list(answer) == ["id", "text", "prediction", "reached_max_tokens", "unparseable", "spans"]
    assert answer["id"] == 7 and answer["text"] == text and answer["prediction"] == prediction
    assert answer["reached_max_tokens"] is True and answer["unparseable"] is False
    spans = answer["spans"]
    assert all(list(s) == ["label", "text", "start", "end", "in_text"] for s in spans)
    for s in spans:
        if s["in_text"]:
            assert text[s["start"] : s["end"]] == s["text"]  # 0-based, end-exclusive, the mention itself
        else:
            assert s["start"] is None and s["end"] is None
    assert [(s["label"], s["text"], s["in_text"]) for s in spans] == [
        ("Symptom", "chest pain", False),  # spans are matched case-sensitively
        ("Symptom", "Chest\n  pain", True),  # found across the line break: the mention as the text has it
        ("Symptom", "fever", True),
        ("Symptom", "nausea", False),
        ("Drug", "cisplatin", True),
    ]
    choice = dc_record(
        id="text-1",
        dataset="own_text",
        split="test",
        text=text,
        what="x",
        options=["yes", "no"],
        answers=["yes"],
        shuffle=False,
    )
    answer = infer.own_answer(None, text, choice, "(B) no", False)
    assert list(answer) == ["id", "text", "prediction", "reached_max_tokens", "unparseable", "letters", "answers"]
    assert answer["letters"] == ["B"] and answer["answers"] == ["no"]


SECRET = "Mrs Quillfeather's glowing fingernails"


def read_input(tmp_path, content):
    path = tmp_path / "notes.jsonl"
    path.write_text(content, encoding="utf-8")
    return load_infer().read_texts(types.SimpleNamespace(text=None, input=path))


def test_input_is_json_lines_of_id_and_text_and_blank_lines_are_skipped(tmp_path):
    content = (
        "\n"
        + json.dumps({"id": "a", "text": f"{SECRET}.\nSecond line.", "extra": 1})
        + "\n   \n\n"
        + json.dumps({"id": 2, "text": "Fever."})
        + "\n"
    )
    assert read_input(tmp_path, content) == [("a", f"{SECRET}.\nSecond line."), (2, "Fever.")]


@pytest.mark.parametrize(
    "line, error",
    [
        (SECRET, r"notes\.jsonl:3: not valid JSON \(Expecting value, column 1\)"),
        (json.dumps([SECRET]), r"notes\.jsonl:3: not a JSON object"),
        (json.dumps({"text": SECRET}), r"notes\.jsonl:3: 'id' is missing"),
        (json.dumps({"id": True, "text": SECRET}), r"notes\.jsonl:3: 'id' is missing or not a non-empty string"),
        (json.dumps({"id": "b", "txt": SECRET}), r"notes\.jsonl:3: 'text' is missing"),
        (json.dumps({"id": "b", "text": [SECRET]}), r"notes\.jsonl:3: 'text' is missing, not a string"),
        (json.dumps({"id": "b", "text": " \n "}), r"notes\.jsonl:3: 'text' is missing, not a string, or white space"),
        (json.dumps({"id": "a", "text": SECRET}), r"notes\.jsonl:3: 'id' is the same as on line 1"),
    ],
)
def test_a_bad_input_line_is_named_with_its_field_and_never_quoted(tmp_path, line, error):
    content = json.dumps({"id": "a", "text": SECRET}) + "\n\n" + line + "\n"
    with pytest.raises(InputError, match=error) as caught:
        read_input(tmp_path, content)
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)


def test_an_answer_is_cut_when_it_ends_without_a_stop_token():
    """A stop token, even as the last allowed token, ends an answer; without one the answer ran into
    --max-tokens (or, with vLLM, the model's context length) and may be cut."""
    tok = byte_tokenizer()
    settings = sampling_settings(tok, max_tokens=3)
    word = tok("abc", add_special_tokens=False)["input_ids"]  # 3 tokens, one a byte
    outputs = {"cut": word, "stops at the limit": word[:2] + [2], "short": word[:1] + [2], "short, no stop": word[:2]}
    jobs = [({"id": name}, name) for name in outputs]
    by_prompt = {tuple(prompt_token_ids(tok, name)): ids for name, ids in outputs.items()}
    answers = load_infer().run_generation(
        jobs, tok, settings, lambda prompts: [by_prompt[tuple(p)] for p in prompts], 2, "test"
    )
    assert {record["id"]: cut for record, _, cut in answers} == {
        "cut": True,
        "stops at the limit": False,
        "short": False,
        "short, no stop": True,  # vLLM stops at the model's context length without a stop token
    }


def pretend_vllm(monkeypatch, installed, gpu):
    """vLLM installed or not, a GPU present or not, as infer.py sees them."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: (installed or None) if name == "vllm" else find_spec(name, *a)
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)


@pytest.mark.parametrize(
    "requested, installed, gpu, chosen",
    [
        ("auto", False, False, "hf"),
        ("auto", False, True, "hf"),
        ("auto", True, True, "vllm"),
        ("auto", True, False, "hf"),  # vLLM's CPU build: not shown to be faster than hf on the demo
        ("hf", True, True, "hf"),
        ("vllm", True, False, "vllm"),
    ],
)
def test_auto_backend_is_vllm_where_it_is_installed_and_a_gpu_is_present(
    monkeypatch, requested, installed, gpu, chosen
):
    infer = load_infer()
    pretend_vllm(monkeypatch, installed, gpu)
    assert infer.chosen_backend(requested) == chosen


def test_asking_for_vllm_where_it_is_not_installed_is_an_error(monkeypatch):
    infer = load_infer()
    pretend_vllm(monkeypatch, False, True)
    with pytest.raises(InputError, match="--backend vllm: vLLM is not installed here"):
        infer.chosen_backend("vllm")


# ---------------------------------------------------------------------------------------------
# the script, end to end


def run_infer(monkeypatch, *args):
    """infer.py's main() in this process (no start-up cost), as the command line would run it."""
    monkeypatch.setattr(sys, "argv", ["infer.py", *map(str, args)])
    load_infer().main()


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_file_as_an_uninterrupted_run(tmp_path, tiny_checkpoint, monkeypatch):
    records = [{**r, "id": f"{r['id']}-{i}", "dataset": "demo"} for i in range(4) for r in fixture_records()]
    data = tmp_path / "demo" / "test.jsonl"
    write_records(data, records)
    common = ["--model", tiny_checkpoint, "--data", data, "--max-tokens", 8, "--batch-size", 2]

    run_infer(monkeypatch, *common, "--out", tmp_path / "whole")
    whole = (tmp_path / "whole" / "demo.jsonl").read_text()
    assert sorted(json.loads(line)["id"] for line in whole.splitlines()) == sorted(r["id"] for r in records)

    killed = tmp_path / "killed" / "demo.jsonl"
    command = [sys.executable, str(ROOT / "infer.py"), *map(str, common), "--out", tmp_path / "killed"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while not (killed.exists() and killed.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    lines_at_kill = killed.read_text().count("\n")
    assert 2 <= lines_at_kill < len(records), "the kill came too late to interrupt the run"
    with open(killed, "a") as f:
        f.write(whole.splitlines()[lines_at_kill][:25])  # and a line cut short, as a kill mid-write leaves it

    run_infer(monkeypatch, *common, "--out", tmp_path / "killed")
    assert killed.read_text() == whole


@pytest.mark.slow
def test_a_folder_of_other_settings_is_refused(tmp_path, tiny_checkpoint, monkeypatch):
    data = tmp_path / "demo" / "test.jsonl"
    write_records(data, fixture_records()[:2])
    run_infer(monkeypatch, "--model", tiny_checkpoint, "--data", data, "--out", tmp_path / "p", "--max-tokens", 2)
    run = json.loads((tmp_path / "p" / "run.json").read_text())
    assert run["sampling"]["max_tokens"] == 2 and run["backend"] == "hf" and run["shots"] == 0
    with pytest.raises(
        InputError,
        match=r"run.json: this folder holds predictions made with "
        r"sampling={'max_tokens': 2}, this run has sampling={'max_tokens': 3}",
    ):
        run_infer(monkeypatch, "--model", tiny_checkpoint, "--data", data, "--out", tmp_path / "p", "--max-tokens", 3)


@pytest.mark.slow
def test_run_json_counts_the_instances_each_prediction_file_is_meant_to_hold(tmp_path, tiny_checkpoint, monkeypatch):
    """instances[d]: the ids in <d>.jsonl once the run is done, also across resumes with other --limit and --data."""
    demo = [{**r, "id": f"{r['id']}-{i}", "dataset": "demo"} for i in range(2) for r in fixture_records()[:3]]
    write_records(tmp_path / "demo" / "test.jsonl", demo)
    write_records(tmp_path / "other" / "test.jsonl", [{**r, "dataset": "other"} for r in fixture_records()[3:5]])
    out = tmp_path / "p"

    def run(data, *limit):
        run_infer(
            monkeypatch,
            "--model",
            tiny_checkpoint,
            "--data",
            tmp_path / data / "test.jsonl",
            "--out",
            out,
            "--max-tokens",
            2,
            *limit,
        )
        return json.loads((out / "run.json").read_text())

    def predicted(dataset):
        return [r["id"] for r in read_jsonl_lines(out / f"{dataset}.jsonl")]

    assert run("demo", "--limit", 2)["instances"] == {"demo": 2}
    assert sorted(predicted("demo")) == sorted(r["id"] for r in demo[:2])  # the first two of the file
    assert run("demo", "--limit", 4)["instances"] == {"demo": 4}
    assert run("demo", "--limit", 1)["instances"] == {"demo": 4}  # asked for fewer: the folder still holds 4
    assert len(predicted("demo")) == 4
    both = run("other")
    assert both["instances"] == {"demo": 4, "other": 2}  # an earlier dataset stays counted
    assert both["data"] == [str(tmp_path / "demo" / "test.jsonl"), str(tmp_path / "other" / "test.jsonl")]
    assert run("demo")["instances"] == {"demo": 6, "other": 2} and len(predicted("demo")) == 6
    assert sorted(p.name for p in out.iterdir()) == [".mnlu-output.json", "demo.jsonl", "other.jsonl", "run.json"]


@pytest.mark.slow
def test_paper_shots_show_demonstrations_for_span_tasks_only(tmp_path, tiny_checkpoint, monkeypatch):
    spans = [ner(f"q{i}", f"fever {i}", [("Disease", "fever")], split="test") for i in range(2)]
    choices = [r for r in fixture_records() if r["task"] == "dc"]
    write_records(tmp_path / "spans" / "test.jsonl", spans)
    write_records(
        tmp_path / "spans" / "train.jsonl",
        [ner(f"t{i}", f"rash {i}", [("Disease", "rash")] * (i % 2)) for i in range(4)],
    )
    write_records(tmp_path / "choices" / "test.jsonl", choices)  # no train split: none is needed
    run_infer(
        monkeypatch,
        "--model",
        tiny_checkpoint,
        "--data",
        tmp_path / "spans" / "test.jsonl",
        tmp_path / "choices" / "test.jsonl",
        "--out",
        tmp_path / "p",
        "--shots",
        "paper",
        "--max-tokens",
        2,
    )
    made = {
        r["id"]: r for name in ("d", choices[0]["dataset"]) for r in read_jsonl_lines(tmp_path / "p" / f"{name}.jsonl")
    }
    assert sorted(made) == sorted(r["id"] for r in spans + choices)
    assert all(len(made[r["id"]]["demonstrations"]) == 2 for r in spans)
    assert all("demonstrations" not in made[r["id"]] for r in choices)
    assert json.loads((tmp_path / "p" / "run.json").read_text())["shots"] == "paper"
    with pytest.raises(
        InputError,
        match=r"choices/train\.jsonl: no such file; --shots draws the demonstrations for " + choices[0]["dataset"],
    ):
        run_infer(
            monkeypatch,
            "--model",
            tiny_checkpoint,
            "--data",
            tmp_path / "choices" / "test.jsonl",
            "--out",
            tmp_path / "q",
            "--shots",
            "2",
        )


def read_jsonl_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_own_text_prints_one_json_answer_per_document(tmp_path, tiny_checkpoint, monkeypatch, capsys):
    texts = tmp_path / "texts.jsonl"
    notes = [
        {"id": "n1", "text": "Cisplatin nephrotoxicity."},
        {"id": "n2", "text": "Fever and cough,\nand a much longer second document\n\nover three lines."},
    ]
    texts.write_text("\n" + json.dumps(notes[0]) + "\n\n  \n" + json.dumps(notes[1]) + "\n\n")
    run_infer(
        monkeypatch,
        "--model",
        tiny_checkpoint,
        "--task",
        "ner",
        "--labels",
        "Disease, Chemical",
        "--input",
        texts,
        "--max-tokens",
        8,
    )
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(a["id"], a["text"]) for a in answers] == [(n["id"], n["text"]) for n in notes]  # input order
    keys = {"id", "text", "prediction", "reached_max_tokens", "unparseable", "spans"}
    assert all(set(a) == keys for a in answers)
    run_infer(
        monkeypatch,
        "--model",
        tiny_checkpoint,
        "--task",
        "qa",
        "--question",
        "Is it renal?",
        "--options",
        "yes,no",
        "--text",
        "Cisplatin nephrotoxicity.",
        "--max-tokens",
        4,
    )
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == {"id", "text", "prediction", "reached_max_tokens", "unparseable", "letters", "answers"}
    assert answer["id"] is None


def test_own_text_output_lines_match_their_input_by_id_with_offsets(tmp_path, tiny_checkpoint, monkeypatch, capsys):
    """The whole own-text path with the model's answers fixed: blank lines skipped, multi-line notes,
    one line per note in input order, offsets into the note, and a span the note does not hold."""
    notes = {
        "n1": "Cisplatin nephrotoxicity.",
        "n2": "History:\nchest\npain after aspirin.\r\nNo fever.",
    }
    answers = {
        "n1": "Disease: nephrotoxicity\nChemical: Cisplatin",
        "n2": "Disease: chest pain...stroke\nChemical: aspirin",
    }
    lines = [json.dumps({"id": i, "text": t}) for i, t in notes.items()]
    texts = tmp_path / "notes.jsonl"
    texts.write_text(f"\n{lines[0]}\n\n\n{lines[1]}\n")

    def fixed_answers(args, model, backend, dtype, device, tokenizer, settings):
        def generate(prompts):
            said = [next(answers[i] for i, t in notes.items() if t in tokenizer.decode(p)) for p in prompts]
            return [tokenizer(a, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for a in said]

        return generate, 1

    infer = load_infer()
    monkeypatch.setattr(infer, "load_backend", fixed_answers)
    argv = ["--model", tiny_checkpoint, "--task", "ner", "--labels", "Disease,Chemical", "--input", texts]
    monkeypatch.setattr(sys, "argv", ["infer.py", *map(str, argv)])
    infer.main()

    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["id"] for a in out] == ["n1", "n2"]
    for a in out:
        assert a["text"] == notes[a["id"]] and a["prediction"] == answers[a["id"]]
        assert a["unparseable"] is False and a["reached_max_tokens"] is False
    assert out[0]["spans"] == [
        {"label": "Disease", "text": "nephrotoxicity", "start": 10, "end": 24, "in_text": True},
        {"label": "Chemical", "text": "Cisplatin", "start": 0, "end": 9, "in_text": True},
    ]
    assert out[1]["spans"] == [
        {"label": "Disease", "text": "chest\npain", "start": 9, "end": 19, "in_text": True},
        {"label": "Disease", "text": "stroke", "start": None, "end": None, "in_text": False},
        {"label": "Chemical", "text": "aspirin", "start": 26, "end": 33, "in_text": True},
    ]
    assert all(notes[a["id"]][s["start"] : s["end"]] == s["text"] for a in out for s in a["spans"] if s["in_text"])
