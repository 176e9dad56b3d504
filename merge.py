"""Merge fine-tuned models back into their base with DARE, streaming one tensor at a time.

    python merge.py --base BASE --finetuned FT --out MERGED            # the BioMistral-NLU merge
    python merge.py --base B --finetuned A C --weight 0.5 0.3 --method dare_ties --out M

For every tensor name: read the base tensor and each fine-tuned one (safe_open, one tensor at a
time), delta_i = finetuned_i - base, drop and rescale (DARE), weight, combine, add to the base and
write the result into its planned place in the output shards. Peak memory is a few tensors per
worker thread, whatever the model size. Conventions (what p, weights, masks and TIES mean):
mnlu/dare.py. Defaults reproduce the paper: p = 0.2, weight 0.5, i.e. base + 0.5 * DARE(ft - base).
"""

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib.metadata import version
from pathlib import Path

import torch
from tqdm import tqdm

from mnlu.dare import METHODS, keep_mask, mask_generator, merge_entries
from mnlu.fileio import atomic_directory
from mnlu.shards import Checkpoint, local_model, parse_size, plan_shards, shard_writer

CHUNK = 1 << 22  # entries per float64 slice: 32 MiB per temporary

# What a model folder needs besides its weights; copied from one source model, all optional but config.
SIDE_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "merges.txt",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base", required=True, type=local_model, metavar="DIR", help="the model the fine-tuned ones started from"
        " (a folder, or a hub id: its safetensors snapshot)"
    )
    parser.add_argument(
        "--finetuned",
        required=True,
        type=local_model,
        nargs="+",
        metavar="DIR",
        help="one or more fine-tuned models",
    )
    parser.add_argument(
        "--weight",
        type=float,
        nargs="+",
        default=[0.5],
        metavar="W",
        help="weight of each fine-tuned model's DARE delta; one value applies to all (default 0.5)",
    )
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=0.2,
        metavar="P",
        help="probability p of dropping each delta entry; survivors are divided by 1-p (default 0.2;"
        " mergekit's density = 1-p)",
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="dare_linear",
        help="sum the weighted deltas, or keep only entries agreeing with the elected sign (TIES)",
    )
    parser.add_argument(
        "--normalize",
        action="store_true",
        help="divide by the summed weights of the models contributing to each entry",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="masks are seeded by (seed, model index, tensor name)",
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="output model folder (written atomically)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument(
        "--shard-size",
        type=parse_size,
        default="5GB",
        metavar="SIZE",
        help="max bytes per output shard (default 5GB)",
    )
    parser.add_argument(
        "--tokenizer-from",
        choices=("finetuned", "base"),
        default="finetuned",
        help="copy config and tokenizer files from the (first) fine-tuned model or from the base",
    )
    parser.add_argument(
        "--vocab",
        choices=("error", "truncate"),
        default="error",
        help="when a fine-tuned model has more embedding rows than the base (added tokens): fail,"
        " or keep only the base's rows (needs --tokenizer-from base)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="tensors merged in parallel, each worker holding its own few tensors (default 1)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be merged and the output size"
    )
    args = parser.parse_args(argv)
    if len(args.weight) == 1:
        args.weight = args.weight * len(args.finetuned)
    if len(args.weight) != len(args.finetuned):
        parser.error(f"--weight has {len(args.weight)} values for {len(args.finetuned)} --finetuned models")
    if not 0 <= args.drop_rate < 1:
        parser.error(f"--drop-rate {args.drop_rate} must be in [0, 1)")
    if args.normalize and args.method == "dare_linear" and sum(args.weight) == 0:
        parser.error("--normalize divides by the sum of --weight, which is 0")
    if args.vocab == "truncate" and args.tokenizer_from != "base":
        parser.error(
            "--vocab truncate drops the fine-tuned model's extra token rows, so its tokenizer would point"
            " past the embedding; add --tokenizer-from base"
        )
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def check_compatible(base, finetuned, vocab):
    """The names of tensors whose fine-tuned rows get cut to the base's; raise on any other mismatch."""
    truncated = set()
    for model in finetuned:
        where = f"{model.directory} vs base {base.directory}"
        for extra, side in (
            (set(base.specs) - set(model.specs), "the base"),
            (set(model.specs) - set(base.specs), "it"),
        ):
            if extra:
                tied = " (tied embeddings in one model only?)" if "lm_head.weight" in extra else ""
                raise ValueError(
                    f"{where}: {len(extra)} tensors only in {side}, e.g. {sorted(extra)[0]!r}{tied}"
                )
        for name, spec in base.specs.items():
            other = model.specs[name]
            if other.dtype != spec.dtype:
                raise ValueError(
                    f"{where}: tensor {name!r} is {other.dtype}, the base's is {spec.dtype};"
                    " merge models saved in the same dtype"
                )
            if other.shape == spec.shape:
                continue
            more_rows = (
                len(other.shape) == len(spec.shape) >= 1
                and other.shape[1:] == spec.shape[1:]
                and other.shape[0] > spec.shape[0]
            )
            if more_rows and vocab == "truncate":
                truncated.add(name)
                continue
            hint = " (added tokens? see --vocab truncate)" if more_rows else ""
            raise ValueError(
                f"{where}: tensor {name!r} has shape {list(other.shape)},"
                f" the base's is {list(spec.shape)}{hint}"
            )
    return truncated


def human(nbytes):
    return (
        f"{nbytes / 1e9:.2f} GB"
        if nbytes >= 1e9
        else f"{nbytes / 1e6:.2f} MB" if nbytes >= 1e6 else f"{nbytes} B"
    )


def side_files(source):
    files = [source / name for name in SIDE_FILES if (source / name).is_file()]
    if source / "config.json" not in files:
        raise ValueError(f"{source}: no config.json to copy into the merged model")
    return files


def main(argv=None):
    args = parse_args(argv)
    inputs = [args.base, *args.finetuned]
    if any(args.out.resolve() == p.resolve() for p in inputs):
        raise ValueError(f"--out {args.out} is one of the input models")
    if args.out.exists() and not args.overwrite and not args.dry_run:
        raise ValueError(f"--out {args.out} exists; pass --overwrite to replace it")
    base = Checkpoint(args.base)
    finetuned = [Checkpoint(d) for d in args.finetuned]
    truncated = check_compatible(base, finetuned, args.vocab)
    copied = side_files(args.base if args.tokenizer_from == "base" else args.finetuned[0])
    specs = base.specs  # the merged model has exactly the base's tensors, shapes and dtypes
    n_shards = len(plan_shards(specs, args.shard_size))
    params = {
        "method": args.method,
        "drop_rate": args.drop_rate,
        "weights": args.weight,
        "seed": args.seed,
        "normalize": args.normalize,
        "vocab": args.vocab,
        "base": str(args.base),
        "finetuned": [str(d) for d in args.finetuned],
        "tokenizer_from": args.tokenizer_from,
    }

    if args.dry_run:
        for name in sorted(specs):
            note = f"  rows cut to {specs[name].shape[0]}" if name in truncated else ""
            print(f"{name:60s} {str(list(specs[name].shape)):>16s} {str(specs[name].dtype)[6:]:>8s}{note}")
        print(
            f"{len(specs)} tensors, {human(base.nbytes)} in {n_shards} shard(s) -> {args.out}; "
            f"copies {', '.join(p.name for p in copied)} from {copied[0].parent}"
        )
        print(json.dumps(params))
        return

    def merged_tensor(name):
        """base + combine_i(w_i * DARE(finetuned_i - base)), in float64, rounded once to the base dtype.

        Masks are drawn for the whole tensor (they depend only on seed, model and name); the float64
        arithmetic runs over slices of CHUNK entries, so its temporaries stay small.
        """
        base_tensor = base.get(name)
        shape = base_tensor.shape
        models = [model.get(name) for model in finetuned]
        if name in truncated:  # --vocab truncate: the base's rows only
            models = [m[: shape[0]] for m in models]
        keeps = [
            keep_mask(shape, args.drop_rate, mask_generator(args.seed, i, name)).reshape(-1)
            for i in range(len(models))
        ]
        flat_base, flat_models = base_tensor.reshape(-1), [m.reshape(-1) for m in models]
        merged = torch.empty_like(flat_base)
        for start in range(0, merged.numel(), CHUNK):
            part = slice(start, start + CHUNK)
            merged[part] = merge_entries(
                flat_base[part],
                [m[part] for m in flat_models],
                [k[part] for k in keeps],
                args.weight,
                args.drop_rate,
                args.method,
                args.normalize,
            )
        return merged.reshape(shape)

    start = time.perf_counter()
    with atomic_directory(args.out) as tmp:
        metadata = {"mnlu_merge": json.dumps(params)}
        with (
            shard_writer(tmp, specs, args.shard_size, metadata) as write,
            tqdm(total=base.nbytes, unit="B", unit_scale=True, desc="merge") as bar,
            ThreadPoolExecutor(args.threads) as pool,
        ):

            def merge_and_write(name):
                write(name, merged_tensor(name))
                return specs[name].nbytes

            futures = [pool.submit(merge_and_write, name) for name in sorted(specs)]
            try:
                for future in as_completed(futures):
                    bar.update(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        for path in copied:
            shutil.copy2(path, tmp / path.name)
        record = {
            **params,
            "truncated_rows": sorted(truncated),
            "shards": n_shards,
            "mask_rule": "entry j of fine-tuned model i's tensor NAME is dropped when "
            "torch.rand(shape, generator=torch.Generator().manual_seed(int.from_bytes("
            "sha256(f'{seed}:{i}:{NAME}').digest()[:8], 'little')))[j] < drop_rate",
            "versions": {"torch": torch.__version__, "mnlu": version("mnlu")},
        }
        (tmp / "merge_config.json").write_text(json.dumps(record, indent=2) + "\n")
    seconds = time.perf_counter() - start
    print(
        f"merged {len(specs)} tensors ({human(base.nbytes)}, {n_shards} shard(s)) from {len(finetuned)} "
        f"fine-tuned model(s) in {seconds:.1f} s ({base.nbytes / 1e9 / seconds:.2f} GB/s) -> {args.out}"
    )


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as e:
        sys.exit(f"merge.py: error: {e}")
