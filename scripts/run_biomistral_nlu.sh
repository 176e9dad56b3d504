#!/usr/bin/env bash
# BioMistral-NLU from raw releases to the paper's Table 5 (Fu et al. 2024): build the 15 BLURB and
# BLUE evaluation sets and MNLU-Instruct, fully fine-tune the base model on the `full` mix on 4
# GPUs, merge it back with the base by DARE, answer the 15 test sets with vLLM (the base model
# 2-shot, the fine-tuned and the merged model zero-shot: Table 5's BioMistral, BioMistral-NLU-FT
# and BioMistral-NLU rows) and score them beside the paper's columns.
#
# usage: scripts/run_biomistral_nlu.sh MODEL RAW OUT [--released] [--tiny]
#
#   MODEL       the base model: a Hugging Face folder or hub id (BioMistral/BioMistral-7B-DARE)
#   RAW         one folder holding the evaluation releases (RAW/<dataset id>/, docs/DATA.md) and
#               the MNLU-Instruct source releases (RAW/<Source>/...); missing ones are skipped
#   OUT         everything the run writes; the ablation scripts can share it (same data)
#   --released  train.py --preset released, the authors' released code (lr 2e-5, 2 epochs, packed
#               2048-token sequences, loss on every token, 16 sequences per GPU), instead of
#               --preset paper (lr 2e-4, 3 epochs, global batch 16, loss on the answers); the run
#               is then named biomistral-nlu-released
#   --tiny      demo scale on CPU: dev splits, 12 instances, 2 training steps on 2 processes in
#               fp32, transformers instead of vLLM, 4 answers per dataset (under a minute on
#               2 CPU cores with a tiny model)
#
# Needs: 4 GPUs with 80 GB each (A100/H100; train.py --dry-run prints the memory plan), vLLM
# (pip install -e '.[vllm]' from the checkout), matplotlib for the plot (the `plot` extra), and disk for about
# four 7B models (base, checkpoint, fine-tuned, merged: ~15 GB each in bf16, ~87 GB for the
# checkpoint with its fp32 weights and AdamW state).
# Time: dominated by the fine-tuning, whose step count depends on the size of the full mix
# (OUT/mixes/full.jsonl.counts.json): steps = instances x epochs / global batch, as
# `train.py --dry-run` prints; not measured on GPUs in this project.
#
# Steps (each is echoed; one whose output exists is skipped, so a killed run resumes):
#   python -m data_builders build --raw-dir RAW --out OUT/eval --split train test
#   python -m data_builders build-instruct --raw-dir RAW --out OUT/instruct
#   python -m data_builders mix --built OUT/instruct --recipe full --exclude-eval OUT/eval --out OUT/mixes/full.jsonl
#   torchrun --standalone --nproc_per_node 4 train.py --model MODEL --data OUT/mixes/full.jsonl --out OUT/runs/NAME --resume --preset paper|released
#   python merge.py --base MODEL --finetuned OUT/runs/NAME/model --weight 0.5 --drop-rate 0.2 --out OUT/merged/NAME
#   python infer.py --model MODEL --shots paper --data OUT/eval/*/test.jsonl --out OUT/preds/base --backend vllm  (x4: one per GPU)
#   python infer.py --model OUT/runs/NAME/model --data OUT/eval/*/test.jsonl --out OUT/preds/NAME-ft --backend vllm  (x4: one per GPU)
#   python infer.py --model OUT/merged/NAME --data OUT/eval/*/test.jsonl --out OUT/preds/NAME --backend vllm  (x4: one per GPU)
#   python evaluate.py OUT/preds/base OUT/preds/NAME-ft OUT/preds/NAME --out OUT/reports/NAME --paper --plot
# (each infer.py runs as 4 processes, one vLLM engine per GPU on a share of the test sets, joined by
# scripts/join_predictions.py; the base model's answers skip the span sets without a train split:
# scripts/baseline_files.py) and prints OUT/reports/NAME/report.md. NAME: biomistral-nlu, or biomistral-nlu-released.
set -euo pipefail
source "$(dirname "$0")/steps.sh"

released= tiny=
parse_arguments "scripts/run_biomistral_nlu.sh MODEL RAW OUT [--released] [--tiny]" "$@"

# ---- the paper's or the released hyper-parameters -------------------------------------------
NAME=biomistral-nlu
RECIPE=(--preset paper)
if [[ $released ]]; then
    NAME=biomistral-nlu-released
    RECIPE=(--preset released)
fi
MERGE=(--weight 0.5 --drop-rate 0.2)            # the paper's and the released merge alike

# ---- full scale or --tiny: everything that differs -------------------------------------------
if [[ $tiny ]]; then
    SPLITS=(dev)   EVAL_SPLIT=dev   MIX=(--total 12)   NPROC=2
    SCALE=(--dtype fp32 --max-steps 2 --micro-batch-size 1 --global-batch-size 2 --export-dtype fp32)
    INFER=(--backend hf --limit 4 --max-tokens 32)   ENGINES=2
else
    SPLITS=(train test)   EVAL_SPLIT=test   MIX=()   NPROC=4
    SCALE=()
    INFER=(--backend vllm)   ENGINES=4  # one vLLM engine per GPU
fi

# 1. the evaluation sets (train splits: the 2-shot baselines' demonstrations) and MNLU-Instruct
build_data "${SPLITS[@]}"  # steps.sh: data_builders build, build-instruct
step "$OUT/mixes/full.jsonl.counts.json" python -m data_builders mix --built "$OUT/instruct" --recipe full \
    "${MIX[@]}" --exclude-eval "$OUT/eval" --out "$OUT/mixes/full.jsonl"

# 2. fine-tune, then merge back with the base
step "$OUT/runs/$NAME/model" torchrun --standalone --nproc_per_node "$NPROC" "$ROOT/train.py" --model "$MODEL" \
    --data "$OUT/mixes/full.jsonl" --out "$OUT/runs/$NAME" --resume "${RECIPE[@]}" "${SCALE[@]}"
step "$OUT/merged/$NAME" python "$ROOT/merge.py" --base "$MODEL" --finetuned "$OUT/runs/$NAME/model" \
    "${MERGE[@]}" --out "$OUT/merged/$NAME"

# 3. Table 5's rows: the base model with the paper's 2-shot prompts (BioMistral), the fine-tuned
#    model (BioMistral-NLU-FT) and the merged one (BioMistral-NLU), zero-shot, on every evaluation
#    set built; then the report with the paper's columns beside them
EVAL_FILES=("$OUT"/eval/*/"$EVAL_SPLIT.jsonl")
[[ -e ${EVAL_FILES[0]} ]] || { echo "no $OUT/eval/*/$EVAL_SPLIT.jsonl: no evaluation release found under $RAW" >&2; exit 1; }
answer_with_base  # steps.sh: infer.py --shots paper
answer "$OUT/preds/$NAME-ft" --model "$OUT/runs/$NAME/model" -- "${EVAL_FILES[@]}"  # steps.sh: infer.py per GPU
answer "$OUT/preds/$NAME" --model "$OUT/merged/$NAME" -- "${EVAL_FILES[@]}"
systems=("$OUT/preds/$NAME-ft" "$OUT/preds/$NAME")
[[ -e $OUT/preds/base ]] && systems=("$OUT/preds/base" "${systems[@]}")
step "$OUT/reports/$NAME" python "$ROOT/evaluate.py" "${systems[@]}" --out "$OUT/reports/$NAME" --paper --plot
cat "$OUT/reports/$NAME/report.md"
