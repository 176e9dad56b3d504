"""Fully fine-tune a causal LM on mnlu instruction records with a hand-written FSDP2 loop.

    torchrun --nproc_per_node 4 train.py --model BioMistral/BioMistral-7B-DARE \
        --data mnlu_instruct.jsonl --out runs/biomistral-nlu

Defaults are the paper's (`--preset paper`: AdamW, lr 2e-4, 3 epochs, global batch 16, 10%
linear warm-up then cosine decay, seed 42, clipping at 1.0, loss on the answers only);
`--preset released` sets the authors' released recipe instead (lr 2e-5, 2 epochs, global batch
64, packed 2,048-token sequences, loss on every token). Flags given beside a preset win; the
settings a run used are printed at its start and kept in OUT/settings.json. Each optimizer step
minimises the mean cross-entropy over the supervised tokens of its whole global batch, across
micro-batches and ranks, so the trajectory does not depend on the number of GPUs, the
micro-batch size or the padding. Checkpoints every --save-every steps; --resume continues bit for
bit. The result is OUT/model, a Hugging Face folder that from_pretrained and vLLM load as is. Bad
input stops every rank with exit status 2 and one line from rank 0, before training starts. See
docs/train.md.
"""

import argparse
import itertools
import json
import math
import os
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist
from tqdm import tqdm
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from mnlu.chat import ZEPHYR_TEMPLATE
from mnlu.checkpoints import (
    TOOL,
    checkpoint_entries,
    checkpoints,
    export_hf,
    load_checkpoint,
    read_state,
    save_checkpoint,
)
from mnlu.cli import (
    AT_LEAST_0,
    AT_LEAST_1,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    SEED,
    InputError,
    describe_os_error,
    one_line,
)
from mnlu.data import (
    IGNORE,
    DataError,
    collate,
    encode_records,
    micro_batches,
    padding_efficiency,
    tokens_in,
    training_plan,
)
from mnlu.distributed import (
    DTYPE_OPTIONS,
    all_gather_float,
    all_sum,
    init_distributed,
    load_sharded_weights,
    on_rank0,
    return_freed_cpu_memory,
    shard_model,
    teardown,
    tell_launcher,
)
from mnlu.fileio import atomic_write, check_output_folder, claim_output_folder, remove_stale_temporaries
from mnlu.flops import mfu, peak_flops, training_flops
from mnlu.loss import check_plain_output_layer, loss_head
from mnlu.memory import estimate_memory, format_estimate
from mnlu.records import read_records
from mnlu.schedule import lr_at, warmup_steps
from mnlu.shards import local_model

# The two recipes, whole (docs/train.md#presets): the paper's text, and the authors' released
# alignment-handbook config (per-device batch 16 on 4 GPUs, packing, loss on every token). The
# paper's "batch size 16" is read as the global batch: "the rest are alignment-handbook defaults",
# and the handbook's per-device default of 16 on 4 GPUs would be the released 64, not 16.
PRESETS = {
    "paper": {
        "lr": 2e-4,
        "epochs": 3,
        "global_batch_size": 16,
        "micro_batch_size": 4,
        "pack": False,
        "loss": "completion",
        "max_seq_len": 2048,
        "warmup_ratio": 0.1,
        "chat_template": "tokenizer",
    },
    "released": {
        "lr": 2e-5,
        "epochs": 2,
        "global_batch_size": 64,
        "micro_batch_size": 16,
        "pack": True,
        "loss": "full",
        "max_seq_len": 2048,
        "warmup_ratio": 0.1,
        "chat_template": "zephyr",
    },
}

# Arguments that define the optimisation trajectory: a resumed run must keep them.
TRAJECTORY = (
    "model",
    "data",
    "seed",
    "global_batch_size",
    "epochs",
    "max_steps",
    "lr",
    "warmup_ratio",
    "weight_decay",
    "grad_clip",
    "loss",
    "max_seq_len",
    "pack",
    "chat_template",
    "eval_size",
)
EXPORT_DTYPES = DTYPE_OPTIONS | {"fp16": torch.float16}  # --export-dtype: any dtype a base model may have
STOP_GRACE_S = 3  # seconds the other ranks wait, on bad input, before leaving after rank 0
# What a checkpoint made before an option existed ran: that option's one behaviour then.
BEFORE_OPTION = {"chat_template": "tokenizer"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """argparse's usage and error line, said by rank 0 alone: every rank parses the same arguments."""
        if _rank() == 0:
            self.print_usage(sys.stderr)
        stop(message)


def parse_args(argv=None):
    p = _Parser(prog=TOOL, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="Hugging Face folder or hub id (safetensors weights)")
    p.add_argument("--data", required=True, help="mnlu records (JSONL), e.g. mnlu_instruct.jsonl")
    p.add_argument("--out", required=True, help="run folder: settings.json, metrics.jsonl, checkpoints/, model/")
    p.add_argument("--trust-remote-code", action="store_true", help="run modelling code from the hub")
    p.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="paper",
        help="the paper's recipe or the authors' released one; each option below marked (preset) takes the "
        "preset's value unless given (default: %(default)s)",
    )
    d = " (default: %(default)s)"
    add_optimisation_options(p.add_argument_group("optimisation"), d)
    add_data_options(p.add_argument_group("data"))
    add_precision_options(p.add_argument_group("precision and memory"), d)
    g = p.add_argument_group("evaluation, checkpoints, export")
    g.add_argument("--eval-every", type=AT_LEAST_0, default=0, help="held-out loss every N steps, 0: never" + d)
    g.add_argument("--eval-size", type=AT_LEAST_0, default=256, help="records held out when --eval-every > 0" + d)
    g.add_argument("--save-every", type=AT_LEAST_1, default=500, help="resumable checkpoint every N steps" + d)
    g.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    g.add_argument(
        "--export-dtype",
        choices=("auto", *EXPORT_DTYPES),
        default="auto",
        help="dtype of OUT/model; auto: the base model's, so that merge.py can merge the two" + d,
    )
    g.add_argument(
        "--dry-run", action="store_true", help="print the plan (steps, tokens, per-GPU memory estimate) and exit"
    )
    g.add_argument(
        "--world-size",
        type=AT_LEAST_1,
        help="with --dry-run outside torchrun: plan for this many GPUs (default: $WORLD_SIZE, else 1)",
    )
    args = p.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.eval_every and args.eval_size < 1:
        p.error("--eval-every needs --eval-size of at least 1")
    if args.world_size and not args.dry_run:
        p.error("--world-size plans a --dry-run; a real run takes its world size from torchrun")
    if not args.eval_every:
        args.eval_size = 0  # nothing is held out without evaluation (a resumed run compares it)
    return args


def preset_default(key):
    """The help text's note of what each preset sets `key` to."""
    return " (preset: " + ", ".join(f"{name} {values[key]}" for name, values in PRESETS.items()) + ")"


def add_optimisation_options(g, d):
    """Batch, schedule and AdamW; the options both recipes set default to --preset's values."""
    g.add_argument(
        "--global-batch-size",
        type=AT_LEAST_1,
        help="sequences per optimizer step = micro batch x accumulation x world size"
        + preset_default("global_batch_size"),
    )
    g.add_argument(
        "--micro-batch-size",
        type=AT_LEAST_1,
        help="sequences per forward pass per rank" + preset_default("micro_batch_size"),
    )
    g.add_argument("--epochs", type=AT_LEAST_1, help="passes over the data" + preset_default("epochs"))
    g.add_argument("--max-steps", type=AT_LEAST_1, help="optimizer steps; overrides --epochs")
    g.add_argument("--lr", type=POSITIVE, help="peak learning rate of AdamW" + preset_default("lr"))
    g.add_argument(
        "--warmup-ratio", type=FRACTION, help="share of steps in linear warm-up" + preset_default("warmup_ratio")
    )
    g.add_argument("--weight-decay", type=NON_NEGATIVE, default=0.0, help="AdamW weight decay" + d)
    g.add_argument("--grad-clip", type=POSITIVE, default=1.0, help="max global gradient norm" + d)
    g.add_argument("--seed", type=SEED, default=42, help="data order and initial RNG state" + d)


def add_precision_options(g, d):
    """How each rank computes: dtype, recomputation and the attention kernel."""
    g.add_argument(
        "--dtype",
        choices=tuple(DTYPE_OPTIONS),
        default="bf16",
        help="compute dtype; master weights and gradient reduction stay fp32; use fp32 on CPU" + d,
    )
    g.add_argument(
        "--activation-checkpointing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="recompute each layer in backward: a layer's input is all a micro-batch keeps of it (default: on)",
    )
    g.add_argument(
        "--attention",
        choices=("auto", "sdpa", "flex_attention"),
        default="auto",
        help="attention kernel; auto: flex_attention with CUDA (packed and padded records attend within "
        "themselves through a block mask, not a dense one), sdpa on CPU, where flex attention has no backward" + d,
    )


def add_data_options(g):
    """What a sequence holds, how it is rendered and which of its tokens carry loss; both recipes set all four."""
    g.add_argument(
        "--loss",
        choices=("completion", "full"),
        help="completion: loss on the assistant answer only; full: on every token" + preset_default("loss"),
    )
    g.add_argument(
        "--max-seq-len",
        type=AT_LEAST_1,
        help="longer records get their medical text shortened (counted)" + preset_default("max_seq_len"),
    )
    g.add_argument(
        "--pack",
        action=argparse.BooleanOptionalAction,
        help="pack several records into each sequence" + preset_default("pack"),
    )
    g.add_argument(
        "--chat-template",
        choices=("tokenizer", "zephyr"),
        help="tokenizer: the model tokenizer's own template (Zephyr where it has none), as the alignment "
        "handbook keeps it; zephyr: the handbook's Zephyr template, which the released recipe sets; saved with "
        "the exported model, so infer.py renders prompts alike" + preset_default("chat_template"),
    )


def _rank():
    """This process's rank, known from torchrun's environment before the ranks meet."""
    return int(os.environ.get("RANK", 0))


def stop(message):
    """Exit with status 2 on every rank; rank 0 alone says why, in one line (and tells torchrun)."""
    teardown()
    if _rank() == 0:
        print(f"{TOOL}: error: {message}", file=sys.stderr)
    tell_launcher(f"{TOOL}: error: {message}")
    if _rank() != 0:  # torchrun stops every worker once one has exited: leave rank 0 the time to say why
        time.sleep(STOP_GRACE_S)
    sys.exit(2)


def run(argv=None):
    """The command line: exit 0; 2 for bad input or a file-system error (one line); 1 and a traceback for a bug."""
    args = parse_args(argv)
    try:
        main(args)
    except InputError as e:
        message = str(e)
    except OSError as e:
        message = describe_os_error(e)
    else:
        teardown(finished=True)
        return
    stop(message)  # out of the except block: the exception, and the progress bar it kept open, are gone


def main(args):
    """Check every input on each rank, then join the others, train, checkpoint and export."""
    rank, world_size = _rank(), args.world_size or int(os.environ.get("WORLD_SIZE", 1))
    say = tqdm.write if rank == 0 else (lambda *a, **k: None)
    on_cuda = torch.cuda.is_available()
    fit_to_hardware(args, world_size, on_cuda, say)
    say(f"settings: {settings_line(args)}")
    torch.manual_seed(args.seed)

    # Every input is checked before the ranks meet, so bad input stops each of them alike, at once.
    model_dir = local_model(args.model, weights=not args.dry_run)  # a dry run needs the config only
    inputs = [args.data, model_dir]
    checkpoint = None if args.dry_run else checkpoint_to_resume(args, inputs, say)
    config, tokenizer = load_config_and_tokenizer(model_dir, args.trust_remote_code)
    if args.chat_template == "zephyr":  # replaces the tokenizer's own; export_hf saves it with the model
        tokenizer.chat_template = ZEPHYR_TEMPLATE
    data = prepare_data(args, tokenizer, world_size, say)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(
            config, dtype=torch.float32, attn_implementation=args.attention, trust_remote_code=args.trust_remote_code
        )
    if args.dry_run:
        print_memory_plan(args, config, model, data, world_size)
        return

    if args.dtype == "bf16" and not on_cuda:
        say("note: bf16 compute on CPU is several times slower than --dtype fp32")
    _, _, device = init_distributed()
    # Model: shard on meta, then fill each rank's shards from the checkpoint, tensor by tensor.
    # On CPU, memory is plentiful and gloo all-gathers are slow (~1.6 s for 135M fp32 parameters):
    # layers stay gathered from forward to backward there. On GPUs they are resharded (ZeRO-3).
    model = shard_model(model, DTYPE_OPTIONS[args.dtype], args.activation_checkpointing, reshard_after_forward=on_cuda)
    unused = load_sharded_weights(model, model_dir, device)
    if unused:
        say(f"{model_dir}: {len(unused)} checkpoint tensors not used by the model: {', '.join(unused[:3])}")
    optimizer = adamw(model, args)
    start = 0
    if checkpoint is not None:
        start = load_checkpoint(checkpoint, model, optimizer)["step"]
        say(f"resumed from {checkpoint} at step {start}")
    on_rank0(lambda: open_run_folder(args, inputs, start))  # every input read: only now write
    train(args, model, optimizer, data, start, device, say)
    export_hf(Path(args.out) / "model", model, tokenizer, export_dtype(args.export_dtype, config))
    say(f"exported {Path(args.out) / 'model'}")


def plans_for_gpus(args):
    """Whether the run (or its --dry-run plan) is one for GPUs: CUDA here, or a --world-size plan."""
    return torch.cuda.is_available() or args.world_size is not None


def fit_to_hardware(args, world_size, on_cuda, say):
    """Settle what depends on the machine: the attention kernel (the GPU default for a --world-size
    plan), the CPU allocator, and a micro-batch that splits the global batch over the ranks."""
    gpus = plans_for_gpus(args)
    if not on_cuda:
        return_freed_cpu_memory()
    if args.attention == "auto":
        args.attention = "flex_attention" if gpus else "sdpa"
    if args.attention == "flex_attention" and not on_cuda and not args.dry_run:
        raise InputError("--attention flex_attention needs CUDA: on CPU, flex attention has no backward pass")
    micro = fit_micro_batch(args.global_batch_size, args.micro_batch_size, world_size)
    if micro is None:
        raise InputError(
            f"--global-batch-size {args.global_batch_size} does not split over {world_size} ranks: "
            f"choose a multiple of {world_size}"
        )
    if micro != args.micro_batch_size:
        say(
            f"note: --micro-batch-size {args.micro_batch_size} lowered to {micro}, so that the global batch of "
            f"{args.global_batch_size} splits evenly over {world_size} ranks"
        )
        args.micro_batch_size = micro


def fit_micro_batch(global_batch, micro_batch, world_size):
    """The micro-batch a run uses: `micro_batch`, lowered to the largest size that splits the global
    batch evenly over the ranks (the recipe is the global batch; the micro-batch only trades memory
    for accumulation steps). None when the global batch does not split over the ranks at all."""
    if global_batch % world_size:
        return None
    per_rank = global_batch // world_size
    return max(m for m in range(1, min(micro_batch, per_rank) + 1) if per_rank % m == 0)


def adamw(model, args):
    """AdamW as both recipes set it, fused: one kernel per step over the shards. The foreach step
    holds an fp32 temporary the size of the shard (several GiB for a 7B model) and, on the DTensor
    shards of torch 2.13, redoes DTensor's sharding propagation at every step: 1.1 s of each 10 s
    step of SmolLM2-135M on 2 CPU ranks."""
    return torch.optim.AdamW(
        model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=args.weight_decay, fused=True
    )


def export_dtype(choice, config):
    """The dtype of OUT/model: `choice`, or with "auto" the base model's (its config's dtype; fp32,
    transformers' default, when it names none), so the fine-tuned and the base model merge."""
    if choice != "auto":
        return EXPORT_DTYPES[choice]
    dtype = getattr(config, "dtype", None) or torch.float32
    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    return dtype if dtype in EXPORT_DTYPES.values() else torch.float32


def checkpoint_to_resume(args, inputs, say):
    """The checkpoint this run continues (None: it starts at step 0); refuses an --out it must not write.

    --out must be new, empty or a train.py run folder, and hold none of the inputs. Without
    --resume it must hold no earlier run, so that two runs never mix. With --resume the newest
    complete checkpoint is continued (damaged newer ones are skipped, saying so), and only with
    the arguments that made it. Everything rank 0 will write or replace is checked here, on every
    rank before the ranks meet, rather than found wrong by rank 0 alone, maybe after training.
    """
    out = Path(args.out)
    check_output_folder(out, TOOL, inputs)
    metrics, model, saved = out / "metrics.jsonl", out / "model", out / "checkpoints"
    for path, folder in ((saved, True), (metrics, False), (out / "settings.json", False)):
        if os.path.lexists(path) and path.is_dir() != folder:
            raise InputError(
                f"{path}: not the {'folder' if folder else 'file'} that {TOOL} writes there; move it "
                "away, or choose another --out"
            )
    if not args.resume:
        earlier = (
            checkpoint_entries(out)
            + ([model] if os.path.lexists(model) else [])
            + ([metrics] if metrics.is_file() and metrics.stat().st_size else [])
        )
        if earlier:
            raise InputError(
                f"{out} already holds a run ({earlier[0].relative_to(out)}); pass --resume to "
                "continue it, or choose another --out"
            )
        return None
    check_output_folder(model, TOOL)  # the export replaces it at the end
    found = checkpoints(out)
    damaged = list(itertools.takewhile(lambda f: f[1] is not None, found))
    if found and len(damaged) == len(found):
        raise InputError(
            f"{damaged[0][1]}; no checkpoint in {out / 'checkpoints'} is complete: remove the "
            "damaged ones to start the run again from step 0"
        )
    for _, problem in damaged:
        say(f"warning: {problem}; resuming from an earlier checkpoint", file=sys.stderr)
    if not found:
        say(f"{out}: no checkpoint to resume from, starting at step 0")
        return None
    checkpoint = found[len(damaged)][0]
    saved = read_state(checkpoint)["args"]
    for k in TRAJECTORY:
        if saved.get(k, BEFORE_OPTION.get(k)) != getattr(args, k):
            preset = saved.get("preset", "paper")  # checkpoints older than the presets ran the paper's defaults
            raise InputError(
                f"{checkpoint} was made with {as_flag(k, saved.get(k))} (preset {preset}), this run has "
                f"{as_flag(k, getattr(args, k))} (preset {args.preset}); a resumed run must keep it"
                + (f": pass --preset {preset} and the flags given beside it" if preset != args.preset else "")
            )
    return checkpoint


def load_config_and_tokenizer(model_dir, trust_remote_code):
    try:
        config = AutoConfig.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:  # transformers' errors for missing or malformed files
        raise InputError(f"{model_dir}: cannot load the config or tokenizer ({one_line(e)})") from None
    check_plain_output_layer(config)
    return config, tokenizer


def prepare_data(args, tokenizer, world_size, say):
    """Records -> examples (token ids, how many leading tokens carry no loss) -> held-out set, batch plan."""
    try:
        examples, stats = encode_records(
            tokenizer, read_records(args.data), args.loss, args.max_seq_len, progress=_rank() == 0
        )
    except DataError as e:
        raise InputError(f"{args.data}: {e}") from None
    say(
        f"{args.data}: {stats['records']} records, {stats['shortened']} with their medical text shortened to "
        f"fit {args.max_seq_len} tokens, {stats['dropped']} dropped (too long to fit whole)"
    )
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(args.seed)).tolist()
    eval_examples = [examples[i] for i in order[: args.eval_size]]
    examples = [examples[i] for i in sorted(order[args.eval_size :])]
    lengths = [len(ids) for ids, _ in examples]
    plan, per_epoch = training_plan(
        lengths,
        args.global_batch_size,
        args.seed,
        args.epochs,
        args.max_steps,
        pack_to=args.max_seq_len if args.pack else None,
    )
    if not plan:
        raise InputError(f"{args.data}: {len(examples)} training examples make fewer sequences than one global batch")
    warmup = warmup_steps(len(plan), args.warmup_ratio)
    planned_tokens = sum(tokens_in(seq, lengths) for batch in plan for seq in batch)
    accumulation = args.global_batch_size // (args.micro_batch_size * world_size)
    say(
        f"plan: {len(plan)} steps ({per_epoch} per epoch, {warmup} warm-up) of "
        f"{args.global_batch_size} sequences = {args.micro_batch_size} x {accumulation} accumulation x "
        f"{world_size} ranks; {planned_tokens:,} tokens; padding efficiency "
        f"{padding_efficiency(plan[:per_epoch], lengths, world_size, args.micro_batch_size):.1%}; "
        f"{len(eval_examples)} held out"
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return SimpleNamespace(
        examples=examples,
        lengths=lengths,
        eval_examples=eval_examples,
        eval_lengths=[len(ids) for ids, _ in eval_examples],
        plan=plan,
        warmup=warmup,
        pad_id=pad_id,
    )


def print_memory_plan(args, config, model, data, world_size):
    n_params = sum(p.numel() for p in model.parameters())
    seq_len = args.max_seq_len if args.pack else max(data.lengths)
    print(
        f"model: {n_params / 1e9:.3f} B parameters; per-GPU memory estimate for {world_size} GPUs, "
        f"micro-batch {args.micro_batch_size} x {seq_len} tokens, {args.dtype} compute:"
    )
    print(
        format_estimate(
            estimate_memory(
                config,
                n_params,
                world_size,
                args.micro_batch_size,
                seq_len,
                DTYPE_OPTIONS[args.dtype].itemsize,
            )
        )
    )


def run_settings(args):
    """Every setting of the run, the preset's values filled in: what settings.json keeps."""
    return {k: v for k, v in vars(args).items() if k not in ("dry_run", "world_size")}


def settings_line(args):
    """Every setting of the run as the flags that give it, each preset value spelled out."""
    flags = [as_flag(k, v) for k, v in run_settings(args).items() if v is not None]
    return " ".join(f for f in flags if f)


def as_flag(key, value):
    """`key`'s value as the command line gives it: `--lr 0.0002`, `--pack` / `--no-pack`, `--resume` (or '')."""
    flag = "--" + key.replace("_", "-")
    if key in ("pack", "activation_checkpointing"):  # both ways are flags (BooleanOptionalAction)
        return flag if value else "--no-" + flag[2:]
    if isinstance(value, bool):
        return flag if value else ""
    return f"{flag} {value}"


def open_run_folder(args, inputs, start):
    """Mark --out as this run's, record its settings, drop what killed runs left half-written, keep the
    metrics of steps 1..start."""
    out = Path(args.out)
    claim_output_folder(out, TOOL, inputs)
    if start == 0:  # a resumed run keeps the settings it started with (its trajectory cannot change)
        with atomic_write(out / "settings.json") as f:
            json.dump(run_settings(args), f, indent=1)
    remove_stale_temporaries(out / "checkpoints", "step-*")
    remove_stale_temporaries(out, "model")
    metrics_path = out / "metrics.jsonl"
    kept = []
    for line in metrics_path.read_text().splitlines() if metrics_path.exists() else []:
        try:
            if json.loads(line)["step"] <= start:
                kept.append(line + "\n")
        except json.JSONDecodeError:  # only the last line, cut by a kill, can be incomplete
            break
    with atomic_write(metrics_path) as f:
        f.write("".join(kept))


def train(args, model, optimizer, data, start, device, say):
    """Optimizer steps start+1 to the last: each logged to metrics.jsonl, a checkpoint every --save-every."""
    out, total_steps, rank = Path(args.out), len(data.plan), dist.get_rank()
    model.train()
    metrics = open(out / "metrics.jsonl", "a", encoding="utf-8") if rank == 0 else None
    bar = tqdm(total=total_steps, initial=start, desc="training", unit="step", disable=rank != 0)
    peak = peak_flops(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    n_params, config = sum(p.numel() for p in model.parameters()), model.config
    for step in range(start + 1, total_steps + 1):
        t0 = time.perf_counter()
        record = optimizer_step(args, model, optimizer, data, step, device)
        seconds = time.perf_counter() - t0
        record["tokens_per_s"] = record["tokens"] / seconds
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
        record["peak_rss_gib"] = all_gather_float(peak_rss, device)  # each rank's, in rank order
        if device.type == "cuda":  # what the step used of the GPUs: their arithmetic and their memory
            examples = sum(len(sequence) for sequence in data.plan[step - 1])
            flops = training_flops(
                n_params, config.num_hidden_layers, config.hidden_size, record["tokens"], record["tokens"] / examples
            )
            record["mfu"] = mfu(flops, seconds, peak, dist.get_world_size()) if peak else None
            record["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        if record.get("skipped"):
            say(
                f"step {step}: loss {record['loss']} or gradient norm {record['grad_norm']} is not finite; "
                "optimizer step skipped"
            )
        if args.eval_every and step % args.eval_every == 0:
            record["eval_loss"] = held_out_loss(args, model, data, device)
        if metrics:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", tok_s=f"{record['tokens_per_s']:.0f}")
        bar.update()
        if step % args.save_every == 0 or step == total_steps:
            trajectory = {k: getattr(args, k) for k in TRAJECTORY}
            save_checkpoint(out, step, model, optimizer, {"args": {**trajectory, "preset": args.preset}})
    bar.close()
    if metrics:
        metrics.close()


def optimizer_step(args, model, optimizer, data, step, device):
    """Optimizer step `step` over its global batch; returns the step's metrics.

    Invariant: the gradient is that of the mean loss over the global batch's supervised tokens,
    however the batch is split into ranks and micro-batches. Each micro-batch's summed loss is
    divided by the step's supervised-token count over all ranks, counted first, and the ranks'
    gradients are summed (not averaged).
    """
    rank, world_size, on_cuda = dist.get_rank(), dist.get_world_size(), device.type == "cuda"
    mine = micro_batches(data.plan[step - 1], data.lengths, rank, world_size, args.micro_batch_size)
    micros = [collate(m, data.examples, data.pad_id) for m in mine]
    # The invariant's denominator: supervised tokens over all micro-batches and ranks.
    mine_loss_tokens = sum((t != IGNORE).sum().item() for _, t, _ in micros)  # host tensors: no device sync
    loss_tokens, tokens = all_sum(
        [mine_loss_tokens, sum(tokens_in(seq, data.lengths) for m in mine for seq in m)], device
    )
    loss_sum = 0.0
    for k, micro in enumerate(micros):
        # On CPU, gradients are summed locally and reduce-scattered once per step (one model
        # copy more in memory); on GPUs every micro-batch's are, keeping gradients sharded.
        model.set_requires_gradient_sync(on_cuda or k == len(micros) - 1)
        loss = forward_loss_sum(model, micro, device)
        (loss / loss_tokens).backward()
        loss_sum += loss.detach()
    loss = all_sum([loss_sum], device)[0] / loss_tokens
    # The norm of the whole gradient (a DTensor, reduced over the shards), before clipping.
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip).full_tensor().item()
    lr = lr_at(step, len(data.plan), data.warmup, args.lr)
    finite = math.isfinite(loss) and math.isfinite(grad_norm)
    if finite:
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    record = {
        "step": step,
        "loss": loss,
        "lr": lr,
        "grad_norm": grad_norm,
        "tokens": int(tokens),
        "loss_tokens": int(loss_tokens),
    }
    return record if finite else {**record, "skipped": True}


def forward_loss_sum(model, micro, device):
    """Summed cross-entropy over the supervised tokens of one micro-batch (fp32 logits, a chunk of
    supervised tokens at a time: mnlu.loss), so the logits of the whole micro-batch never exist."""
    input_ids, targets, position_ids = micro
    # No attention mask and no KV cache: transformers then reads the restarting position ids
    # as sequence boundaries (see mnlu.data.collate). With a cache it would silently not.
    with loss_head(model, targets.to(device)):
        return model(input_ids=input_ids.to(device), position_ids=position_ids.to(device), use_cache=False).logits


@torch.no_grad()
def held_out_loss(args, model, data, device):
    """Token-weighted loss of the held-out examples; every rank runs the same number of forwards."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    model.eval()
    loss_sum = count = 0.0  # summed as tensors: one host sync at the end, not one per micro-batch
    sequences = [[i] for i in range(len(data.eval_examples))]
    per_step = args.micro_batch_size * world_size
    for first in range(0, len(sequences), per_step):
        batch = sequences[first : first + per_step]
        for micro in micro_batches(batch, data.eval_lengths, rank, world_size, args.micro_batch_size):
            micro = collate(micro, data.eval_examples, data.pad_id)
            loss_sum += forward_loss_sum(model, micro, device)
            count += (micro[1] != IGNORE).sum()
    model.train()
    loss_sum, count = all_sum([loss_sum, count], device)
    return loss_sum / count


if __name__ == "__main__":
    run()
    # Every file is written and synced and the process group left: exit now, without the
    # interpreter's finalization. The FSDP device mesh still holds the gloo group, whose C++ worker
    # threads can then be torn down under a finalizing interpreter and abort the process
    # ("terminate called without an active exception", exit -6) after a run that succeeded.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
