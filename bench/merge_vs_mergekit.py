"""merge.py against mergekit's dare_linear on the same base / fine-tuned pairs, and a plain copy.

    python bench/merge_vs_mergekit.py                 # a 1.9 GB fp32 random Llama and SmolLM2-135M fp32
    python bench/merge_vs_mergekit.py --pairs smollm2 --repeats 5

Each pair is a base and a "fine-tuned" copy with every weight nudged: a random Llama (36 layers,
hidden 1024, 471M parameters, 1.9 GB in fp32) and the demo's SmolLM2-135M-Instruct (0.5 GB in
fp32; `python -m demo.model` converts it). For each pair, every repeat runs, each in its own
process and one after the other (interleaved, so a busy spell on a shared machine hits all of
them): `cp -r` of the base (the floor: a merge reads two checkpoints and writes one), merge.py
with its defaults (one worker per CPU core), and `mergekit-yaml` with the equivalent dare_linear
config (density 0.8, weight 0.5, the pair's dtype). The table shows medians: wall and CPU seconds
of the whole process (start-up included), its peak RSS, and the ratios of merge.py to mergekit.
mergekit lives in a throwaway virtual environment under --workdir, created on first use with this
project's torch so pip does not pull a CUDA build; if it cannot be installed the script says so
and still prints the other rows. Files are read from the page cache (all were just written), so
the figures compare compute and write paths, not disks; merge.py also syncs its output to disk
before it returns (mergekit and cp do not).

The two tools' merges differ entry by entry (independent random masks; mergekit >= 0.1 rescales
to match L1 norms rather than dividing by 1 - p), so the last rows check each only against the
expectation base + 0.5 * delta.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnlu.shards import Checkpoint  # noqa: E402

# Runs a command and reports its own peak RSS (KiB) and CPU seconds: RUSAGE_CHILDREN of a fresh wrapper
# describes just this one child.
MEASURE = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
    " stderr=subprocess.PIPE, text=True); sys.stderr.write(r.stderr[-3000:] if r.returncode else '');"
    " u = resource.getrusage(resource.RUSAGE_CHILDREN); print(u.ru_maxrss, u.ru_utime + u.ru_stime);"
    " sys.exit(r.returncode)"
)
PAIRS = ("llama-1.9gb", "smollm2")


def build_pair(workdir, pair):
    """(base folder, fine-tuned folder) of `pair`, built once: a model and a copy with every weight nudged."""
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    base_dir, ft_dir = workdir / pair / "base", workdir / pair / "finetuned"
    if (ft_dir / "config.json").exists():
        return base_dir, ft_dir
    torch.manual_seed(0)
    if pair == "smollm2":
        from demo.model import demo_model_dir

        model = AutoModelForCausalLM.from_pretrained(demo_model_dir(), dtype=torch.float32)
    else:
        config = LlamaConfig(
            vocab_size=32000,
            hidden_size=1024,
            intermediate_size=2816,
            num_hidden_layers=36,
            num_attention_heads=16,
            num_key_value_heads=4,
            tie_word_embeddings=False,
        )
        model = LlamaForCausalLM(config)
    model.save_pretrained(base_dir)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * param.std() * 0.1)
    model.save_pretrained(ft_dir)
    return base_dir, ft_dir


def mergekit_env(workdir):
    """Path of mergekit-yaml in a throwaway venv (created on first use), or None with the reason printed."""
    venv = workdir / "mergekit-venv"
    exe = venv / "bin" / "mergekit-yaml"
    if exe.exists():
        return exe
    print(f"installing mergekit into {venv} (once) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, f"torch=={torch.__version__.split('+')[0]}"], check=True, capture_output=True)
        subprocess.run([*pip, "mergekit"], check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        print(
            f"mergekit could not be installed ({e.cmd[-1]}: {(e.stderr or b'').decode()[-300:].strip()});"
            " its row is skipped"
        )
        return None
    return exe


def commands(base_dir, ft_dir, out_dir, mergekit):
    """{row name: (command, output folder)}: the copy, merge.py and, when installed, mergekit."""
    rows = {
        "cp -r (floor)": (["cp", "-r", base_dir, out_dir / "copy"], out_dir / "copy"),
        "merge.py": (
            [
                sys.executable,
                ROOT / "merge.py",
                *("--base", base_dir, "--finetuned", ft_dir, "--out", out_dir / "mnlu"),
                *("--drop-rate", "0.2", "--weight", "0.5", "--seed", "0"),
            ],
            out_dir / "mnlu",
        ),
    }
    if mergekit:
        config = out_dir / "dare_linear.yml"
        dtype = str(next(iter(Checkpoint(base_dir).specs.values())).dtype).removeprefix("torch.")
        models = [{"model": str(base_dir)}, {"model": str(ft_dir), "parameters": {"density": 0.8, "weight": 0.5}}]
        recipe = {"models": models, "merge_method": "dare_linear", "base_model": str(base_dir), "dtype": dtype}
        config.write_text(json.dumps(recipe))  # JSON is YAML
        command = [mergekit, config, out_dir / "mergekit", "--random-seed", "0", "--no-copy-tokenizer"]
        rows["mergekit-yaml dare_linear"] = ([*command, "--no-write-model-card", "--quiet"], out_dir / "mergekit")
    return rows


def run_once(command, out):
    """(wall seconds, CPU seconds, peak RSS bytes) of `command` in its own process, `out` removed first."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", MEASURE, *map(str, command)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"{command[0]} failed:\n{result.stderr}")
    rss_kib, cpu_seconds = result.stdout.split()[-2:]
    return seconds, float(cpu_seconds), int(rss_kib) * 1024


def distance_to_expectation(base_dir, ft_dir, merged_dir, weight):
    """Mean |merged - (base + w * delta)| / mean |w * delta| over all tensors: 2p for DARE at drop rate p."""
    base, ft, merged = Checkpoint(base_dir), Checkpoint(ft_dir), Checkpoint(merged_dir)
    error = scale = 0.0
    for name in base.specs:
        b = base.get(name).double()
        delta = weight * (ft.get(name).double() - b)
        error += (merged.get(name).double() - b - delta).abs().sum().item()
        scale += delta.abs().sum().item()
    return error / scale


def report(pair, size, runs, repeats):
    """The medians of each row, and merge.py's ratios to mergekit and to the copy."""
    print(f"\n{pair}: {size / 1e9:.2f} GB per checkpoint; medians of {repeats} interleaved runs")
    print(f"{'run':28s} {'wall s':>8s} {'CPU s':>7s} {'peak RSS MiB':>13s} {'GB/s':>7s}")
    medians = {name: [statistics.median(column) for column in zip(*rows)] for name, rows in runs.items()}
    for name, (seconds, cpu_seconds, rss) in medians.items():
        print(f"{name:28s} {seconds:8.2f} {cpu_seconds:7.2f} {rss / 2**20:13.0f} {size / 1e9 / seconds:7.3f}")
    ours = medians["merge.py"]
    for name in ("mergekit-yaml dare_linear", "cp -r (floor)"):
        if name in medians:
            wall, cpu, rss = (a / b for a, b in zip(ours, medians[name]))
            print(f"merge.py / {name}: wall {wall:.2f}x, CPU {cpu:.2f}x, peak RSS {rss:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / ".cache" / "bench-merge",
        help="folder for the models, the merges and mergekit's environment; models already there are reused"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--pairs", nargs="+", choices=PAIRS, default=list(PAIRS), help="the pairs to merge (default: both)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved runs of each row; medians are shown (default: %(default)s)"
    )
    parser.add_argument("--skip-mergekit", action="store_true", help="time merge.py and the copy only")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    mergekit = None if args.skip_mergekit else mergekit_env(args.workdir)
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start;"
        " merge = base + 0.5 * DARE_0.2(finetuned - base)"
    )
    for pair in args.pairs:
        base_dir, ft_dir = build_pair(args.workdir, pair)
        rows = commands(base_dir, ft_dir, args.workdir / pair, mergekit)
        runs = {name: [] for name in rows}
        for _ in range(args.repeats):
            for name, (command, out) in rows.items():
                runs[name].append(run_once(command, out))
        report(pair, Checkpoint(base_dir).nbytes, runs, args.repeats)
        print("mean |merged - (base + 0.5 delta)| / mean |0.5 delta| (DARE's noise; 2p = 0.4 expected for p = 0.2):")
        for name, (_, out) in rows.items():
            if not name.startswith("cp"):
                print(f"  {name:28s} {distance_to_expectation(base_dir, ft_dir, out, 0.5):.4f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
