"""merge.py and mnlu.dare on tiny checkpoints written here, against a dense reference written here."""

import hashlib
import importlib.util
import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from mnlu.cli import InputError
from mnlu.dare import dare_, keep_mask, mask_generator, merge_entries
from mnlu.shards import INDEX_FILE, SINGLE_FILE, Checkpoint

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("merge_script", ROOT / "merge.py")
merge = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(merge)


def save_checkpoint(directory, tensors, config=None, **files):
    directory.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, directory / SINGLE_FILE, metadata={"format": "pt"})
    (directory / "config.json").write_text(json.dumps(config or {"model_type": "llama"}))
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def load(directory):
    checkpoint = Checkpoint(directory)
    return {name: checkpoint.get(name) for name in checkpoint.specs}


def run(base, finetuned, out, *options):
    merge.main(["--base", str(base), "--finetuned", *map(str, finetuned), "--out", str(out), *map(str, options)])
    return load(out)


def reference_mask_keep(seed, model_index, name, shape, drop_rate):
    """The documented mask rule, restated: drop entry j when rand[j] < p, per (seed, model, name)."""
    seed64 = int.from_bytes(hashlib.sha256(f"{seed}:{model_index}:{name}".encode()).digest()[:8], "little")
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed64)) >= drop_rate


def reference_merge(base, finetuned, weights, drop_rate, seed, method="dare_linear", normalize=False):
    """Dense DARE over whole state dicts, entry by entry in float64, straight from the definition."""
    merged = {}
    for name, b in base.items():
        b64 = b.double()
        taus, contributes = [], []
        for i, (model, w) in enumerate(zip(finetuned, weights)):
            delta = model[name][: b.shape[0]].double() - b64 if b.dim() else model[name].double() - b64
            keep = reference_mask_keep(seed, i, name, b.shape, drop_rate)
            taus.append(w * torch.where(keep, delta / (1 - drop_rate), torch.zeros_like(delta)))
        if method == "dare_linear":
            contributes = [torch.ones_like(t, dtype=torch.bool) for t in taus]
        else:
            elected_positive = sum(taus) >= 0
            contributes = [torch.where(elected_positive, t > 0, t < 0) for t in taus]
        total = sum(torch.where(c, t, 0.0) for c, t in zip(contributes, taus))
        if normalize:
            divisor = sum(torch.where(c, w, 0.0) for c, w in zip(contributes, weights))
            total = total / torch.where(divisor == 0, 1.0, divisor)
        merged[name] = (b64 + total).to(b.dtype)
    return merged


def random_tensors(seed, dtype=torch.float32, shapes=None):
    g = torch.Generator().manual_seed(seed)
    shapes = shapes or {
        "embed.weight": (32, 8),
        "layers.0.w": (8, 8),
        "layers.1.w": (8, 24),
        "norm.weight": (8,),
    }
    return {name: torch.randn(shape, generator=g).to(dtype) for name, shape in shapes.items()}


def assert_same_bits(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
        assert torch.equal(a[name].view(torch.uint8), b[name].view(torch.uint8)), name


# ---------------------------------------------------------------------------------------------
# The arithmetic


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_no_drop_weight_one_gives_the_finetuned_weights_bit_exactly(tmp_path, dtype):
    base = random_tensors(0, dtype)
    # independent draws: opposite signs and different magnitudes, where fp32 subtraction would round
    finetuned = {
        name: (t.double() * torch.logspace(-3, 3, t.numel()).reshape(t.shape)).to(dtype)
        for name, t in random_tensors(1, dtype).items()
    }
    finetuned["norm.weight"][:3] = 0
    b, f = save_checkpoint(tmp_path / "base", base), save_checkpoint(tmp_path / "ft", finetuned)
    assert_same_bits(run(b, [f], tmp_path / "out", "--drop-rate", 0, "--weight", 1), finetuned)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_no_drop_half_weight_gives_the_midpoint(tmp_path, dtype):
    base, finetuned = random_tensors(0, dtype), random_tensors(1, dtype)
    b, f = save_checkpoint(tmp_path / "base", base), save_checkpoint(tmp_path / "ft", finetuned)
    midpoint = {name: ((base[name].double() + finetuned[name].double()) / 2).to(dtype) for name in base}
    assert_same_bits(run(b, [f], tmp_path / "out", "--drop-rate", 0, "--weight", 0.5), midpoint)


@pytest.mark.parametrize("method", ["dare_linear", "dare_ties"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_merge_entries_leaves_its_inputs_untouched(dtype, method):
    g = torch.Generator().manual_seed(0)
    base, models = (
        torch.randn(100, generator=g, dtype=dtype),
        [torch.randn(100, generator=g, dtype=dtype)] * 2,
    )
    copies = [t.clone() for t in (base, *models)]
    keeps = [keep_mask(100, 0.5, mask_generator(0, i, "w")) for i in range(2)]
    merge_entries(base, models, keeps, [0.5, 0.5], 0.5, method, normalize=True)
    assert all(torch.equal(a, b) for a, b in zip((base, *models), copies))


@pytest.mark.parametrize("drop_rate", [0.2, 0.5, 0.9])
def test_kept_fraction_is_within_three_standard_deviations(drop_rate):
    n = 1_000_000
    kept = keep_mask(n, drop_rate, mask_generator(0, 0, "w")).count_nonzero().item()
    assert abs(kept / n - (1 - drop_rate)) <= 3 * math.sqrt(drop_rate * (1 - drop_rate) / n)


@pytest.mark.parametrize("drop_rate", [0.2, 0.3, 0.75])
def test_kept_entries_are_delta_over_keep_probability_exactly_in_fp32(drop_rate):
    delta = torch.randn(100_000, generator=torch.Generator().manual_seed(3))
    keep = keep_mask(delta.shape, drop_rate, mask_generator(5, 0, "w"))
    assert torch.equal(keep, reference_mask_keep(5, 0, "w", delta.shape, drop_rate))
    out, keep = dare_(delta.clone(), keep, drop_rate).numpy(), keep.numpy()
    expected = delta.numpy() / np.float32(1 - drop_rate)  # IEEE fp32 division, computed by numpy
    assert out.dtype == np.float32
    assert np.array_equal(out[keep], expected[keep])
    assert np.all(out[~keep] == 0) and 0 < keep.sum() < keep.size


def test_mean_over_many_seeds_converges_to_base_plus_weight_times_delta():
    g = torch.Generator().manual_seed(0)
    base, delta = (
        torch.randn(2000, generator=g, dtype=torch.float64),
        torch.randn(2000, generator=g, dtype=torch.float64),
    )
    p, w, seeds = 0.2, 0.5, 2000
    total = torch.zeros_like(base)
    for seed in range(seeds):
        keep = keep_mask(base.shape, p, mask_generator(seed, 0, "w"))
        total += merge_entries(base, [base + delta], [keep], [w], p, "dare_linear")
    mean = total / seeds
    # each entry: w * delta * Bernoulli(1-p)/(1-p) has standard deviation w |delta| sqrt(p / (1-p))
    z = (mean - (base + w * delta)) / (w * delta.abs() * math.sqrt(p / (1 - p)) / math.sqrt(seeds))
    assert z.abs().max() < 5 and abs(z.mean()) < 5 / math.sqrt(z.numel())


def test_ties_sign_election_on_a_hand_computed_three_model_example(tmp_path):
    base = {"w": torch.ones(7)}
    deltas = [[1, -2, 3, 0, 1, -1, 1], [-4, 2, 2, 2, -2, 1, -2], [1, 1, -1, -1, 1, 0.5, 0]]
    weights = [1, 0.5, 2]
    # tau = w * delta:      [1,-2,3,0,1,-1,1]  [-2,1,1,1,-1,.5,-1]  [2,2,-2,-2,2,1,0]
    # sum [1,1,2,-1,2,.5,0] elects + + + - + + + (a zero sum elects +); zeros never agree
    # agreeing sums [3,3,4,-2,3,1.5,1]; weights of agreeing models [3,2.5,1.5,2,3,2.5,1]
    models = [
        save_checkpoint(tmp_path / f"ft{i}", {"w": 1 + torch.tensor(d, dtype=torch.float32)})
        for i, d in enumerate(deltas)
    ]
    b = save_checkpoint(tmp_path / "base", base)
    args = ["--drop-rate", 0, "--weight", *weights, "--method", "dare_ties"]
    assert torch.equal(run(b, models, tmp_path / "ties", *args)["w"], torch.tensor([4, 4, 5, -1, 4, 2.5, 2]))
    normalized = run(b, models, tmp_path / "ties_norm", *args, "--normalize")["w"]
    expected = torch.tensor(
        [1 + 3 / 3, 1 + 3 / 2.5, 1 + 4 / 1.5, 1 - 2 / 2, 1 + 3 / 3, 1 + 1.5 / 2.5, 1 + 1 / 1],
        dtype=torch.float64,
    ).float()
    assert torch.equal(normalized, expected)
    linear = run(b, models, tmp_path / "linear", "--drop-rate", 0, "--weight", *weights)["w"]
    assert torch.equal(linear, torch.tensor([2, 2, 3, 0, 3, 1.5, 1.0]))


def test_ties_and_linear_agree_with_one_model_but_not_with_three(tmp_path):
    base = random_tensors(0)
    b = save_checkpoint(tmp_path / "base", base)
    models = [save_checkpoint(tmp_path / f"ft{i}", random_tensors(i + 1)) for i in range(3)]
    one = ["--drop-rate", 0.5, "--weight", 0.5, "--seed", 3]
    assert_same_bits(
        run(b, models[:1], tmp_path / "l1", *one),
        run(b, models[:1], tmp_path / "t1", *one, "--method", "dare_ties"),
    )
    three_linear = run(b, models, tmp_path / "l3", *one)
    three_ties = run(b, models, tmp_path / "t3", *one, "--method", "dare_ties")
    finetuned = [load(m) for m in models]
    assert_same_bits(three_linear, reference_merge(base, finetuned, [0.5] * 3, 0.5, 3))
    assert_same_bits(three_ties, reference_merge(base, finetuned, [0.5] * 3, 0.5, 3, "dare_ties"))
    assert not torch.equal(three_linear["embed.weight"], three_ties["embed.weight"])


# ---------------------------------------------------------------------------------------------
# Files: determinism, real models, refusals, atomicity


def test_same_seed_gives_identical_files_whatever_shard_size_and_threads(tmp_path):
    shapes = {f"layers.{i}.{part}": (16, 24) for i in range(6) for part in ("q", "k", "v")}
    b = save_checkpoint(tmp_path / "base", random_tensors(0, shapes=shapes))
    f = save_checkpoint(tmp_path / "ft", random_tensors(1, shapes=shapes))
    runs = {(shard, threads): tmp_path / f"out_{shard}_{threads}" for shard in ("5GB", "4KB") for threads in (1, 4)}
    for (shard, threads), out in runs.items():
        run(b, [f], out, "--seed", 7, "--shard-size", shard, "--threads", threads)
    for shard in ("5GB", "4KB"):
        files = sorted(p.name for p in runs[shard, 1].glob("model*"))
        assert files == sorted(p.name for p in runs[shard, 4].glob("model*"))
        assert all((runs[shard, 1] / n).read_bytes() == (runs[shard, 4] / n).read_bytes() for n in files)
    assert (runs["4KB", 1] / INDEX_FILE).exists() and len(list(runs["4KB", 1].glob("model-*"))) > 3
    assert_same_bits(load(runs["5GB", 1]), load(runs["4KB", 4]))
    other_seed = run(b, [f], tmp_path / "seed8", "--seed", 8)
    assert not torch.equal(other_seed["layers.0.q"], load(runs["5GB", 1])["layers.0.q"])


def test_slice_size_changes_no_bit_and_masks_follow_the_whole_tensor_rule(tmp_path, monkeypatch):
    # 7 entries per slice: slices straddle rows and tensors end mid-slice; the bits must not move
    shapes = {"embed.weight": (13, 6), "layers.0.w": (5, 5), "norm.weight": (3,)}
    base, ft = random_tensors(0, shapes=shapes), random_tensors(1, shapes=shapes)
    b, f = save_checkpoint(tmp_path / "base", base), save_checkpoint(tmp_path / "ft", ft)
    whole = run(b, [f], tmp_path / "whole", "--seed", 3, "--drop-rate", 0.4)
    monkeypatch.setattr(merge, "CHUNK", 7)
    sliced = run(b, [f], tmp_path / "sliced", "--seed", 3, "--drop-rate", 0.4, "--threads", 2)
    assert_same_bits(whole, sliced)
    assert_same_bits(sliced, reference_merge(base, [ft], [0.5], 0.4, 3))


@pytest.mark.parametrize("tied", [False, True])
def test_merged_model_loads_with_from_pretrained_and_matches_the_dense_reference(tmp_path, tied):
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=96,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=tied,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(tmp_path / "base")
    base = {k: v.clone() for k, v in model.state_dict().items()}
    finetuned = []
    for i in range(2):
        with torch.no_grad():
            for name, param in model.named_parameters():
                param.copy_(base[name] + 0.01 * torch.randn_like(param))
        model.save_pretrained(tmp_path / f"ft{i}")
        finetuned.append(load(tmp_path / f"ft{i}"))
    on_disk = load(tmp_path / "base")
    assert ("lm_head.weight" in on_disk) is not tied

    merged_dir = tmp_path / "merged"
    run(
        tmp_path / "base",
        [tmp_path / "ft0", tmp_path / "ft1"],
        merged_dir,
        "--drop-rate",
        0.3,
        "--weight",
        0.6,
        0.4,
        "--seed",
        11,
    )
    reference = reference_merge(on_disk, finetuned, [0.6, 0.4], 0.3, 11)
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
    state = merged.state_dict()
    for name, tensor in reference.items():
        assert torch.equal(state[name], tensor), name
    if tied:
        assert merged.lm_head.weight.data_ptr() == merged.model.embed_tokens.weight.data_ptr()
    else:
        assert torch.equal(state["lm_head.weight"], reference["lm_head.weight"])
    dense = LlamaForCausalLM(config)
    dense.load_state_dict({**reference, **({"lm_head.weight": reference["model.embed_tokens.weight"]} if tied else {})})
    tokens = torch.arange(10).reshape(1, 10)
    with torch.no_grad():
        assert torch.equal(merged(tokens).logits, dense.eval()(tokens).logits)


def test_merge_records_its_parameters_and_copies_side_files_from_the_chosen_model(tmp_path):
    b = save_checkpoint(tmp_path / "base", random_tensors(0), {"from": "base"}, **{"tokenizer_config.json": "base"})
    f = save_checkpoint(
        tmp_path / "ft",
        random_tensors(1),
        {"from": "ft"},
        **{"tokenizer_config.json": "ft", "optimizer.pt": "not copied"},
    )
    out = tmp_path / "out"
    run(b, [f], out, "--seed", 4)
    assert json.loads((out / "config.json").read_text()) == {"from": "ft"}
    assert (out / "tokenizer_config.json").read_text() == "ft" and not (out / "optimizer.pt").exists()
    record = json.loads((out / "merge_config.json").read_text())
    assert (record["method"], record["drop_rate"], record["weights"], record["seed"]) == (
        "dare_linear",
        0.2,
        [0.5],
        4,
    )
    with safe_open(out / SINGLE_FILE, "pt") as handle:
        assert json.loads(handle.metadata()["mnlu_merge"])["seed"] == 4
    recorded = {"hashlib": hashlib, "torch": torch, "Sequence": Sequence}  # the recorded code, run on its own
    for lines in record["mask_rule"].values():
        exec("\n".join(lines), recorded)
    for name, tensor in random_tensors(0).items():
        keep = recorded["keep_mask"](tensor.shape, 0.2, recorded["mask_generator"](4, 0, name))
        assert torch.equal(keep, reference_mask_keep(4, 0, name, tensor.shape, 0.2)), name
    run(b, [f], out, "--tokenizer-from", "base", "--overwrite")
    assert (out / "tokenizer_config.json").read_text() == "base"


def test_mismatched_models_are_refused_with_a_message_naming_the_tensor(tmp_path):
    base = random_tensors(0)
    b = save_checkpoint(tmp_path / "base", base)
    cases = {
        "extra": ({**base, "extra.weight": torch.zeros(2)}, r"1 tensors only in it, e.g. 'extra.weight'"),
        "missing": (
            {k: v for k, v in base.items() if k != "norm.weight"},
            r"only in the base, e.g. 'norm.weight'",
        ),
        "shape": (
            {**base, "layers.0.w": torch.zeros(8, 9)},
            r"'layers.0.w' has shape \[8, 9\], the base's is \[8, 8\]$",
        ),
        "dtype": (
            {**base, "norm.weight": base["norm.weight"].half()},
            r"'norm.weight' is torch.float16, the base's is torch.float32",
        ),
        "vocab": (
            {**base, "embed.weight": torch.zeros(33, 8)},
            r"'embed.weight' .*\(added tokens\? see --vocab truncate\)",
        ),
        "tied": (
            {**base, "lm_head.weight": torch.zeros(32, 8)},
            r"'lm_head.weight' \(tied embeddings in one model only\?\)",
        ),
    }
    for case, (tensors, message) in cases.items():
        f = save_checkpoint(tmp_path / case, tensors)
        with pytest.raises(InputError, match=message):
            run(b, [f], tmp_path / f"out_{case}")
        assert not (tmp_path / f"out_{case}").exists()


def test_vocab_truncate_keeps_the_base_rows_and_needs_the_base_tokenizer(tmp_path, capsys):
    base = random_tensors(0)
    finetuned = random_tensors(
        1, shapes={"embed.weight": (34, 8), "layers.0.w": (8, 8), "layers.1.w": (8, 24), "norm.weight": (8,)}
    )
    b, f = save_checkpoint(tmp_path / "base", base), save_checkpoint(tmp_path / "ft", finetuned)
    with pytest.raises(SystemExit):
        run(b, [f], tmp_path / "out", "--vocab", "truncate")
    assert "add --tokenizer-from base" in capsys.readouterr().err
    merged = run(b, [f], tmp_path / "out", "--vocab", "truncate", "--tokenizer-from", "base", "--seed", 2)
    assert merged["embed.weight"].shape == (32, 8)
    assert_same_bits(merged, reference_merge(base, [finetuned], [0.5], 0.2, 2))
    assert json.loads((tmp_path / "out" / "merge_config.json").read_text())["truncated_rows"] == ["embed.weight"]


def test_dry_run_lists_tensors_and_size_and_writes_nothing(tmp_path, capsys):
    b = save_checkpoint(tmp_path / "base", random_tensors(0))
    f = save_checkpoint(tmp_path / "ft", random_tensors(1))
    merge.main(
        [
            "--base",
            str(b),
            "--finetuned",
            str(f),
            "--out",
            str(tmp_path / "out"),
            "--dry-run",
            "--shard-size",
            "1050B",
        ]
    )
    printed = capsys.readouterr().out
    assert "embed.weight" in printed and "[32, 8]" in printed
    size = sum(t.numel() * 4 for t in random_tensors(0).values())
    assert f"4 tensors, {merge.human(size)} in 3 shard(s)" in printed  # [embed 1024 B] [layers 256 + 768 B] [norm 32 B]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "ft"]


def test_a_failing_merge_leaves_no_output_and_keeps_the_previous_one(tmp_path, monkeypatch):
    b = save_checkpoint(tmp_path / "base", random_tensors(0))
    f = save_checkpoint(tmp_path / "ft", random_tensors(1))
    out = tmp_path / "out"
    previous = run(b, [f], out, "--seed", 1)
    calls = []

    def fail_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return merge_entries(*args, **kwargs)

    monkeypatch.setattr(merge, "merge_entries", fail_on_third)
    with pytest.raises(RuntimeError, match="killed"):
        run(b, [f], out, "--seed", 2, "--overwrite", "--threads", 1)
    assert_same_bits(load(out), previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "ft", "out"]
    with pytest.raises(InputError, match="holds an earlier merge; pass --overwrite to replace it"):
        run(b, [f], out)
    with pytest.raises(InputError, match=f"--out {f} holds the input {f}"):
        run(b, [f], f, "--overwrite")


def test_command_line_errors_are_one_line_and_exit_2(tmp_path):
    b = save_checkpoint(tmp_path / "base", random_tensors(0))
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "merge.py"),
            "--base",
            str(b),
            "--finetuned",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"merge.py: error: {tmp_path / 'nope'}: no such model folder"


# ---------------------------------------------------------------------------------------------
# Memory


@pytest.mark.slow
def test_peak_memory_stays_below_half_the_largest_tensor(tmp_path):
    # ~300 MB of fp32 weights, largest tensor 64 MiB; written tensor by tensor to keep this process small
    shapes = {
        "embed.weight": (4096, 4096),
        **{f"layers.{i}.w": (2048, 4096) for i in range(6)},
        "norm.weight": (4096,),
    }
    for directory, seed in (("base", 0), ("ft", 1)):
        g = torch.Generator().manual_seed(seed)
        (tmp_path / directory).mkdir()
        names = sorted(shapes)
        for k, name in enumerate(names):
            save_file(
                {name: torch.randn(shapes[name], generator=g)},
                tmp_path / directory / f"part{k}.safetensors",
                metadata={"format": "pt"},
            )
        index = {"metadata": {}, "weight_map": {name: f"part{k}.safetensors" for k, name in enumerate(names)}}
        (tmp_path / directory / INDEX_FILE).write_text(json.dumps(index))
        (tmp_path / directory / "config.json").write_text("{}")
    largest = 4096 * 4096 * 4
    script = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("merge_script", {str(ROOT / "merge.py")!r})
        merge = importlib.util.module_from_spec(spec); spec.loader.exec_module(merge)
        def kib(field):
            return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field + ":"))
        before = kib("VmRSS")
        open("/proc/self/clear_refs", "w").write("5")  # resets VmHWM to the current RSS
        merge.main(["--base", {str(tmp_path / "base")!r}, "--finetuned", {str(tmp_path / "ft")!r},
                    "--out", {str(tmp_path / "out")!r}, "--threads", "2", "--shard-size", "100MB"])
        print("PEAK_INCREMENT", (kib("VmHWM") - before) * 1024)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    increment = int(result.stdout.split("PEAK_INCREMENT")[1])
    total = sum(math.prod(s) * 4 for s in shapes.values())
    print(
        f"checkpoint {total / 2**20:.0f} MiB, largest tensor {largest / 2**20:.0f} MiB, "
        f"peak RSS increment {increment / 2**20:.0f} MiB"
    )
    # each worker holds a few slices of merge.CHUNK entries (a few MiB), never a whole tensor
    assert increment < largest / 2
    assert len(list((tmp_path / "out").glob("model-*.safetensors"))) == 4
