"""Tokens/s of the batched hf backend against one prompt at a time: same prompts, model and settings.

    python bench/infer_throughput.py                    # the demo model on the demo's evaluation prompts
    python bench/infer_throughput.py --model DIR --data out/hoc/test.jsonl --limit 64 --batch-size 32

By default the prompts are the questions `python -m demo` asks its fine-tuned and merged models
(zero-shot, at most 48 new tokens): the dev splits of the demo's six evaluation datasets, built from
the bundled corpus into a temporary folder, the first --limit records of each. Both ways run
mnlu.generate.greedy_generate: batched, the prompts sorted longest first and cut into --batch-size
batches as infer.py does; one at a time, each prompt alone. The two ways alternate --repeats times,
so load from other processes falls on both alike, and the medians are printed. Answers that differ
between the two ways are counted (expected: none in float32).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # demo/ (the demo model and corpus) lives in the checkout, not in the installed packages

import infer  # noqa: E402
from data_builders.eval import EVAL_BUILDERS  # noqa: E402
from data_builders.eval.build import build_dataset  # noqa: E402
from demo.__main__ import EVAL, MAX_TOKENS  # noqa: E402
from demo.corpus import write_demo_corpus  # noqa: E402
from demo.model import demo_model_dir  # noqa: E402
from mnlu.chat import prompt_token_ids, render_prompt  # noqa: E402
from mnlu.generate import greedy_generate, load_hf_model, sampling_settings  # noqa: E402
from mnlu.records import read_records  # noqa: E402


def main():
    args = parse_args()
    model_dir = args.model or demo_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = load_hf_model(model_dir, getattr(torch, args.dtype), "cuda" if torch.cuda.is_available() else "cpu")
    settings = sampling_settings(tokenizer, args.max_tokens)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    records = read_files(args.data, args.limit) if args.data else demo_records(args.limit)
    prompts = sorted(
        (prompt_token_ids(tokenizer, render_prompt(tokenizer, r["messages"])) for r in records), key=len, reverse=True
    )
    print(
        f"{model_dir}: {len(prompts)} prompts of {min(map(len, prompts))}-{max(map(len, prompts))} tokens, "
        f"max {args.max_tokens} new tokens, {args.dtype}, {torch.get_num_threads()} threads, {args.repeats} repeats"
    )
    size = args.batch_size
    ways = {
        "one at a time": lambda: [greedy_generate(model, [p], settings, pad_id)[0] for p in prompts],
        f"batched ({size})": lambda: [
            out
            for i in range(0, len(prompts), size)
            for out in greedy_generate(model, prompts[i : i + size], settings, pad_id)
        ],
    }
    greedy_generate(model, prompts[:2], {**settings, "max_tokens": 2}, pad_id)  # warm-up
    seconds, answers = {way: [] for way in ways}, {way: [] for way in ways}
    for _ in range(args.repeats):
        for way, run in ways.items():
            start = time.perf_counter()
            answers[way].append(run())
            seconds[way].append(time.perf_counter() - start)
    report(seconds, answers)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model folder (default: the demo model, SmolLM2-135M-Instruct)")
    p.add_argument(
        "--data", nargs="+", type=Path, help="unified-format test files (default: the demo's evaluation dev splits)"
    )
    p.add_argument("--limit", type=int, default=8, help="the first N records of each dataset (default: %(default)s)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=infer.parser().get_default("batch_size"),
        help="prompts per batch of the batched way (default: infer.py's, %(default)s)",
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        default=MAX_TOKENS,
        help="most new tokens per answer (default: the demo's, %(default)s)",
    )
    p.add_argument(
        "--dtype", choices=("float32", "bfloat16"), default="float32", help="model dtype (default: %(default)s)"
    )
    p.add_argument("--repeats", type=int, default=3, help="runs of each way, alternating (default: %(default)s)")
    return p.parse_args()


def report(seconds, answers):
    """Median tokens/s and wall time of each way, the speed-up, and the prompts answered differently."""
    median = {way: statistics.median(s) for way, s in seconds.items()}
    for way in seconds:
        tokens = sum(map(len, answers[way][0]))
        print(f"{way:<14}: {tokens / median[way]:8.1f} tokens/s ({median[way]:.1f} s, median)")
    alone, batched = median.values()
    print(f"{'speed-up':<14}: {alone / batched:8.2f}x")
    runs = [run for way_runs in answers.values() for run in way_runs]
    differ = sum(len({tuple(run[i]) for run in runs}) > 1 for i in range(len(runs[0])))
    print(f"answers that differ between the two ways: {differ} of {len(runs[0])}")


def read_files(paths, limit):
    """The first `limit` records of each file."""
    return [record for path in paths for record in list(read_records(path))[:limit]]


def demo_records(limit):
    """The first `limit` dev records of each of the demo's evaluation datasets, built from the bundled corpus."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        write_demo_corpus(raw)
        return [
            record
            for dataset in EVAL
            for record in build_dataset(dataset, EVAL_BUILDERS[dataset], raw / dataset, ["dev"])["dev"][1][:limit]
        ]


if __name__ == "__main__":
    main()
