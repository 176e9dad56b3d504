"""make reproduce-small: the paper's claim at small scale, on real release files, every score with its interval.

    MNLU_RAW=/path/to/releases python -m scripts.reproduce_small    # from the repository root

Does instruction tuning on MNLU-Instruct make a model better, zero-shot, on datasets it never
saw? The paper's experiment, scaled to SmolLM2-135M-Instruct on a CPU:

1. data       the evaluation sets whose release files are present (dev splits, never trained on)
              and an MNLU-Instruct mix of recipe `small` from the instruction sources present,
              evaluation texts excluded
2. base       the paper's baseline (2-shot on span tasks, zero-shot on choice tasks) and the base
              model zero-shot throughout (they differ on span tasks only)
3. fine-tune  torchrun --nproc_per_node 2 train.py (gloo, fp32 on CPU)
4. merge      the paper's base + 0.5 x DARE(fine-tuned - base) (other weights: --merge-weights)
5. evaluate   the fine-tuned and merged models zero-shot, then evaluate.py on every system: each
              score with its 95% interval, each system's paired difference to the paper's baseline

Every stage is the documented command line, printed before it runs; a finished stage is skipped,
so a killed run resumes. Everything lands in --out; the results (scores, paired differences, the
commands, time and memory per stage, the figure) are written into --results between its
`reproduce_small` markers, leaving the text around them as it is.
"""

import argparse
import json
import os
import shutil
from pathlib import Path

from demo.model import CACHE_DIR, ROOT
from demo.stages import PYTHON, TORCHRUN, Stages, build_mix, shell
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.cli import FINITE, InputError, run_main
from mnlu.fileio import atomic_write, claim_output_folder
from mnlu.records import SPAN_TASKS
from mnlu.shots import paper_shots_can_answer

TOOL = "reproduce_small"  # the name in --out's marker file
BEGIN, END = "<!-- reproduce_small: begin -->", "<!-- reproduce_small: end -->"

# The scale, in one place: sized for 2 CPU cores and about an hour (docs/results.md has the times).
LIMIT = 200  # dev instances per dataset (the whole split where it is smaller)
MAX_TOKENS = 48  # a choice answer, a sentence's entities (a few five-type JNLPBA answers run longer)
# One or more per task type. Left out to fit the hour: BC2GM and BC5CDR-disease (more NER of the same
# kind), EBM-PICO (answers of ~165 tokens over abstracts), BioASQ (passages up to 9,000 characters),
# ChemProt and DDI (pass them with --datasets).
DATASETS = ["ncbi_disease", "bc5cdr_chem", "jnlpba", "gad", "hoc", "pubmedqa", "biosses"]
MERGE_WEIGHTS = [0.5]  # the paper's; docs/results.md has 1.0 beside it (--merge-weights 0.5 1.0, 10 more minutes)
DEFAULT_OUT = ROOT / "runs" / "reproduce-small"
TRAIN = ["--epochs", "1", "--global-batch-size", "4", "--micro-batch-size", "2", "--lr", "1e-4", "--save-every", "40"]


def main():
    args = parse_args()
    claim_output_folder(args.out, TOOL)  # every stage writes below it; a user's own folder is refused
    stages = Stages(TOOL, args.out / "stages.json")
    model = CACHE_DIR
    stages.run("convert the demo model", [PYTHON, "-m", "demo.model"], model / "model.safetensors")
    dev_sets = build_data(args, stages)
    systems = run_models(args, stages, model, dev_sets)
    report = args.out / "report"
    stages.run(
        "evaluate",
        [PYTHON, "evaluate.py", *(args.out / "preds" / s for s in systems), "--out", report, "--plot"],
    )
    write_results(args.results, report, stages, dev_sets, args.raw, rerun_command(args))
    print(f"\nwrote {os.path.relpath(args.results, ROOT)} and {os.path.relpath(figure_path(args.results), ROOT)}")
    print(stages.table())


def build_data(args, stages):
    """1. release files -> evaluation records and the training mix. Returns the dev files built."""
    raw, data = args.out / "raw", args.out / "data"
    builders = [PYTHON, "-m", "data_builders"]
    stages.run("link real release files", [PYTHON, "scripts/link_raw.py", args.raw, "--out", raw])  # seconds
    stages.run(
        "build evaluation sets",
        [*builders, "build", "--raw-dir", raw, "--out", data / "eval", "--only", *args.datasets]
        + ["--split", "train", "dev"],  # seconds; both run every time, as a dataset's files may have been added
    )
    build_mix(stages, raw, data, "small")
    dev_sets = [data / "eval" / d / "dev.jsonl" for d in args.datasets if (data / "eval" / d / "dev.jsonl").exists()]
    if not dev_sets:
        raise InputError(f"--raw {args.raw}: no dev split of the evaluation datasets {', '.join(args.datasets)}")
    return dev_sets


def run_models(args, stages, model, dev_sets):
    """2-4. the base twice, the fine-tune, the merges and their answers. Returns the systems, baseline first."""
    out, preds = args.out, args.out / "preds"
    infer = [PYTHON, "infer.py", "--limit", LIMIT, "--max-tokens", MAX_TOKENS]
    no_shots = without_demonstrations(dev_sets)
    with_shots = [f for f in dev_sets if f not in no_shots]
    stages.run(
        "base, the paper's baseline",
        [*infer, "--data", *with_shots, "--model", model, "--shots", "paper"] + ["--out", preds / "base-paper"],
    )
    span_sets = [f for f in dev_sets if task_of(f) in SPAN_TASKS]  # choice tasks: the same run as above
    stages.run("base, zero-shot", [*infer, "--data", *span_sets, "--model", model, "--out", preds / "base-zero-shot"])
    stages.run(
        "fine-tune",
        [TORCHRUN, "--nproc_per_node", 2, "train.py", "--model", model, "--data", out / "data" / "mix.jsonl"]
        + ["--out", out / "train", "--dtype", "fp32", "--export-dtype", "fp32", *TRAIN, "--resume"],
        out / "train" / "model",
    )
    systems = ["base-paper", "base-zero-shot", "fine-tuned"]
    stages.run(
        "fine-tuned inference",
        [*infer, "--data", *dev_sets, "--model", out / "train" / "model"] + ["--out", preds / "fine-tuned"],
    )
    for weight in args.merge_weights:
        merged = out / f"merged-{weight}"
        stages.run(
            f"merge, weight {weight}",
            [PYTHON, "merge.py", "--base", model, "--finetuned", out / "train" / "model", "--weight", weight]
            + ["--out", merged],
            merged,
        )
        stages.run(
            f"merged {weight} inference",
            [*infer, "--data", *dev_sets, "--model", merged] + ["--out", preds / f"merged-{weight}"],
        )
        systems.append(f"merged-{weight}")
    return systems


def without_demonstrations(dev_sets):
    """The span sets with no train split beside them: the paper's 2-shot baseline draws its demonstrations there."""
    return [f for f in dev_sets if not paper_shots_can_answer(f)]


def task_of(dev_file):
    with open(dev_file, encoding="utf-8") as f:
        return json.loads(f.readline())["task"]


def rerun_command(args):
    """This script's command line as the results need it: the options that change what runs, where not default."""
    command = [PYTHON, "-m", "scripts.reproduce_small"]
    if args.datasets != DATASETS:
        command += ["--datasets", *args.datasets]
    if args.merge_weights != MERGE_WEIGHTS:
        command += ["--merge-weights", *args.merge_weights]
    if args.out != DEFAULT_OUT:
        command += ["--out", args.out]
    return shell(command)


def write_results(path, report, stages, dev_sets, raw, rerun):
    """(Re)write the generated block of `path`: the report's scores and differences, the commands (all of
    them run by `rerun`), the stages."""
    text = (report / "report.md").read_text(encoding="utf-8")
    scores = text[text.index("\n") : text.index("## Completeness")].strip()  # after the title, before the counts
    cut = section(text, "Answers cut at the token limit")  # MAX_TOKENS cuts a few long answers: say how many
    no_shots = [f.parent.name for f in without_demonstrations(dev_sets)]
    shutil.copyfile(report / "report.png", figure_path(path))
    # the copy of the releases is shown as $MNLU_RAW: where it lies is the reader's own business
    commands = [shell(["$MNLU_RAW" if c == raw else c for c in command]) for command in stages.commands]
    block = "\n\n".join(
        [
            BEGIN,
            "## Scores",
            f"SmolLM2-135M-Instruct; the first {LIMIT} dev instances of each dataset (all of a smaller split), "
            f"{MAX_TOKENS} new tokens at most; {len(dev_sets)} datasets. `base-paper` is the paper's baseline "
            "(2-shot on span tasks, zero-shot on choice tasks), `base-zero-shot` the base model zero-shot on "
            "the span tasks (on choice tasks it is `base-paper`), `merged-W` the base + W x DARE merge."
            + (
                f" No train split to draw demonstrations from, so no `base-paper` score: {', '.join(no_shots)}."
                if no_shots
                else ""
            ),
            (scores + ("\n\n" + cut if cut else "")).replace("\n## ", "\n### "),
            f"![scores per dataset]({figure_path(path).name})",
            "## Commands",
            f"Run from the repository root, in this order (`{rerun}` runs them all, with `MNLU_RAW` set):",
            "```bash\n" + "\n".join(commands) + "\n```",
            "## Time and memory per stage",
            f"{os.cpu_count()} CPU cores; wall minutes of each stage, summed over every run of it (a resumed "
            "stage, and the reload of a finished infer.py stage on a rerun, add to its time):",
            stages.table(),
            END,
        ]
    )
    with atomic_write(path) as f:
        f.write(spliced(path, block))


def section(markdown, heading):
    """The `## heading` section of `markdown`, up to the next `## ` heading; '' when it has none."""
    start = markdown.find(f"\n## {heading}\n")
    if start == -1:
        return ""
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None].strip()


def spliced(path, block):
    """The text of `path` with `block` between its markers, or after its text when it has none."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Results\n\n"
    begin, end = old.find(BEGIN), old.find(END)
    if begin == end == -1:
        return old.rstrip("\n") + "\n\n" + block + "\n"
    if begin == -1 or end < begin:
        raise InputError(f"{path}: its {BEGIN} and {END} markers are not a pair; mend them by hand")
    return old[:begin] + block + old[end + len(END) :]


def figure_path(results):
    return results.with_name("results.png")


def parse_args():
    p = argparse.ArgumentParser(
        prog="python -m scripts.reproduce_small",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--raw",
        type=Path,
        default=os.environ.get("MNLU_RAW") or None,
        help="real release files: RAW/<dataset id>/ folders, or a copy with eval_release_dirs.json beside it "
        "(scripts/link_raw.py) (default: $MNLU_RAW)",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=DATASETS,
        choices=EVAL_DATASETS,
        metavar="ID",
        help=f"evaluation datasets, those present are used (default: {' '.join(DATASETS)})",
    )
    p.add_argument(
        "--merge-weights",
        nargs="+",
        type=FINITE,
        default=MERGE_WEIGHTS,
        metavar="W",
        help="DARE merge weights, one merged model each (default: 0.5, the paper's)",
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for everything it makes (default: %(default)s)"
    )
    p.add_argument(
        "--results",
        type=Path,
        default=ROOT / "docs" / "results.md",
        help="the Markdown file whose reproduce_small block is (re)written; results.png lands beside it"
        " (default: %(default)s)",
    )
    args = p.parse_args()
    if args.raw is None:
        p.error("needs the real release files: --raw, or MNLU_RAW (scripts/link_raw.py says which)")
    if len(set(args.merge_weights)) < len(args.merge_weights):
        p.error("--merge-weights: each weight once (each names its merged model's folder)")
    args.out, args.raw, args.results = args.out.resolve(), args.raw.resolve(), args.results.resolve()
    return args


if __name__ == "__main__":
    run_main(TOOL, main)
