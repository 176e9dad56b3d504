"""Merge fine-tuned models back into their base with DARE, streaming a slice of a tensor at a time.

    python merge.py --base BASE --finetuned FT --out MERGED            # the BioMistral-NLU merge
    python merge.py --base B --finetuned A C --weight 0.5 0.3 --method dare_ties --out M

For every tensor name, a slice of entries at a time: read the slice of the base tensor and of each
fine-tuned one, delta_i = finetuned_i - base, drop and rescale (DARE), weight, combine, add to the
base and write the result into its planned place in the output shards. Worker threads take tensors
in turn; peak memory is a few slices per worker, whatever the model size. Conventions (what p,
weights, masks and TIES mean): mnlu/dare.py. Defaults reproduce the paper: p = 0.2, weight 0.5,
i.e. base + 0.5 * DARE(ft - base).
"""

import argparse
import inspect
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib.metadata import version
from pathlib import Path

import torch
from tqdm import tqdm

from mnlu.cli import AT_LEAST_1, FINITE, SEED, InputError, run_main
from mnlu.dare import METHODS, keep_mask, mask_generator, merge_entries
from mnlu.fileio import atomic_directory, check_output_folder, written_by
from mnlu.shards import MAX_SHARD_BYTES, Checkpoint, local_model, parse_size, plan_shards, shard_writer

TOOL = "merge.py"
CHUNK = 1 << 17  # entries per slice: 1 MiB float64 temporaries, which stay in the CPU caches
MAX_WEIGHT = 100  # |--weight| above this is a typo, not a merge (deltas are small; weights are about 1)

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


def build_parser():
    """The options in three groups, as --help shows them: the models, the DARE merge, the output."""
    p = argparse.ArgumentParser(prog=TOOL, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--base",
        required=True,
        metavar="MODEL",
        help="the model the fine-tuned ones started from: a folder, or a hub id (its safetensors snapshot)",
    )
    p.add_argument(
        "--finetuned",
        required=True,
        nargs="+",
        metavar="MODEL",
        help="one or more fine-tuned models (folders or hub ids)",
    )
    add_dare_options(p.add_argument_group("DARE"))
    add_output_options(p.add_argument_group("output"))
    return p


def add_dare_options(p):
    p.add_argument(
        "--weight",
        type=FINITE,
        nargs="+",
        default=[0.5],
        metavar="W",
        help=f"weight of each fine-tuned model's DARE delta, in [-{MAX_WEIGHT}, {MAX_WEIGHT}];"
        " one value applies to all (default 0.5)",
    )
    p.add_argument(
        "--drop-rate",
        type=FINITE,
        default=0.2,
        metavar="P",
        help="probability p of dropping each delta entry; survivors are divided by 1-p (default %(default)s;"
        " mergekit's density = 1-p)",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        default="dare_linear",
        help="dare_linear sums the weighted deltas; dare_ties (TIES) keeps only entries agreeing with the elected"
        " sign (default %(default)s)",
    )
    p.add_argument(
        "--normalize", action="store_true", help="divide by the summed weights of the models contributing to each entry"
    )
    p.add_argument(
        "--seed",
        type=SEED,
        default=0,
        metavar="S",
        help="masks are seeded by (S, model index, tensor name); S defaults to %(default)s",
    )


def add_output_options(p):
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output model folder, written atomically; it must not hold any input model",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out when it is an earlier merge.py output (kept if this merge fails);"
        " any other existing file or non-empty folder is never replaced",
    )
    p.add_argument(
        "--shard-size",
        type=parse_size,
        default=MAX_SHARD_BYTES,
        metavar="SIZE",
        help="max bytes per output shard (default 5GB)",
    )
    p.add_argument(
        "--tokenizer-from",
        choices=("finetuned", "base"),
        default="finetuned",
        help="copy config and tokenizer files from the (first) fine-tuned model or from the base (default %(default)s)",
    )
    p.add_argument(
        "--vocab",
        choices=("error", "truncate"),
        default="error",
        metavar="MODE",
        help="when a fine-tuned model has more embedding rows than the base (added tokens): 'error'"
        " (default), or 'truncate' to keep only the base's rows (needs --tokenizer-from base)",
    )
    p.add_argument(
        "--threads",
        type=AT_LEAST_1,
        default=os.cpu_count() or 1,
        metavar="N",
        help="tensors merged in parallel, each worker holding a few slices of one (default: one per CPU core,"
        " %(default)s here)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="make every check, list what would be merged and the output size, write nothing",
    )


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.weight) == 1:
        args.weight = args.weight * len(args.finetuned)
    if len(args.weight) != len(args.finetuned):
        parser.error(f"--weight has {len(args.weight)} values for {len(args.finetuned)} --finetuned models")
    if any(abs(w) > MAX_WEIGHT for w in args.weight):  # e.g. 1e308: finite, but every product overflows
        parser.error(
            f"--weight {' '.join(map(str, args.weight))}: each weight must be in [-{MAX_WEIGHT}, {MAX_WEIGHT}]"
        )
    if not 0 <= args.drop_rate < 1:
        parser.error(f"--drop-rate {args.drop_rate} must be in [0, 1)")
    if args.normalize and args.method == "dare_linear" and sum(args.weight) == 0:
        parser.error("--normalize divides by the sum of --weight, which is 0")
    if args.vocab == "truncate" and args.tokenizer_from != "base":
        parser.error(
            "--vocab truncate drops the fine-tuned model's extra token rows, so its tokenizer would point"
            " past the embedding; add --tokenizer-from base"
        )
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
                raise InputError(f"{where}: {len(extra)} tensors only in {side}, e.g. {sorted(extra)[0]!r}{tied}")
        for name, spec in base.specs.items():
            other = model.specs[name]
            if other.dtype != spec.dtype:
                raise InputError(
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
            raise InputError(
                f"{where}: tensor {name!r} has shape {list(other.shape)}, the base's is {list(spec.shape)}{hint}"
            )
    return truncated


def human(nbytes):
    return f"{nbytes / 1e9:.2f} GB" if nbytes >= 1e9 else f"{nbytes / 1e6:.2f} MB" if nbytes >= 1e6 else f"{nbytes} B"


def side_files(source):
    files = [source / name for name in SIDE_FILES if (source / name).is_file()]
    if source / "config.json" not in files:
        raise InputError(f"{source}: no config.json to copy into the merged model")
    return files


def open_models(args):
    """The base and fine-tuned Checkpoints, once --out is known to be safe to write.

    --out is checked twice: before a hub download can start, then against the resolved input
    folders (a merge must never replace or delete the models it reads). --overwrite lets a merge
    replace only an earlier merge.py output.
    """
    on_disk = [Path(name).expanduser() for name in (args.base, *args.finetuned)]
    check_output_folder(args.out, TOOL, inputs=[path for path in on_disk if path.exists()])
    if written_by(args.out) == TOOL and not args.overwrite:
        raise InputError(f"--out {args.out} holds an earlier merge; pass --overwrite to replace it")
    base_dir = local_model(args.base)
    finetuned_dirs = [local_model(name) for name in args.finetuned]
    check_output_folder(args.out, TOOL, inputs=[base_dir, *finetuned_dirs])
    return Checkpoint(base_dir), [Checkpoint(d) for d in finetuned_dirs]


def merge_tensor(name, base, finetuned, write, args):
    """base + combine_i(w_i * DARE(finetuned_i - base)), in float64, rounded once to the base dtype.

    The tensor is walked in slices of CHUNK entries: read, merged and written one slice at a time,
    so memory holds a few slices whatever the tensor's size. Each model's mask is drawn slice after
    slice from its one generator, which gives the same bits as drawing it whole (torch.rand on the
    CPU yields one value per entry, in order). A fine-tuned tensor with extra rows (--vocab
    truncate) is read up to the base's size: its first rows. A NaN or infinity, in an input or
    from an overflow, fails the merge with a line saying where it came from.
    """
    size = base.specs[name].numel
    generators = [mask_generator(args.seed, i, name) for i in range(len(finetuned))]
    for start in range(0, size, CHUNK):
        count = min(CHUNK, size - start)
        inputs = [model.read(name, start, count) for model in (base, *finetuned)]
        check_finite(name, inputs, (base, *finetuned))
        keeps = [keep_mask(count, args.drop_rate, generator) for generator in generators]
        merged = merge_entries(
            inputs[0], inputs[1:], keeps, args.weight, args.drop_rate, args.method, args.normalize
        ).to(inputs[0].dtype)
        if not is_finite(merged):
            raise InputError(
                f"--weight {' '.join(map(str, args.weight))}: merged tensor {name!r} overflows"
                f" {merged.dtype} (weighted deltas beyond its range); use smaller weights"
            )
        write(name, merged, start)


def is_finite(values):
    """No NaN or infinity in `values`: one float32 sum (a few times faster than an elementwise test),
    as any NaN or infinity makes the sum non-finite; only a sum that overflows needs the entries
    looked at."""
    return bool(torch.isfinite(values.sum(dtype=torch.float32))) or bool(torch.isfinite(values).all())


def check_finite(name, inputs, models):
    for model, values in zip(models, inputs):
        if not is_finite(values):
            raise InputError(
                f"{model.directory / model.files[name]}: tensor {name!r} holds NaN or"
                " infinite values; a merge would carry them into the output"
            )


def print_plan(args, base, truncated, copied, params):
    """--dry-run: every tensor, the output size and shards, the parameters."""
    specs = base.specs
    for name in sorted(specs):
        note = f"  rows cut to {specs[name].shape[0]}" if name in truncated else ""
        print(f"{name:60s} {str(list(specs[name].shape)):>16s} {str(specs[name].dtype)[6:]:>8s}{note}")
    print(
        f"{len(specs)} tensors, {human(base.nbytes)} in {len(plan_shards(specs, args.shard_size))} shard(s) -> "
        f"{args.out}; copies {', '.join(p.name for p in copied)} from {copied[0].parent}"
    )
    print(json.dumps(params))


def write_merge(args, base, finetuned, truncated, copied, params):
    """Merge every tensor into a temporary folder that replaces --out only once it is complete."""
    specs = base.specs  # the merged model has exactly the base's tensors, shapes and dtypes
    with atomic_directory(args.out, TOOL) as tmp:
        metadata = {"mnlu_merge": json.dumps(params)}
        with (
            shard_writer(tmp, specs, args.shard_size, metadata) as write,
            tqdm(total=base.nbytes, unit="B", unit_scale=True, desc="merge") as bar,
            ThreadPoolExecutor(args.threads) as pool,
        ):

            def merge_and_write(name):
                merge_tensor(name, base, finetuned, write, args)
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
            "shards": len(plan_shards(specs, args.shard_size)),
            "mask_rule": mask_rule(),
            "versions": {"torch": torch.__version__, "mnlu": version("mnlu")},
        }
        (tmp / "merge_config.json").write_text(json.dumps(record, indent=2) + "\n")
    return record["shards"]


def mask_rule():
    """The code that drew every mask, as mnlu.dare holds it: recorded, not restated, so that the
    record is the rule that ran (with the torch version below, it recomputes any mask)."""
    return {f"mnlu.dare.{f.__name__}": inspect.getsource(f).splitlines() for f in (mask_generator, keep_mask)}


def main(argv=None):
    args = parse_args(argv)
    base, finetuned = open_models(args)
    truncated = check_compatible(base, finetuned, args.vocab)
    copied = side_files(base.directory if args.tokenizer_from == "base" else finetuned[0].directory)
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
        return print_plan(args, base, truncated, copied, params)
    torch.set_num_threads(1)  # slices are too small for torch's own threads to pay; --threads spreads the work
    start = time.perf_counter()
    n_shards = write_merge(args, base, finetuned, truncated, copied, params)
    seconds = time.perf_counter() - start
    print(
        f"merged {len(base.specs)} tensors ({human(base.nbytes)}, {n_shards} shard(s)) from {len(finetuned)} "
        f"fine-tuned model(s) in {seconds:.1f} s ({base.nbytes / 1e9 / seconds:.2f} GB/s) -> {args.out}"
    )


if __name__ == "__main__":
    run_main(TOOL, main)
