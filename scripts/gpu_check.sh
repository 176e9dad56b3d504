#!/usr/bin/env bash
# The GPU path end to end on one GPU, in minutes, with nothing fetched from a model hub.
#
# usage: scripts/gpu_check.sh OUT [--cpu]
#
#   OUT    a new folder for everything the check writes; OUT/summary.md is its result
#   --cpu  the same steps at toy size on the CPU (fp32, 2 steps): a check of this script itself
#
# Steps (each runs even when one before it failed; the summary says which failed):
#   model      a random ~100M-parameter Llama (untied embeddings, like Mistral) in bf16, with a
#              word-level tokenizer made from the demo corpus, and the demo's records
#   plan       train.py --dry-run: the memory plan to compare with the peak measured
#   train      torchrun --nproc_per_node 1 train.py, bf16, activation checkpointing, 20 steps
#   resume     the last checkpoint and the model removed, then --resume from step 10: the
#              losses of steps 11-20 must match the first run's
#   packed     the same 20 steps with --pack
#   merge      merge.py: the base + DARE(fine-tuned - base)
#   infer-hf   infer.py --backend hf on 16 records of each demo dataset
#   infer-vllm infer.py --backend vllm on the same records, where vLLM imports; its predictions are
#              compared with the hf ones
# The summary gives each step's status and time, tokens/s, MFU and peak memory against the plan.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT=${1:?usage: scripts/gpu_check.sh OUT [--cpu]}
CPU=${2:-}
[[ -z $CPU || $CPU == --cpu ]] || { echo "usage: scripts/gpu_check.sh OUT [--cpu]" >&2; exit 2; }
[[ ! -e $OUT ]] || { echo "error: $OUT exists; give a new folder" >&2; exit 2; }
mkdir -p "$OUT"
cd "$ROOT"
if [[ $CPU ]]; then
    SIZE=(64 2 2) DTYPE=(--dtype fp32) STEPS=2 SAVE=1 INFER=(--limit 2 --max-tokens 8)
else
    SIZE=(768 16 12) DTYPE=(--dtype bf16) STEPS=20 SAVE=10 INFER=(--limit 16 --max-tokens 48)
fi
TRAIN=(--global-batch-size 8 --micro-batch-size 4 --max-steps "$STEPS" --save-every "$SAVE" --lr 1e-4 "${DTYPE[@]}")
STATUS=()

# check NAME COMMAND...: run COMMAND, its output to OUT/NAME.log; record its status and time.
check() {
    local name=$1 start=$SECONDS
    shift
    echo "+ $name: $*"
    if "$@" >"$OUT/$name.log" 2>&1; then
        STATUS+=("| $name | ok | $((SECONDS - start)) s |")
    else
        STATUS+=("| $name | **failed** (exit $?, see $name.log) | $((SECONDS - start)) s |")
        echo "  $name failed: tail of $OUT/$name.log" && tail -5 "$OUT/$name.log"
    fi
}

make_model() {
    python -m demo.corpus --out "$OUT/raw" &&
        python -m data_builders build --raw-dir "$OUT/raw" --out "$OUT/eval" --split train dev &&
        python -m data_builders build-instruct --raw-dir "$OUT/raw" --out "$OUT/instruct" &&
        python -m data_builders mix --built "$OUT/instruct" --recipe demo --out "$OUT/mix.jsonl" &&
        python - "$OUT" "${SIZE[@]}" "$CPU" <<'EOF'
import json, re, sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

out, width, layers, heads, cpu = Path(sys.argv[1]), *map(int, sys.argv[2:5]), sys.argv[5]
texts = [m["content"] for f in [out / "mix.jsonl", *out.glob("eval/*/*.jsonl")]
         for line in f.read_text().splitlines() for m in json.loads(line)["messages"]]
special = ["<unk>", "<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>"]
words = sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]", t)} - set(special))
backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(special + words)}, unk_token="<unk>"))
backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                              pad_token="<pad>", additional_special_tokens=special[4:])
config = LlamaConfig(vocab_size=len(tok), hidden_size=width, intermediate_size=width * 8 // 3, num_hidden_layers=layers,
                     num_attention_heads=heads, num_key_value_heads=max(1, heads // 3), max_position_embeddings=4096,
                     tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=3)
torch.manual_seed(0)
model = LlamaForCausalLM(config).to(torch.float32 if cpu else torch.bfloat16)
model.save_pretrained(out / "model")
tok.save_pretrained(out / "model")
print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters, vocabulary {len(tok)}")
EOF
}

resume_from_middle() {
    cp -r "$OUT/train" "$OUT/resumed" &&
        rm -rf "$OUT/resumed/model" "$OUT/resumed/checkpoints/step-$(printf %06d "$STEPS")" &&
        torchrun --standalone --nproc_per_node 1 train.py --model "$OUT/model" --data "$OUT/mix.jsonl" \
            --out "$OUT/resumed" "${TRAIN[@]}" --resume &&
        python - "$OUT/train/metrics.jsonl" "$OUT/resumed/metrics.jsonl" <<'EOF'
import json, sys
first, resumed = ([json.loads(line)["loss"] for line in open(path)] for path in sys.argv[1:])
assert len(first) == len(resumed), f"{len(first)} steps, resumed {len(resumed)}"
worst = max(abs(a - b) for a, b in zip(first, resumed))
print(f"largest loss difference after the resume: {worst:.2e}")
assert worst < 1e-3, "the resumed run does not follow the first one"
EOF
}

compare_predictions() {
    python - "$OUT/preds-hf" "$OUT/preds-vllm" <<'EOF'
import json, sys
from pathlib import Path
hf, vllm = (Path(p) for p in sys.argv[1:])
same = total = 0
for path in sorted(hf.glob("*.jsonl")):
    a = {r["id"]: r["prediction"] for r in map(json.loads, path.read_text().splitlines())}
    b = {r["id"]: r["prediction"] for r in map(json.loads, (vllm / path.name).read_text().splitlines())}
    same += sum(a[i] == b.get(i) for i in a)
    total += len(a)
print(f"vLLM gave the hf backend's answer on {same} of {total} records")
EOF
}

infer_vllm() {
    if ! python -c "import vllm" 2>/dev/null; then
        echo "vLLM does not import here: skipped"
        return 0
    fi
    python infer.py --model "$OUT/merged" --data "$OUT"/eval/*/dev.jsonl --out "$OUT/preds-vllm" \
        --backend vllm "${INFER[@]}" && compare_predictions
}

check model make_model
check plan python train.py --model "$OUT/model" --data "$OUT/mix.jsonl" --out "$OUT/plan" "${TRAIN[@]}" \
    --dry-run --world-size 1
check train torchrun --standalone --nproc_per_node 1 train.py --model "$OUT/model" --data "$OUT/mix.jsonl" \
    --out "$OUT/train" "${TRAIN[@]}"
check resume resume_from_middle
check packed torchrun --standalone --nproc_per_node 1 train.py --model "$OUT/model" --data "$OUT/mix.jsonl" \
    --out "$OUT/packed" "${TRAIN[@]}" --pack
check merge python merge.py --base "$OUT/model" --finetuned "$OUT/train/model" --out "$OUT/merged"
check infer-hf python infer.py --model "$OUT/merged" --data "$OUT"/eval/*/dev.jsonl --out "$OUT/preds-hf" \
    "${INFER[@]}" --backend hf
check infer-vllm infer_vllm

printf '# GPU check\n\n| step | status | time |\n|---|---|---|\n' >"$OUT/summary.md"
printf '%s\n' "${STATUS[@]}" >>"$OUT/summary.md"
python - "$OUT" >>"$OUT/summary.md" <<'EOF'
import json, re, statistics, sys
from pathlib import Path
out = Path(sys.argv[1])
for run in ("train", "packed"):
    path = out / run / "metrics.jsonl"
    if not path.exists():
        continue
    steps = [json.loads(line) for line in path.read_text().splitlines()]
    tokens = statistics.median(s["tokens_per_s"] for s in steps)
    line = f"\n{run}: {len(steps)} steps, median {tokens:,.0f} tokens/s"
    if "mfu" in steps[-1]:
        mfu = [s["mfu"] for s in steps[1:] if s["mfu"] is not None]  # the first step compiles and warms up
        line += f", median MFU {statistics.median(mfu):.1%}" if mfu else ", MFU unknown for this GPU"
        line += f", peak memory {max(s['peak_memory_gib'] for s in steps):.2f} GiB"
    print(line)
plan = (out / "plan.log").read_text() if (out / "plan.log").exists() else ""
if found := re.search(r"total, checkpointing\s+([\d.]+) GiB", plan):
    print(f"\nplanned (train.py --dry-run): {found[1]} GiB with activation checkpointing")
for name in ("resume", "infer-vllm"):
    log = out / f"{name}.log"
    if log.exists() and (last := log.read_text().strip().splitlines()):
        print(f"\n{name}: {last[-1]}")
EOF
cat "$OUT/summary.md"
[[ ${STATUS[*]} != *failed* ]]
