#!/usr/bin/env bash
# Task-diversity ablation (Fu et al. 2024, Figure 2): does instruction tuning on more task types,
# at a constant 50,000 instances, improve zero-shot relation extraction? Six mixes, 1, 3 or 5
# task types with RE among them (tasks_re, tasks_re_nli_ner, tasks_re_nli_ner_ee_sts) or with DC
# in its place (tasks_dc, tasks_dc_nli_ner, tasks_dc_nli_ner_ee_sts); each fine-tunes the base
# model with the paper's settings, and each fine-tuned model answers the RE test sets (ChemProt,
# DDI, GAD, and i2b2-2010 where its credentialed release is present) zero-shot. The base model
# answers them with the paper's 2-shot prompts, the baseline. The figure: mean RE micro F1
# against the number of task types, one line with RE, one without, the baseline dashed; the
# table gives every system's scores.
#
# The fine-tuned models are evaluated, not merged with the base: the authors' released code does
# not say which the paper's ablations used, and the ablations compare instruction data, which the
# fine-tuned models show undiluted.
#
# usage: scripts/ablation_task_diversity.sh MODEL RAW OUT [--tiny]
#
#   MODEL   the base model: a Hugging Face folder or hub id (the paper: BioMistral-7B-DARE)
#   RAW     one folder holding the evaluation releases (RAW/<dataset id>/, docs/DATA.md) and the
#           MNLU-Instruct source releases (RAW/<Source>/...)
#   OUT     everything the run writes; run_biomistral_nlu.sh and ablation_domain.sh can share it
#   --tiny  demo scale on CPU: dev splits, 10 instances per mix, 2 training steps on 2 processes
#           in fp32, transformers instead of vLLM, 4 answers per dataset
#
# Needs: 4 GPUs with 80 GB each, vLLM (pip install -e '.[vllm]' from the checkout), matplotlib for the figure, the
# full releases (the public data alone cannot meet these recipes: docs/DATA.md), disk for six
# fine-tuned 7B models (~15 GB each) and one training checkpoint at a time (~87 GB each).
# Time: six fine-tunings of 50,000 x 3 epochs / 16 = 9,375 steps each, plus inference on the
# three RE test sets per model; not measured on GPUs in this project.
#
# Steps (each is echoed; one whose output exists is skipped, so a killed run resumes):
#   python -m data_builders build --raw-dir RAW --out OUT/eval --split train test
#   python -m data_builders build-instruct --raw-dir RAW --out OUT/instruct
#   python infer.py --model MODEL --shots paper --data OUT/eval/{chemprot,ddi,gad,i2b2_2010}/test.jsonl --out OUT/preds/base --backend vllm  (x4: one per GPU)
#   for each MIX of the six:
#     python -m data_builders mix --built OUT/instruct --recipe MIX --total 50000 --exclude-eval OUT/eval --out OUT/mixes/MIX.jsonl
#     torchrun --standalone --nproc_per_node 4 train.py --model MODEL --data OUT/mixes/MIX.jsonl --out OUT/runs/MIX --resume
#     python infer.py --model OUT/runs/MIX/model --data OUT/eval/{chemprot,ddi,gad,i2b2_2010}/test.jsonl --out OUT/preds/MIX --backend vllm  (x4: one per GPU)
#   python evaluate.py OUT/preds/{the six} OUT/preds/base --out OUT/reports/task_diversity
#   python scripts/plot_ablation.py OUT/reports/task_diversity/scores.json --experiment task_diversity --out OUT/figures/task_diversity
# and prints OUT/figures/task_diversity/table.md (the figure is figure.png beside it).
set -euo pipefail
source "$(dirname "$0")/steps.sh"

tiny=
parse_arguments "scripts/ablation_task_diversity.sh MODEL RAW OUT [--tiny]" "$@"

MIXES=(tasks_re tasks_re_nli_ner tasks_re_nli_ner_ee_sts tasks_dc tasks_dc_nli_ner tasks_dc_nli_ner_ee_sts)
DATASETS=(chemprot ddi gad i2b2_2010)  # i2b2-2010 where its credentialed release was built

# ---- full scale or --tiny: everything that differs -------------------------------------------
if [[ $tiny ]]; then
    SPLITS=(dev)   EVAL_SPLIT=dev   TOTAL=10   NPROC=2
    SCALE=(--dtype fp32 --max-steps 2 --micro-batch-size 1 --global-batch-size 2 --export-dtype fp32)
    INFER=(--backend hf --limit 4 --max-tokens 32)   ENGINES=2
else
    SPLITS=(train test)   EVAL_SPLIT=test   TOTAL=50000   NPROC=4
    SCALE=()
    INFER=(--backend vllm)   ENGINES=4  # one vLLM engine per GPU
fi

# 1. the evaluation sets (all of them: no mix may hold their texts) and MNLU-Instruct
build_data "${SPLITS[@]}"  # steps.sh: data_builders build, build-instruct

# 2. the base model's 2-shot answers (the figure's baseline); per mix: mix, fine-tune with the
#    paper's settings, answer the RE sets zero-shot
EVAL_FILES=()
for dataset in "${DATASETS[@]}"; do
    [[ -e $OUT/eval/$dataset/$EVAL_SPLIT.jsonl ]] && EVAL_FILES+=("$OUT/eval/$dataset/$EVAL_SPLIT.jsonl")
done
answer_with_base  # steps.sh: infer.py --shots paper
for mix in "${MIXES[@]}"; do
    fine_tune_and_answer "$mix" "$TOTAL"  # steps.sh: mix, train.py, infer.py
done

# 3. score the six systems and the baseline, then the figure and the table
score_and_plot task_diversity  # steps.sh: evaluate.py, plot_ablation.py, the table
