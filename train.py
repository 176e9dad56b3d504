"""Fully fine-tune a causal LM on mnlu instruction records with a hand-written FSDP2 loop.

    torchrun --nproc_per_node 4 train.py --model BioMistral/BioMistral-7B-DARE \
        --data mnlu_instruct.jsonl --out runs/biomistral-nlu

Defaults are the paper's (AdamW, lr 2e-4, 3 epochs, global batch 16, 10% linear warm-up then
cosine decay, seed 42, clipping at 1.0, loss on the answers only). Each optimizer step minimises
the mean cross-entropy over the supervised tokens of its whole global batch, across micro-batches
and ranks, so the trajectory does not depend on the number of GPUs, the micro-batch size or the
padding. Checkpoints every --save-every steps; --resume continues bit for bit. The result is
OUT/model, a Hugging Face folder that from_pretrained and vLLM load as is. See docs/train.md.
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from mnlu.checkpoints import export_hf, latest_checkpoint, load_checkpoint, save_checkpoint
from mnlu.data import (IGNORE, collate, encode_records, micro_batches, padding_efficiency, tokens_in,
                       training_plan)
from mnlu.distributed import DTYPES, all_sum, init_distributed, load_sharded_weights, shard_model, teardown
from mnlu.fileio import atomic_write
from mnlu.memory import estimate_memory, format_estimate
from mnlu.records import RecordError, read_records
from mnlu.schedule import lr_at, warmup_steps

# Arguments that define the optimisation trajectory: a resumed run must keep them.
TRAJECTORY = ("model", "data", "seed", "global_batch_size", "epochs", "max_steps", "lr", "warmup_ratio",
              "weight_decay", "grad_clip", "loss", "max_seq_len", "pack", "eval_size")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="Hugging Face folder or hub id (safetensors weights)")
    p.add_argument("--data", required=True, help="mnlu records (JSONL), e.g. mnlu_instruct.jsonl")
    p.add_argument("--out", required=True, help="run folder: metrics.jsonl, checkpoints/, model/")
    p.add_argument("--trust-remote-code", action="store_true", help="run modelling code from the hub")
    d = " (default: %(default)s)"
    g = p.add_argument_group("optimisation (defaults: the paper)")
    g.add_argument("--global-batch-size", type=int, default=16,
                   help="sequences per optimizer step = micro batch x accumulation x world size" + d)
    g.add_argument("--micro-batch-size", type=int, default=4, help="sequences per forward pass per rank" + d)
    g.add_argument("--epochs", type=int, default=3, help="passes over the data" + d)
    g.add_argument("--max-steps", type=int, help="optimizer steps; overrides --epochs")
    g.add_argument("--lr", type=float, default=2e-4, help="peak learning rate of AdamW" + d)
    g.add_argument("--warmup-ratio", type=float, default=0.1, help="share of steps in linear warm-up" + d)
    g.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay" + d)
    g.add_argument("--grad-clip", type=float, default=1.0, help="max global gradient norm" + d)
    g.add_argument("--seed", type=int, default=42, help="data order and initial RNG state" + d)
    g = p.add_argument_group("data")
    g.add_argument("--loss", choices=("completion", "full"), default="completion",
                   help="completion: loss on the assistant answer only; full: on every token" + d)
    g.add_argument("--max-seq-len", type=int, default=2048, help="longer records are truncated (counted)" + d)
    g.add_argument("--pack", action="store_true", help="pack several records into each sequence")
    g = p.add_argument_group("precision and memory")
    g.add_argument("--dtype", choices=tuple(DTYPES), default="bf16",
                   help="compute dtype; master weights and gradient reduction stay fp32; use fp32 on CPU" + d)
    g.add_argument("--activation-checkpointing", action=argparse.BooleanOptionalAction,
                   help="recompute each layer in backward (default: on with CUDA, off on CPU)")
    g = p.add_argument_group("evaluation, checkpoints, export")
    g.add_argument("--eval-every", type=int, default=0, help="held-out loss every N steps, 0: never" + d)
    g.add_argument("--eval-size", type=int, default=256, help="records held out when --eval-every > 0" + d)
    g.add_argument("--save-every", type=int, default=500, help="resumable checkpoint every N steps" + d)
    g.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    g.add_argument("--export-dtype", choices=tuple(DTYPES), default="bf16", help="dtype of OUT/model" + d)
    g.add_argument("--dry-run", action="store_true",
                   help="print the plan (steps, tokens, per-GPU memory estimate) and exit")
    g.add_argument("--world-size", type=int, help="with --dry-run outside torchrun: plan for this many GPUs")
    args = p.parse_args(argv)
    if args.eval_every and args.eval_size < 1:
        p.error("--eval-every needs --eval-size of at least 1")
    if not args.eval_every:
        args.eval_size = 0  # nothing is held out without evaluation (a resumed run compares it)
    return args


def fail(message):
    """One line on stderr from rank 0 (every rank stops the same way), then exit."""
    if int(os.environ.get("RANK", 0)) == 0:
        print(f"train.py: error: {message}", file=sys.stderr)
    teardown()
    sys.exit(1)


def resolve_model(name, weights=True):
    """A local folder as is; a hub id is downloaded: config, tokenizer and safetensors weights only."""
    if Path(name).is_dir():
        return Path(name)
    from huggingface_hub import snapshot_download
    patterns = ["*.json", "*.jinja", "*.model", "*.txt"] + (["*.safetensors"] if weights else [])
    try:
        return Path(snapshot_download(name, allow_patterns=patterns))
    except Exception as e:  # invalid id, unknown repository, no network: one line says which
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise OSError(f"{name}: no such model folder, and no hub download ({reason})") from None


def main(args):
    on_cuda = torch.cuda.is_available()
    if args.activation_checkpointing is None:
        args.activation_checkpointing = on_cuda
    if args.dry_run:
        rank, world_size, device = 0, args.world_size or int(os.environ.get("WORLD_SIZE", 1)), None
    else:
        rank, world_size, device = init_distributed()
    torch.manual_seed(args.seed)
    say = tqdm.write if rank == 0 else (lambda *a, **k: None)
    if args.dtype == "bf16" and not on_cuda and not args.dry_run:
        say("note: bf16 compute on CPU is several times slower than --dtype fp32")

    per_step = args.micro_batch_size * world_size
    if args.global_batch_size % per_step:
        fail(f"--global-batch-size {args.global_batch_size} is not a multiple of --micro-batch-size "
             f"{args.micro_batch_size} x {world_size} ranks")
    accumulation = args.global_batch_size // per_step

    # Config and tokenizer now; the weights come later, shard by shard.
    try:
        model_dir = resolve_model(args.model, weights=not args.dry_run)  # a dry run needs the config only
        config = AutoConfig.from_pretrained(model_dir, trust_remote_code=args.trust_remote_code)
        tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=args.trust_remote_code)
    except (OSError, ValueError) as e:
        fail(str(e))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    # Data: records -> examples (token ids, how many leading tokens carry no loss) -> batch plan.
    try:
        examples, stats = encode_records(tokenizer, read_records(args.data), args.loss, args.max_seq_len,
                                         progress=rank == 0)
    except (RecordError, OSError, ValueError) as e:
        fail(str(e))
    say(f"{args.data}: {stats['records']} records, {stats['truncated']} truncated to "
        f"{args.max_seq_len} tokens, {stats['dropped']} dropped (no answer token left)")
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(args.seed)).tolist()
    eval_examples = [examples[i] for i in order[:args.eval_size]]
    examples = [examples[i] for i in sorted(order[args.eval_size:])]
    lengths = [len(ids) for ids, _ in examples]
    eval_lengths = [len(ids) for ids, _ in eval_examples]
    plan, per_epoch = training_plan(lengths, args.global_batch_size, args.seed, args.epochs, args.max_steps,
                                    pack_to=args.max_seq_len if args.pack else None)
    if not plan:
        fail(f"{args.data}: {len(examples)} training examples make fewer sequences than one global batch")
    total_steps = len(plan)
    warmup = warmup_steps(total_steps, args.warmup_ratio)
    planned_tokens = sum(tokens_in(seq, lengths) for batch in plan for seq in batch)
    say(f"plan: {total_steps} steps ({per_epoch} per epoch, {warmup} warm-up) of "
        f"{args.global_batch_size} sequences = {args.micro_batch_size} x {accumulation} accumulation x "
        f"{world_size} ranks; {planned_tokens:,} tokens; padding efficiency "
        f"{padding_efficiency(plan[:per_epoch], lengths, world_size, args.micro_batch_size):.1%}; "
        f"{len(eval_examples)} held out")

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32,
                                                 trust_remote_code=args.trust_remote_code)
    if args.dry_run:
        n_params = sum(p.numel() for p in model.parameters())
        seq_len = args.max_seq_len if args.pack else max(lengths)
        print(f"model: {n_params / 1e9:.3f} B parameters; per-GPU memory estimate for {world_size} GPUs, "
              f"micro-batch {args.micro_batch_size} x {seq_len} tokens, {args.dtype} compute:")
        print(format_estimate(estimate_memory(config, n_params, world_size, args.micro_batch_size,
                                              seq_len, DTYPES[args.dtype].itemsize)))
        return

    # The run folder: a fresh run must not overwrite checkpoints; a resumed one must keep its trajectory.
    out = Path(args.out)
    metrics_path = out / "metrics.jsonl"
    trajectory = {k: getattr(args, k) for k in TRAJECTORY}
    checkpoint = latest_checkpoint(out)
    if checkpoint is not None and not args.resume:
        fail(f"{out} already has {checkpoint.name}; pass --resume to continue it, or choose another --out")
    if checkpoint is not None:
        saved = json.loads((checkpoint / "state.json").read_text())["args"]
        for k in TRAJECTORY:
            if saved[k] != trajectory[k]:
                fail(f"{checkpoint} was made with --{k.replace('_', '-')} {saved[k]}, "
                     f"this run has {trajectory[k]}; a resumed run must keep it")
    elif args.resume:
        say(f"{out}: no checkpoint to resume from, starting at step 0")

    # Model: shard on meta, then fill each rank's shards from the checkpoint, tensor by tensor.
    # On CPU, memory is plentiful and gloo all-gathers are slow (~1.6 s for 135M fp32 parameters):
    # layers stay gathered from forward to backward there. On GPUs they are resharded (ZeRO-3).
    model = shard_model(model, DTYPES[args.dtype], args.activation_checkpointing,
                        reshard_after_forward=on_cuda)
    try:
        unused = load_sharded_weights(model, model_dir, device)
    except (OSError, ValueError) as e:
        fail(str(e))
    if unused:
        say(f"{model_dir}: {len(unused)} checkpoint tensors not used by the model: {', '.join(unused[:3])}")
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=args.weight_decay, foreach=True)
    start = 0
    if checkpoint is not None:
        start = load_checkpoint(checkpoint, model, optimizer)["step"]
        say(f"resumed from {checkpoint} at step {start}")
    if rank == 0:  # metrics.jsonl holds exactly the steps done so far
        kept = []
        for line in metrics_path.read_text().splitlines() if metrics_path.exists() else []:
            try:
                if json.loads(line)["step"] <= start:
                    kept.append(line + "\n")
            except json.JSONDecodeError:  # only the last line, cut by a kill, can be incomplete
                break
        with atomic_write(metrics_path) as f:
            f.write("".join(kept))

    def forward_loss_sum(input_ids, targets, position_ids):
        """Summed cross-entropy over the supervised tokens of one micro-batch (fp32 logits)."""
        # No attention mask and no KV cache: transformers then reads the restarting position ids
        # as sequence boundaries (see mnlu.data.collate). With a cache it would silently not.
        logits = model(input_ids=input_ids.to(device), position_ids=position_ids.to(device),
                       use_cache=False).logits
        return F.cross_entropy(logits.float().flatten(0, 1), targets.to(device).flatten(),
                               ignore_index=IGNORE, reduction="sum")

    @torch.no_grad()
    def evaluate():
        """Token-weighted held-out loss; every rank runs the same number of forwards."""
        model.eval()
        loss_sum = count = 0.0
        sequences = [[i] for i in range(len(eval_examples))]
        for first in range(0, len(sequences), per_step):
            batch = sequences[first:first + per_step]
            for micro in micro_batches(batch, eval_lengths, rank, world_size, args.micro_batch_size):
                input_ids, targets, position_ids = collate(micro, eval_examples, pad_id)
                loss_sum += forward_loss_sum(input_ids, targets, position_ids).item()
                count += (targets != IGNORE).sum().item()
        model.train()
        return all_sum(loss_sum, device) / all_sum(count, device)

    model.train()
    metrics = open(metrics_path, "a", encoding="utf-8") if rank == 0 else None
    bar = tqdm(total=total_steps, initial=start, desc="training", unit="step", disable=rank != 0)
    for step in range(start + 1, total_steps + 1):
        t0 = time.perf_counter()
        mine = micro_batches(plan[step - 1], lengths, rank, world_size, args.micro_batch_size)
        micros = [collate(m, examples, pad_id) for m in mine]
        # Count the step's supervised tokens over all micro-batches and ranks first: each
        # micro-batch's summed loss is divided by this one number, and FSDP sums (not averages)
        # gradients, so the step's gradient is exactly that of the global per-token mean.
        loss_tokens = all_sum(sum((t != IGNORE).sum().item() for _, t, _ in micros), device)
        tokens = all_sum(sum(tokens_in(seq, lengths) for m in mine for seq in m), device)
        loss_sum = 0.0
        for k, (input_ids, targets, position_ids) in enumerate(micros):
            # On CPU, gradients are summed locally and reduce-scattered once per step (one model
            # copy more in memory); on GPUs every micro-batch's are, keeping gradients sharded.
            model.set_requires_gradient_sync(on_cuda or k == len(micros) - 1)
            loss = forward_loss_sum(input_ids, targets, position_ids)
            (loss / loss_tokens).backward()
            loss_sum += loss.detach()
        loss = all_sum(loss_sum, device) / loss_tokens
        # The norm of the whole gradient (a DTensor, reduced over the shards), before clipping.
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip).full_tensor().item()
        lr = lr_at(step, total_steps, warmup, args.lr)
        finite = math.isfinite(loss) and math.isfinite(grad_norm)
        if finite:
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
        else:
            say(f"step {step}: loss {loss} or gradient norm {grad_norm} is not finite; "
                "optimizer step skipped")
        optimizer.zero_grad(set_to_none=True)

        record = {"step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm, "tokens": int(tokens),
                  "loss_tokens": int(loss_tokens), "tokens_per_s": tokens / (time.perf_counter() - t0)}
        if not finite:
            record["skipped"] = True
        if args.eval_every and step % args.eval_every == 0:
            record["eval_loss"] = evaluate()
        if rank == 0:
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
        bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{record['tokens_per_s']:.0f}")
        bar.update()
        if step % args.save_every == 0 or step == total_steps:
            save_checkpoint(out, step, model, optimizer, {"args": trajectory})
    bar.close()
    if metrics:
        metrics.close()

    export_hf(out / "model", model, tokenizer, DTYPES[args.export_dtype])
    say(f"exported {out / 'model'}")
    teardown()


if __name__ == "__main__":
    main(parse_args())
