"""Throughput and peak memory of train.py against a plain Hugging Face Trainer run.

    python bench/train_throughput.py                     # SmolLM2-135M on the demo's training mix
    python bench/train_throughput.py --model toy --steps 20

Both train the same model on the same records for the same number of steps, in fp32 on CPU, with
the same micro-batch, global batch, learning rate and completion-only labels, each launched with
torchrun; the two alternate, `--repeats` times each (interleaved, so a busy spell on a shared
machine hits both), and the medians are shown with their ratios. Models: `smollm2`, the demo's
SmolLM2-135M-Instruct (`python -m demo.model` converts it) trained on the demo's MNLU-Instruct mix
(built here from the demo corpus); `toy`, a 4-layer 256-wide random Llama on the tests' records.
Throughput is real (non-padding) tokens per second over the steps after the first two; peak
memory is the largest resident set of any one process. The Trainer runs with its defaults
otherwise (DDP, full logits, no length grouping). Needs `accelerate` (for the Trainer only;
train.py does not use it).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # helpers.py: the word-level tokenizer and records the tests train on
sys.path.insert(0, str(ROOT))  # demo/ (the demo model and corpus) lives in the checkout


def build_inputs(folder, model):
    """folder/model (a link to the demo model, or a toy model) and folder/data.jsonl."""
    if model == "toy":
        from helpers import make_model_dir, make_records, write_jsonl

        make_model_dir(
            folder / "model",
            family="llama",
            hidden_size=256,
            intermediate_size=688,
            num_hidden_layers=4,
            num_attention_heads=8,
            num_key_value_heads=4,
            max_position_embeddings=1024,
        )
        write_jsonl(folder / "data.jsonl", make_records(400, seed=1, max_words=300))
        return
    from demo.model import demo_model_dir

    (folder / "model").symlink_to(demo_model_dir())
    python = [sys.executable, "-m"]
    for command in (
        ["demo.corpus", "--out", folder / "raw"],
        ["data_builders", "build-instruct", "--raw-dir", folder / "raw", "--out", folder / "instruct"],
        ["data_builders", "mix", "--built", folder / "instruct", "--recipe", "demo", "--out", folder / "data.jsonl"],
    ):
        subprocess.run([*python, *map(str, command)], check=True, capture_output=True, cwd=ROOT)


def launch(cmd):
    """Run a torchrun command; return its wall time and the peak RSS (bytes) of its largest process."""
    wrapper = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
    )
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *map(str, cmd)],
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
    )
    if out.returncode:
        sys.exit(f"{' '.join(map(str, cmd[6:8]))} failed:\n{out.stderr[-4000:]}")
    return time.perf_counter() - t0, int(out.stdout.split()[-1]) * 1024


def hf_worker(args):
    """One rank of the reference run: transformers.Trainer (DDP on gloo), same data and settings."""
    import torch
    import torch.distributed as dist
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments

    from mnlu.data import IGNORE, encode_records, targets_of
    from mnlu.records import read_records

    folder = Path(args.folder)
    tok = AutoTokenizer.from_pretrained(folder / "model")
    examples = encode_records(tok, read_records(folder / "data.jsonl"), progress=False)[0]
    # Trainer shifts labels itself: labels = ids with the prompt masked (targets_of shifted back).
    rows = [
        {"input_ids": ids.long(), "labels": torch.cat([torch.tensor([IGNORE]), targets_of(ids, n)[:-1]])}
        for ids, n in examples
    ]

    def collate(batch):
        width = max(len(r["input_ids"]) for r in batch)
        pad = lambda t, v: torch.cat([t, torch.full((width - len(t),), v)])  # noqa: E731
        return {
            "input_ids": torch.stack([pad(r["input_ids"], tok.pad_token_id) for r in batch]),
            "labels": torch.stack([pad(r["labels"], IGNORE) for r in batch]),
            "attention_mask": torch.stack([pad(torch.ones(len(r["input_ids"]), dtype=torch.long), 0) for r in batch]),
        }

    tokens, times = [], []

    class Counting(Trainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            tokens.append(int(inputs["attention_mask"].sum()))
            return super().training_step(model, inputs, num_items_in_batch)

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            times.append(time.perf_counter())

    training = TrainingArguments(
        output_dir=str(folder / "hf"),
        per_device_train_batch_size=args.micro_batch_size,
        gradient_accumulation_steps=1,
        max_steps=args.steps,
        learning_rate=2e-4,
        warmup_steps=0.1,
        lr_scheduler_type="cosine",
        max_grad_norm=1.0,
        seed=42,
        save_strategy="no",
        report_to=[],
        logging_strategy="no",
        use_cpu=True,
        dataloader_num_workers=0,
        ddp_backend="gloo",
    )
    model = AutoModelForCausalLM.from_pretrained(folder / "model", dtype=torch.float32)
    Counting(model=model, args=training, train_dataset=rows, data_collator=collate, callbacks=[Clock()]).train()
    counted = torch.tensor(float(sum(tokens[2:])))
    dist.all_reduce(counted)
    if dist.get_rank() == 0:
        seconds = times[-1] - times[1]  # steps 3..N, as for train.py
        (folder / "hf.json").write_text(json.dumps({"tokens": counted.item(), "seconds": seconds}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model", choices=("smollm2", "toy"), default="smollm2", help="what to train (default: %(default)s)"
    )
    p.add_argument("--steps", type=int, default=10, help="optimizer steps per run (default: %(default)s)")
    p.add_argument("--nproc", type=int, default=2, help="CPU processes per run (default: %(default)s)")
    p.add_argument(
        "--micro-batch-size", type=int, default=4, help="sequences per forward pass per process (default: %(default)s)"
    )
    p.add_argument(
        "--repeats", type=int, default=3, help="alternated runs of each; medians are shown (default: %(default)s)"
    )
    p.add_argument(
        "--train-option",
        action="append",
        default=[],
        metavar="OPTION",
        help="one more train.py option, e.g. --train-option=--no-activation-checkpointing to weigh "
        "memory against speed (repeatable; default: none; the Trainer runs as before)",
    )
    p.add_argument("--hf-worker", metavar="FOLDER", dest="folder", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.folder:
        return hf_worker(args)

    global_batch = args.micro_batch_size * args.nproc
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(args.nproc)]
    hf_options = ["--steps", args.steps, "--micro-batch-size", args.micro_batch_size]
    runs = {"train.py (FSDP2)": [], "HF Trainer (DDP)": []}  # (tokens/s, peak RSS, wall) of each repeat
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_inputs(folder, args.model)
        for repeat in range(args.repeats):  # alternated, so a busy spell on the machine hits both
            run = folder / f"run{repeat}"
            wall, rss = launch(
                [*torchrun, ROOT / "train.py", "--model", folder / "model", "--data", folder / "data.jsonl"]
                + ["--out", run, "--global-batch-size", global_batch, "--micro-batch-size", args.micro_batch_size]
                + ["--max-steps", args.steps, "--dtype", "fp32", "--export-dtype", "fp32", "--save-every", 10**9]
                + args.train_option
            )
            metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][2:]
            seconds = sum(m["tokens"] / m["tokens_per_s"] for m in metrics)
            runs["train.py (FSDP2)"].append((sum(m["tokens"] for m in metrics) / seconds, rss, wall))
            wall, rss = launch([*torchrun, __file__, "--hf-worker", folder, *hf_options])
            hf = json.loads((folder / "hf.json").read_text())
            runs["HF Trainer (DDP)"].append((hf["tokens"] / hf["seconds"], rss, wall))
    medians = {name: [statistics.median(column) for column in zip(*rows)] for name, rows in runs.items()}

    print(
        f"{args.model}: {args.nproc} CPU processes, fp32, micro-batch {args.micro_batch_size}, global batch"
        f" {global_batch}, {args.steps} steps; medians of {args.repeats} interleaved runs"
        + (f"; train.py {' '.join(args.train_option)}" if args.train_option else "")
    )
    print(f"{'':24}{'tokens/s':>12}{'peak RSS/process':>20}{'wall (launch to exit)':>24}")
    for name, (speed, rss, wall) in medians.items():
        print(f"{name:24}{speed:12.0f}{rss / 2**20:17.0f} MiB{wall:22.1f} s")
    ours, theirs = medians.values()
    print(
        f"{'ratio train.py / HF':24}{ours[0] / theirs[0]:12.2f}{ours[1] / theirs[1]:20.2f}{ours[2] / theirs[2]:24.2f}"
    )


if __name__ == "__main__":
    main()
