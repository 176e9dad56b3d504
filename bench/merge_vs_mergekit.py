"""merge.py against mergekit's dare_linear on the same base / fine-tuned pair, and a plain copy.

    python bench/merge_vs_mergekit.py                  # ~340 MB bf16 random Llama, p = 0.2, weight 0.5

Builds a random Llama checkpoint and a perturbed copy of it, then times, each in its own process:
a file copy of the checkpoint (the I/O floor: a merge reads two checkpoints and writes one),
merge.py at several thread counts, and `mergekit-yaml` with the equivalent dare_linear config
(density 0.8, weight 0.5). mergekit lives in a throwaway virtual environment under --workdir,
created on first use with this project's torch first so pip does not pull a CUDA build; if it
cannot be installed the script says so and still prints the other rows. Files are read from the
page cache (all were just written), so the figures compare compute and write paths, not disks.

Wall and CPU time are the whole process's, start-up included; GB/s is checkpoint size / wall time; peak RSS is
the process's high-water resident memory (mergekit's counts the shard files it keeps mapped).
The two tools' merges differ entry by entry (independent random masks; mergekit >= 0.1 rescales
to match L1 norms rather than dividing by 1 - p), so the last rows check each only against the
expectation base + 0.5 * delta.
"""

import argparse
import json
import os
import shutil
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


def build_models(workdir, layers, hidden, vocab):
    """A random bf16 Llama and a copy with every weight nudged: a base and a 'fine-tuned' model."""
    from transformers import LlamaConfig, LlamaForCausalLM

    base_dir, ft_dir = workdir / "base", workdir / "finetuned"
    if (ft_dir / "config.json").exists():
        return base_dir, ft_dir
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=hidden * 11 // 4,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64,
        num_key_value_heads=hidden // 256,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(base_dir)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * param.float().std().to(param.dtype) * 0.1)
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


def timed(command, repeat, before=lambda: None):
    """(wall seconds, CPU seconds, peak RSS bytes) of the fastest of `repeat` runs of `command`.

    Each run is its own process, after `before()`. CPU time is the figure least disturbed by other
    work on a shared machine; wall time is what a user waits.
    """
    runs = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", MEASURE, *map(str, command)], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode:
            raise SystemExit(f"{command[0]} failed:\n{result.stderr}")
        rss_kib, cpu_seconds = result.stdout.split()[-2:]
        runs.append((seconds, float(cpu_seconds), int(rss_kib) * 1024))
    return min(runs)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / ".cache" / "bench-merge",
        help="folder for the models, the merges and mergekit's environment; models already there are reused"
        " (default: %(default)s)",
    )
    parser.add_argument("--layers", type=int, default=8, help="layers of the random Llama (default: %(default)s)")
    parser.add_argument("--hidden", type=int, default=1024, help="its hidden size (default: %(default)s)")
    parser.add_argument("--vocab", type=int, default=32000, help="its vocabulary size (default: %(default)s)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2, 4], help="merge.py --threads values to time (default: 1 2 4)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per row, the fastest shown, as shared machines are noisy (default: %(default)s)",
    )
    parser.add_argument("--skip-mergekit", action="store_true", help="time merge.py and the copy only")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    base_dir, ft_dir = build_models(args.workdir, args.layers, args.hidden, args.vocab)
    size = Checkpoint(base_dir).nbytes
    print(
        f"checkpoint: {size / 1e6:.0f} MB bf16, {len(Checkpoint(base_dir).specs)} tensors;"
        f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; best of {args.repeat};"
        " merge = base + 0.5 * DARE_0.2(finetuned - base)"
    )

    rows, outputs = [], {}
    copy_dir = args.workdir / "copy"
    rows.append(
        (
            "cp -r (I/O floor)",
            *timed(
                ["cp", "-r", base_dir, copy_dir],
                args.repeat,
                lambda: shutil.rmtree(copy_dir, ignore_errors=True),
            ),
        )
    )
    for threads in args.threads:
        out = args.workdir / f"ours-{threads}"
        command = [
            sys.executable,
            ROOT / "merge.py",
            "--base",
            base_dir,
            "--finetuned",
            ft_dir,
            "--out",
            out,
            "--drop-rate",
            "0.2",
            "--weight",
            "0.5",
            "--seed",
            "0",
            "--threads",
            threads,
            "--overwrite",
        ]
        rows.append((f"merge.py --threads {threads}", *timed(command, args.repeat)))
        outputs[f"merge.py --threads {threads}"] = out
    exe = None if args.skip_mergekit else mergekit_env(args.workdir)
    if exe:
        config = args.workdir / "dare_linear.yml"
        config.write_text(
            json.dumps(
                {  # JSON is YAML
                    "models": [
                        {"model": str(base_dir)},
                        {"model": str(ft_dir), "parameters": {"density": 0.8, "weight": 0.5}},
                    ],
                    "merge_method": "dare_linear",
                    "base_model": str(base_dir),
                    "dtype": "bfloat16",
                }
            )
        )
        out = args.workdir / "mergekit"
        command = [
            exe,
            config,
            out,
            "--random-seed",
            "0",
            "--no-copy-tokenizer",
            "--no-write-model-card",
            "--quiet",
        ]
        rows.append(
            (
                "mergekit-yaml dare_linear",
                *timed(command, args.repeat, lambda: shutil.rmtree(out, ignore_errors=True)),
            )
        )
        outputs["mergekit-yaml dare_linear"] = out

    print(f"\n{'run':28s} {'wall s':>8s} {'CPU s':>7s} {'peak RSS MiB':>13s} {'GB/s':>7s} {'vs cp':>6s}")
    floor = rows[0][1]
    for name, seconds, cpu_seconds, rss in rows:
        print(
            f"{name:28s} {seconds:8.2f} {cpu_seconds:7.2f} {rss / 2**20:13.0f} {size / 1e9 / seconds:7.3f}"
            f" {seconds / floor:6.1f}x"
        )
    print("\nmean |merged - (base + 0.5 delta)| / mean |0.5 delta|, DARE's noise (expected 2p = 0.4 for p = 0.2):")
    for name, out in outputs.items():
        if name.endswith("--threads 1") or name.startswith("mergekit"):
            print(f"  {name:28s} {distance_to_expectation(base_dir, ft_dir, out, 0.5):.4f}")


if __name__ == "__main__":
    main()
