#!/usr/bin/env bash
# Domain ablation (Fu et al. 2024, Figure 3): does NER instruction data from clinical notes help,
# or hurt, zero-shot NER on biomedical literature? Six mixes of NER instances (event triggers
# count as entities): from literature, from notes or half each (domain_biomed, domain_clinical,
# domain_both), 25,000 or 50,000 of them; each fine-tunes the base model with the paper's
# settings, and each fine-tuned model answers the six BLURB NER test sets (BC5CDR-chem,
# BC5CDR-disease, NCBI-disease, BC2GM, JNLPBA, EBM-PICO) zero-shot. The base model answers them
# with the paper's 2-shot prompts, the baseline. The figure: mean NER F1 as grouped bars, 25k
# and 50k, one bar per domain, the baseline dashed; the table gives every system's scores.
#
# The fine-tuned models are evaluated, not merged with the base: the authors' released code does
# not say which the paper's ablations used, and the ablations compare instruction data, which the
# fine-tuned models show undiluted.
#
# usage: scripts/ablation_domain.sh MODEL RAW OUT [--tiny]
#
#   MODEL   the base model: a Hugging Face folder or hub id (the paper: BioMistral-7B-DARE)
#   RAW     one folder holding the evaluation releases (RAW/<dataset id>/, docs/DATA.md; JNLPBA
#           needs its typed release) and the MNLU-Instruct source releases (RAW/<Source>/...)
#   OUT     everything the run writes; run_biomistral_nlu.sh and ablation_task_diversity.sh can
#           share it
#   --tiny  demo scale on CPU: dev splits, 5 and 10 instances per mix (the recipes' 1:2), 2
#           training steps on 2 processes in fp32, transformers instead of vLLM, 4 answers per
#           dataset
#
# Needs: 4 GPUs with 80 GB each, vLLM (pip install -e '.[vllm]' from the checkout), matplotlib for the figure, the
# full releases (the clinical NER corpora are credentialed i2b2/n2c2 data: docs/DATA.md), disk for
# six fine-tuned 7B models (~15 GB each) and one training checkpoint at a time (~87 GB each).
# Time: six fine-tunings of 25,000 or 50,000 x 3 epochs / 16 = 4,688 or 9,375 steps, plus
# inference on the five NER test sets per model; not measured on GPUs in this project.
#
# Steps (each is echoed; one whose output exists is skipped, so a killed run resumes):
#   python -m data_builders build --raw-dir RAW --out OUT/eval --split train test
#   python -m data_builders build-instruct --raw-dir RAW --out OUT/instruct
#   python infer.py --model MODEL --shots paper --data OUT/eval/{bc5cdr_chem,...,ebm_pico}/test.jsonl --out OUT/preds/base --backend vllm  (x4: one per GPU)
#   for each MIX of the six:
#     python -m data_builders mix --built OUT/instruct --recipe MIX --total 25000|50000 --exclude-eval OUT/eval --out OUT/mixes/MIX.jsonl
#     torchrun --standalone --nproc_per_node 4 train.py --model MODEL --data OUT/mixes/MIX.jsonl --out OUT/runs/MIX --resume
#     python infer.py --model OUT/runs/MIX/model --data OUT/eval/{bc5cdr_chem,...,ebm_pico}/test.jsonl --out OUT/preds/MIX --backend vllm  (x4: one per GPU)
#   python evaluate.py OUT/preds/{the six} OUT/preds/base --out OUT/reports/domain
#   python scripts/plot_ablation.py OUT/reports/domain/scores.json --experiment domain --out OUT/figures/domain
# and prints OUT/figures/domain/table.md (the figure is figure.png beside it).
set -euo pipefail
source "$(dirname "$0")/steps.sh"

tiny=
parse_arguments "scripts/ablation_domain.sh MODEL RAW OUT [--tiny]" "$@"

MIXES=(domain_biomed_25k domain_clinical_25k domain_both_25k domain_biomed_50k domain_clinical_50k domain_both_50k)
DATASETS=(bc5cdr_chem bc5cdr_disease ncbi_disease bc2gm jnlpba ebm_pico)

# ---- full scale or --tiny: everything that differs -------------------------------------------
declare -A TOTAL  # by the mix's size suffix
if [[ $tiny ]]; then
    SPLITS=(dev)   EVAL_SPLIT=dev   TOTAL=([25k]=5 [50k]=10)   NPROC=2
    SCALE=(--dtype fp32 --max-steps 2 --micro-batch-size 1 --global-batch-size 2 --export-dtype fp32)
    INFER=(--backend hf --limit 4 --max-tokens 32)   ENGINES=2
else
    SPLITS=(train test)   EVAL_SPLIT=test   TOTAL=([25k]=25000 [50k]=50000)   NPROC=4
    SCALE=()
    INFER=(--backend vllm)   ENGINES=4  # one vLLM engine per GPU
fi

# 1. the evaluation sets (all of them: no mix may hold their texts) and MNLU-Instruct
build_data "${SPLITS[@]}"  # steps.sh: data_builders build, build-instruct

# 2. the base model's 2-shot answers (the figure's baseline); per mix: mix, fine-tune with the
#    paper's settings, answer the NER sets zero-shot
EVAL_FILES=()
for dataset in "${DATASETS[@]}"; do EVAL_FILES+=("$OUT/eval/$dataset/$EVAL_SPLIT.jsonl"); done
answer_with_base  # steps.sh: infer.py --shots paper
for mix in "${MIXES[@]}"; do
    fine_tune_and_answer "$mix" "${TOTAL[${mix##*_}]}"  # steps.sh: mix, train.py, infer.py
done

# 3. score the six systems and the baseline, then the figure and the table
score_and_plot domain  # steps.sh: evaluate.py, plot_ablation.py, the table
