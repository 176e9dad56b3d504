"""train.py end to end on CPU/gloo with tiny random models built here.

One-process runs call train.main in this process (no launcher cost); multi-process runs go
through real torchrun launchers. Runs are shared between assertions through module fixtures.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

import train
from helpers import MISTRAL_V1_TEMPLATE, make_model_dir, make_records, word_tokenizer, write_jsonl
from mnlu.chat import ZEPHYR_TEMPLATE, prompt_token_ids, render_prompt
from mnlu.checkpoints import export_hf, latest_checkpoint, load_checkpoint
from mnlu.data import IGNORE, collate, encode_records
from mnlu.distributed import init_distributed, load_sharded_weights, shard_model, teardown
from mnlu.memory import estimate_memory
from mnlu.shards import weight_map

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
# 6 steps of 4 sequences over records of 3 to 40 words: micro-batches of 4 pad heavily.
COMMON = [
    "--global-batch-size",
    "4",
    "--max-steps",
    "6",
    "--save-every",
    "3",
    "--dtype",
    "fp32",
    "--lr",
    "1e-2",
    "--eval-every",
    "3",
    "--eval-size",
    "6",
    "--export-dtype",
    "fp32",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    return {
        "root": root,
        "mistral": make_model_dir(root / "mistral"),
        "llama": make_model_dir(root / "llama", family="llama"),
        "data": write_jsonl(root / "data.jsonl", make_records(40)),
    }


def base_args(setup, out, model="mistral"):
    return ["--model", str(setup[model]), "--data", str(setup["data"]), "--out", str(out)]


def run_in_process(argv):
    train.run(argv)


def torchrun(args, nproc=2, extra=(), wait=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = TORCHRUN + ["--nproc_per_node", str(nproc), *extra, str(ROOT / "train.py"), *args]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    if not wait:
        return proc
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output[-3000:]
    return output


def metrics(out):
    return [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]


def kill_job(launcher):
    """SIGKILL a torchrun job as a scheduler would: the launcher and every worker, mid-run.

    torchrun starts each worker in a session of its own, so killing the launcher alone would
    leave them running.
    """
    workers = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()
    for pid in workers:
        os.killpg(int(pid), signal.SIGKILL)
    os.killpg(launcher.pid, signal.SIGKILL)
    launcher.communicate()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def reference(setup):
    """One process, one micro-batch of 4 per step (heavy padding)."""
    out = setup["root"] / "ref"
    run_in_process(base_args(setup, out) + COMMON + ["--micro-batch-size", "4"])
    return out


@pytest.fixture(scope="module")
def two_procs(setup):
    """torchrun --nproc_per_node 2, micro-batches of 2: the uninterrupted run of the resume test."""
    out = setup["root"] / "two"
    torchrun(base_args(setup, out) + COMMON + ["--micro-batch-size", "2"], extra=["--standalone"])
    return out


def assert_same_trajectory(out_a, out_b, tol=1e-5):
    a, b = metrics(out_a), metrics(out_b)
    assert [m["step"] for m in a] == [m["step"] for m in b] == list(range(1, 7))
    for ma, mb in zip(a, b):
        for key in ("loss", "grad_norm", "eval_loss"):  # grad_norm catches a mis-scaled gradient,
            if key in ma or key in mb:  # which Adam alone would hide
                assert mb[key] == pytest.approx(ma[key], rel=tol, abs=tol), (ma["step"], key)
        assert (ma["tokens"], ma["loss_tokens"]) == (mb["tokens"], mb["loss_tokens"])


# ---- the loss does not depend on the layout of the global batch --------------------------------


@pytest.mark.slow
def test_two_processes_match_one(reference, two_procs):
    assert_same_trajectory(reference, two_procs)
    losses = [m["loss"] for m in metrics(reference)]
    assert losses[-1] < losses[0] - 0.05  # the model does learn: equal losses are not frozen ones


@pytest.mark.slow
def test_accumulation_and_padding_do_not_change_the_loss(setup, reference):
    """4 unpadded micro-batches of 1 (accumulation 4) vs the reference's one padded micro-batch of 4."""
    out = setup["root"] / "accum"
    run_in_process(base_args(setup, out) + COMMON + ["--micro-batch-size", "1"])
    assert_same_trajectory(reference, out)


@pytest.mark.slow
def test_two_nodes_match_one_process(setup, reference):
    out = setup["root"] / "nodes"
    rdzv = [
        "--nnodes",
        "2",
        "--rdzv-backend",
        "c10d",
        "--rdzv-endpoint",
        f"127.0.0.1:{free_port()}",
        "--rdzv-id",
        "mnlu-test",
    ]
    args = base_args(setup, out) + COMMON + ["--micro-batch-size", "2"]
    nodes = [torchrun(args, nproc=1, extra=rdzv, wait=False) for _ in range(2)]
    for node in nodes:
        output, _ = node.communicate(timeout=240)
        assert node.returncode == 0, output[-3000:]
    assert_same_trajectory(reference, out)


@pytest.mark.slow
def test_tied_embeddings_train_the_same_on_two_processes(setup):
    """SmolLM2-style tied embeddings: the shared weight gets both gradients on any layout."""
    args = ["--global-batch-size", "4", "--max-steps", "6", "--dtype", "fp32", "--lr", "1e-2"]
    one, two = setup["root"] / "tied1", setup["root"] / "tied2"
    run_in_process(base_args(setup, one, "llama") + args + ["--micro-batch-size", "4"])
    torchrun(base_args(setup, two, "llama") + args + ["--micro-batch-size", "1"], extra=["--standalone"])
    assert_same_trajectory(one, two)
    exported = load_file(two / "model" / "model.safetensors")
    assert "lm_head.weight" not in exported
    base = load_file(setup["llama"] / "model.safetensors")
    assert not torch.equal(exported["model.embed_tokens.weight"], base["model.embed_tokens.weight"].bfloat16())


# ---- resume -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigkilled_run_resumes_bit_for_bit(setup, two_procs):
    out = setup["root"] / "killed"
    args = base_args(setup, out) + COMMON + ["--micro-batch-size", "2"]
    job = torchrun(args, extra=["--standalone"], wait=False)
    deadline = time.time() + 120
    while latest_checkpoint(out) is None:
        assert job.poll() is None and time.time() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.01)
    kill_job(job)
    assert latest_checkpoint(out).name == "step-000003"
    assert len(metrics(out)) < 6 and not (out / "model").exists(), "the kill came too late"

    torchrun(args + ["--resume"], extra=["--standalone"])
    resumed, uninterrupted = metrics(out), metrics(two_procs)
    assert [m["step"] for m in resumed] == list(range(1, 7))
    for key in ("loss", "grad_norm", "lr", "eval_loss"):
        assert [m.get(key) for m in resumed] == [m.get(key) for m in uninterrupted], key
    final = load_file(out / "model" / "model.safetensors")
    for name, tensor in load_file(two_procs / "model" / "model.safetensors").items():
        assert torch.equal(final[name], tensor), name


def test_resume_refuses_a_changed_trajectory_and_fresh_runs_refuse_old_checkpoints(setup, reference, capsys):
    args = base_args(setup, reference) + COMMON + ["--micro-batch-size", "4"]
    with pytest.raises(SystemExit) as stop:
        run_in_process(args)
    assert stop.value.code == 2
    assert "already holds a run (checkpoints/step-000006); pass --resume" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        run_in_process([a if a != "1e-2" else "1e-3" for a in args] + ["--resume"])
    assert stop.value.code == 2
    assert "was made with --lr 0.01 (preset paper), this run has --lr 0.001 (preset paper)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # the released preset changes five settings; the error says which preset
        run_in_process(args + ["--resume", "--preset", "released"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "with --epochs 3 (preset paper), this run has --epochs 2 (preset released)" in err  # COMMON sets the batch
    assert err.rstrip().endswith("a resumed run must keep it: pass --preset paper and the flags given beside it")


# Two ranks enter _rank0_atomic_directory, as save_checkpoint and export_hf do; each prints how it ended.
RANK0_REFUSES = """
import sys
from datetime import timedelta
import torch.distributed as dist
from mnlu.checkpoints import _rank0_atomic_directory
dist.init_process_group("gloo", timeout=timedelta(seconds=30))
try:
    with _rank0_atomic_directory(sys.argv[1]):
        print("wrote")
except ValueError as e:
    print(f"stopped: {e}")
"""


@pytest.mark.slow
def test_when_rank_0_cannot_write_every_rank_stops(tmp_path):
    """Rank 0 alone checks and renames the folder that every rank writes into: when it refuses (here a
    user's folder in the way), the other ranks hear of it at once instead of waiting for rank 0."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("a user's notes\n")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
    }
    ranks = [
        subprocess.Popen(
            [sys.executable, "-c", RANK0_REFUSES, str(tmp_path / "model")],
            cwd=ROOT,
            env={**env, "RANK": str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    outputs = [rank.communicate(timeout=120)[0] for rank in ranks]
    for output in outputs:
        assert output.startswith(f"stopped: --out {tmp_path / 'model'} is a folder that train.py did not write"), (
            outputs
        )
    assert (tmp_path / "model" / "notes.txt").exists() and not list(tmp_path.glob(".model.*"))


# ---- export -------------------------------------------------------------------------------------


def sharded_model(model_dir, dtype=torch.float32):
    config = AutoModelForCausalLM.from_pretrained(model_dir).config
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model = shard_model(model, dtype, activation_checkpointing=False)
    load_sharded_weights(model, model_dir, torch.device("cpu"))
    return model


def logits_of(model, tokenizer, records):
    examples = encode_records(tokenizer, records, progress=False)[0]
    ids, _, pos = collate([[i] for i in range(len(examples))], examples, tokenizer.pad_token_id)
    with torch.no_grad():
        return model(input_ids=ids, position_ids=pos, use_cache=False).logits


@pytest.mark.slow
def test_export_reloads_with_the_trained_models_logits(setup, reference):
    """The FSDP model restored from the final checkpoint and the exported folder agree."""
    tok, records = word_tokenizer(), make_records(5, seed=7)
    init_distributed()
    try:
        model = sharded_model(setup["mistral"])
        load_checkpoint(latest_checkpoint(reference), model, torch.optim.AdamW(model.parameters()))
        trained = logits_of(model, tok, records)
    finally:
        teardown()
    exported = AutoModelForCausalLM.from_pretrained(reference / "model", dtype=torch.float32)
    torch.testing.assert_close(logits_of(exported, tok, records), trained, rtol=1e-5, atol=1e-5)
    base = AutoModelForCausalLM.from_pretrained(setup["mistral"], dtype=torch.float32)
    assert not torch.allclose(logits_of(base, tok, records), trained, atol=1e-3)  # it did train
    assert set(weight_map(reference / "model")) == set(base.state_dict())  # a small model: one file


def test_tied_model_loads_sharded_and_exports_in_bf16_shards(setup, tmp_path):
    """Meta init + streamed load equals from_pretrained (rotary buffers recomputed, lm_head tied);
    the bf16 export splits into shards, writes the tied weight once and reloads tied."""
    tok, records = word_tokenizer(), make_records(4, seed=5)
    reference = AutoModelForCausalLM.from_pretrained(setup["llama"], dtype=torch.float32)
    init_distributed()
    try:
        model = sharded_model(setup["llama"])
        assert model.lm_head.weight is model.model.embed_tokens.weight
        torch.testing.assert_close(logits_of(model, tok, records), logits_of(reference, tok, records))
        export_hf(tmp_path / "export", model, tok, torch.bfloat16, max_shard_bytes=4000)
    finally:
        teardown()
    index = json.loads((tmp_path / "export" / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) > 1 and files[-1] == f"model-{len(files):05d}-of-{len(files):05d}.safetensors"
    assert "lm_head.weight" not in index["weight_map"]
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "export")
    assert reloaded.dtype == torch.bfloat16
    assert reloaded.lm_head.weight.data_ptr() == reloaded.model.embed_tokens.weight.data_ptr()
    for name, tensor in reference.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], tensor.to(torch.bfloat16)), name
    assert "<|assistant|>" in (tmp_path / "export" / "chat_template.jinja").read_text()


@pytest.mark.parametrize(
    "choice, template, prompt",
    [
        ("tokenizer", MISTRAL_V1_TEMPLATE, "<s> [INST] {} [/INST]"),  # BioMistral-7B-DARE's own
        ("zephyr", ZEPHYR_TEMPLATE, "<|user|>\n{}</s>\n<|assistant|>\n"),  # the released recipe's
    ],
)
def test_infer_renders_prompts_with_the_template_the_model_was_trained_with(choice, template, prompt, setup, tmp_path):
    model = tmp_path / "model"  # a model whose tokenizer carries BioMistral-7B-DARE's template
    make_model_dir(model)
    tok = AutoTokenizer.from_pretrained(model)
    tok.chat_template = MISTRAL_V1_TEMPLATE
    tok.save_pretrained(model)
    out = tmp_path / "run"
    run_in_process(
        ["--model", str(model), "--data", str(setup["data"]), "--out", str(out), "--chat-template", choice]
        + ["--global-batch-size", "4", "--max-steps", "1", "--dtype", "fp32", "--loss", "completion"]
    )
    exported = AutoTokenizer.from_pretrained(out / "model")  # what merge.py copies and infer.py loads
    assert exported.chat_template == template
    assert json.loads((out / "settings.json").read_text())["chat_template"] == choice
    trained_with = AutoTokenizer.from_pretrained(model)
    trained_with.chat_template = template
    for record in make_records(3):
        user = record["messages"][0]["content"]
        at_inference = render_prompt(exported, record["messages"])
        assert at_inference == prompt.format(user)
        ids, n_masked = encode_records(trained_with, [record], progress=False)[0][0]
        assert ids[:n_masked].tolist() == prompt_token_ids(exported, at_inference)  # the prompt trained on


def test_activation_checkpointing_gives_the_same_gradients(setup):
    tok, records = word_tokenizer(), make_records(4, seed=9)
    examples = encode_records(tok, records, progress=False)[0]
    ids, targets, pos = collate([[i] for i in range(len(examples))], examples, tok.pad_token_id)
    grads = []
    init_distributed()
    try:
        for ac in (False, True):
            config = AutoModelForCausalLM.from_pretrained(setup["mistral"]).config
            with torch.device("meta"):
                model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
            model = shard_model(model, torch.float32, activation_checkpointing=ac)
            load_sharded_weights(model, setup["mistral"], torch.device("cpu"))
            logits = model(input_ids=ids, position_ids=pos, use_cache=False).logits
            torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE).backward()
            grads.append({n: p.grad.full_tensor() for n, p in model.named_parameters()})
    finally:
        teardown()
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, rtol=1e-6, atol=1e-7)


# ---- guards and the dry run ---------------------------------------------------------------------


def test_non_finite_steps_are_skipped_and_said(setup, tmp_path, capsys):
    broken = make_model_dir(tmp_path / "broken")
    weights = load_file(broken / "model.safetensors")
    weights["model.norm.weight"][0] = float("nan")
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    out = tmp_path / "run"
    run_in_process(
        [
            "--model",
            str(broken),
            "--data",
            str(setup["data"]),
            "--out",
            str(out),
            "--global-batch-size",
            "4",
            "--micro-batch-size",
            "4",
            "--max-steps",
            "2",
            "--dtype",
            "fp32",
            "--export-dtype",
            "fp32",
        ]
    )
    assert [m.get("skipped") for m in metrics(out)] == [True, True]
    assert "step 1: loss nan or gradient norm nan is not finite; optimizer step skipped" in capsys.readouterr().out
    # the skipped steps left the weights untouched
    exported = load_file(out / "model" / "model.safetensors")
    for name, tensor in weights.items():
        torch.testing.assert_close(exported[name], tensor, rtol=0, atol=0, equal_nan=True)


def test_packed_run_trains_on_sequences_of_several_records(setup, tmp_path):
    out = tmp_path / "packed"
    run_in_process(
        base_args(setup, out)
        + [
            "--pack",
            "--max-seq-len",
            "128",
            "--global-batch-size",
            "2",
            "--micro-batch-size",
            "1",
            "--max-steps",
            "3",
            "--dtype",
            "fp32",
        ]
    )
    longest = max(len(e[0]) for e in encode_records(word_tokenizer(), make_records(40), progress=False)[0])
    steps = metrics(out)
    assert len(steps) == 3 and all(m["tokens"] <= 2 * 128 for m in steps)
    assert max(m["tokens"] for m in steps) > 2 * longest  # two sequences hold more than two records


def test_a_missing_weight_is_named(setup, tmp_path, capsys):
    broken = make_model_dir(tmp_path / "broken")
    weights = load_file(broken / "model.safetensors")
    del weights["model.norm.weight"]
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(SystemExit):
        run_in_process(
            [
                "--model",
                str(broken),
                "--data",
                str(setup["data"]),
                "--out",
                str(tmp_path / "run"),
                "--global-batch-size",
                "4",
                "--dtype",
                "fp32",
            ]
        )
    assert f"{broken}: tensor model.norm.weight is missing from the checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing is written before every input has been read


def test_a_bad_model_or_data_path_is_one_line(setup, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_in_process(
            ["--model", str(tmp_path / "nowhere"), "--data", str(setup["data"]), "--out", str(tmp_path / "run")]
        )
    assert f"train.py: error: {tmp_path / 'nowhere'}: no such model folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_in_process(
            ["--model", str(setup["mistral"]), "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "run")]
        )
    assert f"train.py: error: {tmp_path / 'none.jsonl'}: No such file or directory" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_global_batch_that_does_not_split_over_the_ranks_is_refused(setup, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_in_process(base_args(setup, tmp_path) + ["--global-batch-size", "6", "--dry-run", "--world-size", "4"])
    assert "--global-batch-size 6 does not split over 4 ranks: choose a multiple of 4" in capsys.readouterr().err


@pytest.mark.parametrize(
    "global_batch, micro, ranks, fitted",
    [
        (16, 4, 1, 4),
        (16, 4, 4, 4),
        (16, 4, 8, 2),
        (16, 4, 16, 1),
        (64, 16, 8, 8),
        (8, 4, 2, 4),
        (6, 4, 1, 3),
        (6, 4, 4, None),
    ],
)
def test_the_micro_batch_is_lowered_until_the_global_batch_splits_evenly(global_batch, micro, ranks, fitted):
    assert train.fit_micro_batch(global_batch, micro, ranks) == fitted
    if fitted:
        assert global_batch % (fitted * ranks) == 0 and fitted <= micro


@pytest.mark.parametrize("ranks", [1, 2, 4, 8, 16])
def test_the_papers_recipe_plans_on_1_to_16_gpus_as_the_docs_write_it(ranks, setup, tmp_path, capsys):
    data = write_jsonl(tmp_path / "many.jsonl", make_records(64))
    run_in_process(
        ["--model", str(setup["mistral"]), "--data", str(data), "--out", str(tmp_path / "dry")]
        + ["--preset", "paper", "--dry-run", "--world-size", str(ranks)]
    )
    printed = capsys.readouterr().out
    micro = min(4, 16 // ranks)
    assert f"of 16 sequences = {micro} x {16 // (micro * ranks)} accumulation x {ranks} ranks" in printed
    assert ("lowered to" in printed) == (micro != 4)


def test_the_export_dtype_follows_the_base_model_unless_given():
    from transformers import MistralConfig

    assert train.export_dtype("auto", MistralConfig(dtype="bfloat16")) == torch.bfloat16
    assert train.export_dtype("auto", MistralConfig(dtype="float16")) == torch.float16
    assert train.export_dtype("auto", MistralConfig()) == torch.float32  # no dtype named: transformers' default
    assert train.export_dtype("bf16", MistralConfig(dtype="float32")) == torch.bfloat16


def test_the_fused_adamw_steps_as_the_recipes_adamw_written_out():
    """train.py's AdamW is fused on every device; its steps are the recipes' AdamW (lr, betas 0.9 and
    0.999, eps 1e-8, decoupled weight decay) as torch's plain per-tensor loop computes it."""
    args = train.parse_args(["--model", "m", "--data", "d", "--out", "o", "--weight-decay", "0.1"])
    torch.manual_seed(0)
    fused, plain = torch.nn.Linear(8, 8), torch.nn.Linear(8, 8)
    plain.load_state_dict(fused.state_dict())
    start = fused.weight.detach().clone()
    optimizers = [
        train.adamw(fused, args),
        torch.optim.AdamW(plain.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, foreach=False),
    ]
    assert optimizers[0].defaults["fused"] is True
    for _ in range(3):
        x = torch.randn(4, 8)
        for model, optimizer in zip((fused, plain), optimizers):
            optimizer.zero_grad()
            model(x).pow(2).sum().backward()
            optimizer.step()
    for a, b in zip(fused.parameters(), plain.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-8)
    assert not torch.equal(fused.weight, start)  # the steps did move it


def test_dry_run_prints_the_plan_and_memory_without_training(setup, tmp_path, capsys):
    run_in_process(
        base_args(setup, tmp_path / "dry")
        + [
            "--dry-run",
            "--world-size",
            "2",
            "--global-batch-size",
            "4",
            "--micro-batch-size",
            "1",
            "--pack",
            "--max-seq-len",
            "64",
        ]
    )
    printed = capsys.readouterr().out
    assert "of 4 sequences = 1 x 2 accumulation x 2 ranks" in printed
    assert "micro-batch 1 x 64 tokens" in printed and "total, checkpointing" in printed
    assert not (tmp_path / "dry").exists()


def test_memory_estimate_by_hand():
    config = make_config_like_mistral_7b()
    n = 7_241_732_096  # Mistral-7B's parameter count
    est = estimate_memory(config, n, world_size=4, micro_batch_size=4, seq_len=2048, compute_bytes=2)
    assert est["parameters (fp32 shard)"] == est["gradients (fp32 shard)"] == n  # 4 bytes x n / 4
    assert est["AdamW states (2 x fp32 shard)"] == 2 * n
    tokens = 4 * 2048
    per_layer = 2 * (6 * 4096 + 2 * 1024 + 4 * 14336) + 16 * 4096
    assert est["activations, no checkpointing"] == 32 * tokens * per_layer
    assert est["activations, checkpointing"] == 32 * tokens * 2 * 4096 + tokens * per_layer
    assert est["logits of one loss chunk (fp32)"] == 1024 * 32000 * 10  # mnlu.loss: 1,024 tokens at a time
    root = 32000 * 4096 * 2  # untied embedding and head
    assert est["gathered embedding and head"] == 2 * root
    assert est["unsharded gradients (fp32)"] == 4 * (n / 32 + root)


def make_config_like_mistral_7b():
    from transformers import MistralConfig

    return MistralConfig(
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        vocab_size=32000,
    )


# The two recipes as their sources state them: the paper's text, and the released alignment-handbook
# config (per-device batch 16, no accumulation, 4 GPUs; packing into 2,048 tokens; loss on every token).
# The paper defers the rest to the handbook's defaults, which keep a tokenizer's own chat template;
# the released config sets the Zephyr template.
PAPER = dict(
    lr=2e-4,
    epochs=3,
    global_batch_size=16,
    micro_batch_size=4,
    pack=False,
    loss="completion",
    chat_template="tokenizer",
)
RELEASED = dict(
    lr=2e-5, epochs=2, global_batch_size=64, micro_batch_size=16, pack=True, loss="full", chat_template="zephyr"
)


def test_each_step_logs_the_peak_memory_of_every_rank(reference, two_procs):
    import resource

    peaks = [m["peak_rss_gib"][0] for m in metrics(reference)]
    assert all(len(m["peak_rss_gib"]) == 1 for m in metrics(reference))
    assert peaks == sorted(peaks) and 0.1 < peaks[0]  # a running peak; a process holding torch is over 100 MiB
    assert peaks[-1] <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # the run was this process
    for rank in (0, 1):  # two processes: each rank's own running peak
        peaks = [m["peak_rss_gib"][rank] for m in metrics(two_procs)]
        assert peaks == sorted(peaks) and 0.1 < peaks[0]


@pytest.mark.slow
def test_a_ranks_memory_is_its_share_of_the_model_not_the_logits(tmp_path):
    # A 50,000-entry vocabulary on a small model: the logits of one micro-batch of ~4 x 300 tokens are
    # 240 MB in fp32, more with their softmax and gradients, while the model is 26 MB.
    model = make_model_dir(tmp_path / "model", family="llama", vocab_size=50_000, hidden_size=128)
    write_jsonl(tmp_path / "data.jsonl", make_records(16, seed=3, max_words=300))
    model_bytes = 4 * sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model).parameters())
    args = ["--model", str(model), "--data", str(tmp_path / "data.jsonl"), "--out", str(tmp_path / "run")]
    torchrun(args + ["--global-batch-size", "8", "--micro-batch-size", "4", "--max-steps", "2", "--dtype", "fp32"])
    probe = "import resource, torch.distributed, train; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    baseline = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT).stdout)
    peaks = metrics(tmp_path / "run")[-1]["peak_rss_gib"]
    increments = [peak * 2**30 - baseline * 1024 for peak in peaks]
    print(f"model {model_bytes / 2**20:.0f} MiB; per-rank peaks above an idle process: {increments} bytes")
    # weights, gradients and the 2 AdamW states (shards), the gathered model, activations, the data:
    # about 4.6 model copies; computed from the whole micro-batch's logits, rank 0 took 27
    assert len(peaks) == 2 and max(increments) < 8 * model_bytes


def test_the_run_folder_keeps_the_settings_it_ran_with(reference):
    settings = json.loads((reference / "settings.json").read_text())
    assert settings["preset"] == "paper" and settings["lr"] == 1e-2  # COMMON's flag beside the preset
    assert (settings["global_batch_size"], settings["micro_batch_size"], settings["max_steps"]) == (4, 4, 6)
    assert (settings["loss"], settings["pack"], settings["max_seq_len"]) == ("completion", False, 2048)


@pytest.mark.parametrize("preset, expected", [(None, PAPER), ("paper", PAPER), ("released", RELEASED)])
def test_a_preset_sets_its_whole_recipe(preset, expected):
    args = train.parse_args(["--model", "m", "--data", "d", "--out", "o"] + (["--preset", preset] if preset else []))
    assert {k: getattr(args, k) for k in expected} == expected
    assert (args.max_seq_len, args.warmup_ratio, args.seed, args.grad_clip) == (2048, 0.1, 42, 1.0)


def test_flags_given_beside_a_preset_win_and_the_rest_stay_the_presets():
    args = train.parse_args(
        ["--model", "m", "--data", "d", "--out", "o", "--preset", "released", "--no-pack", "--lr", "1e-5"]
    )
    assert (args.pack, args.lr) == (False, 1e-5)
    assert {k: getattr(args, k) for k in RELEASED if k not in ("pack", "lr")} == {
        k: v for k, v in RELEASED.items() if k not in ("pack", "lr")
    }


@pytest.mark.parametrize("preset", ["paper", "released"])
def test_a_presets_dry_run_prints_its_settings_and_the_plan_for_4_gpus(preset, setup, tmp_path, capsys):
    data = write_jsonl(tmp_path / "many.jsonl", make_records(4000))  # enough for one packed global batch of 64
    out = tmp_path / "dry"
    run_in_process(
        ["--model", str(setup["mistral"]), "--data", str(data), "--out", str(out), "--preset", preset]
        + ["--dry-run", "--world-size", "4"]
    )
    printed = capsys.readouterr().out
    settings = next(line for line in printed.splitlines() if line.startswith("settings: "))
    if preset == "paper":
        flags = {"--lr 0.0002", "--warmup-ratio 0.1", "--loss completion", "--no-pack", "--max-seq-len 2048"}
        assert "of 16 sequences = 4 x 1 accumulation x 4 ranks" in printed
    else:
        flags = {"--lr 2e-05", "--warmup-ratio 0.1", "--loss full", "--pack", "--max-seq-len 2048"}
        assert "of 64 sequences = 16 x 1 accumulation x 4 ranks" in printed
        assert "micro-batch 16 x 2048 tokens" in printed
    words = settings.removeprefix("settings: ").split(" --")
    assert flags <= {"--" + w.removeprefix("--") for w in words}
    assert "--activation-checkpointing" in settings  # a plan for GPUs, where checkpointing is the default
    assert "per-GPU memory estimate for 4 GPUs" in printed and "total, checkpointing" in printed
    assert not out.exists()


def test_mfu_by_hand():
    from mnlu.flops import mfu, peak_flops, training_flops

    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12 and peak_flops("NVIDIA H100 PCIe") == 756e12
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12 and peak_flops("NVIDIA GeForce RTX 4090") is None
    # one step of the paper's recipe: 16 sequences of 512 tokens through a 7.24 B, 32 x 4096 model
    flops = training_flops(7_241_732_096, 32, 4096, 16 * 512, 512)
    assert flops == 16 * 512 * (6 * 7_241_732_096 + 12 * 32 * 4096 * 512)
    assert mfu(flops, 1.0, 312e12, 4) == pytest.approx(flops / 1.248e15)


def test_attention_is_flex_on_gpus_and_sdpa_on_cpu(setup, tmp_path, capsys):
    run_in_process(base_args(setup, tmp_path / "dry") + ["--dry-run"])
    assert "--attention sdpa" in capsys.readouterr().out  # auto, on this CPU
    run_in_process(base_args(setup, tmp_path / "dry") + ["--dry-run", "--world-size", "4"])
    assert "--attention flex_attention" in capsys.readouterr().out  # a plan for GPUs
    with pytest.raises(SystemExit):
        run_in_process(base_args(setup, tmp_path / "run") + ["--attention", "flex_attention"])
    assert "--attention flex_attention needs CUDA" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
