"""Tokens/s of the batched hf backend against one-at-a-time generation, same prompts, same model.

    python bench/infer_throughput.py                      # the demo model on the fixture instances
    python bench/infer_throughput.py --model DIR --data out/hoc/test.jsonl --limit 64 --batch-size 16

Both runs use mnlu.generate.greedy_generate with the same sampling settings; the batched run sorts
prompts by length first, as infer.py does. It also counts answers that differ between the two
runs (expected: none in float32).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer

from mnlu.chat import prompt_token_ids, render_prompt
from mnlu.generate import greedy_generate, load_hf_model, sampling_settings
from mnlu.records import read_records
from mnlu.tasks import make_record

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # demo/ (the demo model) lives in the checkout, not in the installed packages
FIXTURES = ROOT / "tests" / "fixtures" / "unified_format.json"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model folder (default: the demo model, SmolLM2-135M-Instruct)")
    p.add_argument("--data", type=Path, help="a unified-format test file (default: the fixture instances)")
    p.add_argument("--limit", type=int, default=32, help="number of prompts (default: %(default)s)")
    p.add_argument(
        "--batch-size", type=int, default=16, help="prompts per batch of the batched run (default: %(default)s)"
    )
    p.add_argument("--max-tokens", type=int, default=32, help="most new tokens per answer (default: %(default)s)")
    p.add_argument(
        "--dtype", choices=("float32", "bfloat16"), default="float32", help="model dtype (default: %(default)s)"
    )
    args = p.parse_args()

    if args.model is None:
        from demo.model import demo_model_dir

        args.model = demo_model_dir()
    if args.data:
        records = list(read_records(args.data))
    else:
        records = [make_record(x["task"], **x["fields"]) for x in json.loads(FIXTURES.read_text())]
    records = [records[i % len(records)] for i in range(args.limit)]

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = load_hf_model(args.model, getattr(torch, args.dtype), "cuda" if torch.cuda.is_available() else "cpu")
    settings = sampling_settings(tokenizer, args.max_tokens)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    prompts = sorted(
        (prompt_token_ids(tokenizer, render_prompt(tokenizer, r["messages"])) for r in records), key=len, reverse=True
    )
    print(
        f"{args.model}: {len(prompts)} prompts of {min(map(len, prompts))}-{max(map(len, prompts))} tokens, "
        f"max {args.max_tokens} new tokens, {args.dtype}, {torch.get_num_threads()} threads"
    )

    greedy_generate(model, prompts[:1], {**settings, "max_tokens": 2}, pad_id)  # warm-up
    start = time.perf_counter()
    batched = []
    for i in range(0, len(prompts), args.batch_size):
        batched += greedy_generate(model, prompts[i : i + args.batch_size], settings, pad_id)
    batched_s = time.perf_counter() - start
    start = time.perf_counter()
    alone = [greedy_generate(model, [prompt], settings, pad_id)[0] for prompt in prompts]
    alone_s = time.perf_counter() - start

    tokens = sum(map(len, alone))
    print(f"one at a time : {tokens / alone_s:8.1f} tokens/s ({alone_s:.1f} s)")
    print(f"batched ({args.batch_size:>3}) : {sum(map(len, batched)) / batched_s:8.1f} tokens/s ({batched_s:.1f} s)")
    print(f"speed-up      : {alone_s / batched_s:8.2f}x")
    print(f"answers that differ between the two runs: {sum(a != b for a, b in zip(batched, alone))} of {len(prompts)}")


if __name__ == "__main__":
    main()
