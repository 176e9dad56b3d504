# Sourced by the experiment scripts (scripts/run_biomistral_nlu.sh, scripts/ablation_*.sh): their
# command line, and how one step is echoed, run, or skipped when a killed run is started again.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# parse_arguments USAGE ARG...: MODEL, RAW and OUT from the three positional arguments; each
# option that USAGE lists as [--name] sets the variable `name` to 1 (the caller declares it
# empty); -h/--help prints the script's header comment. Anything else exits with the usage.
parse_arguments() {
    local usage=$1 arg positional=()
    shift
    for arg in "$@"; do
        case $arg in
            -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
            -*) [[ $usage == *"[$arg]"* ]] || usage_error "$usage" "unknown option $arg"
                printf -v "${arg#--}" 1 ;;
            *) positional+=("$arg") ;;
        esac
    done
    ((${#positional[@]} == 3)) || usage_error "$usage" "expected MODEL RAW OUT, got ${#positional[@]} argument(s)"
    MODEL=${positional[0]} RAW=${positional[1]} OUT=${positional[2]}
    [[ -d $RAW ]] || usage_error "$usage" "RAW is not a folder: $RAW"
}

# usage_error USAGE MESSAGE: the usage line and what was wrong, exit status 2 (as argparse).
usage_error() {
    echo "usage: $1" >&2
    echo "error: $2" >&2
    exit 2
}

# step DONE COMMAND...: run COMMAND unless DONE exists, echoing it either way, so the log always
# shows the whole pipeline. DONE must appear only once the step's output is complete: the tools
# write their final outputs atomically, and a tool that fills a folder piece by piece is given
# DONE.partial as its output folder, renamed to DONE once the command has succeeded (a killed
# step leaves DONE.partial, which the tool resumes or rebuilds on the next run).
step() {
    local done=$1
    shift
    if [[ -e $done ]]; then
        echo "skip ($done exists): $(quote "$@")"
        return
    fi
    echo "+ $(quote "$@")"
    "$@"
    if [[ -e $done.partial ]]; then
        mv "$done.partial" "$done"
        echo "complete: $done"
    fi
}

# quote WORD...: the words as one shell-quoted line that can be pasted back into a terminal.
quote() {
    printf '%q ' "$@" | sed 's/ $//'
}

# build_data SPLIT...: the evaluation sets (all of them, SPLITs only: no mix may hold their texts)
# and MNLU-Instruct, from RAW into OUT/eval and OUT/instruct.
build_data() {
    step "$OUT/eval" python -m data_builders build --raw-dir "$RAW" --out "$OUT/eval.partial" --split "$@"
    step "$OUT/instruct" python -m data_builders build-instruct --raw-dir "$RAW" --out "$OUT/instruct"
}

# fine_tune_and_answer MIX TOTAL: one system of an ablation: TOTAL instances mixed by the recipe
# MIX, the base MODEL fine-tuned on them with the paper's settings, and the fine-tuned model's
# zero-shot answers to EVAL_FILES. Reads MODEL, OUT, NPROC, SCALE, ENGINES, INFER and EVAL_FILES.
fine_tune_and_answer() {
    local mix=$1 total=$2
    step "$OUT/mixes/$mix.jsonl.counts.json" python -m data_builders mix --built "$OUT/instruct" --recipe "$mix" \
        --total "$total" --exclude-eval "$OUT/eval" --out "$OUT/mixes/$mix.jsonl"
    step "$OUT/runs/$mix/model" torchrun --standalone --nproc_per_node "$NPROC" "$ROOT/train.py" --model "$MODEL" \
        --data "$OUT/mixes/$mix.jsonl" --out "$OUT/runs/$mix" --resume "${SCALE[@]}"
    answer "$OUT/preds/$mix" --model "$OUT/runs/$mix/model" -- "${EVAL_FILES[@]}"
}

# answer DONE FLAG... -- FILE...: the answers of infer.py FLAG... (with INFER) to the FILEs, into DONE.
# ENGINES processes run at once, each on its own GPU (CUDA_VISIBLE_DEVICES) and its share of the
# files, the largest first, into DONE.engines/engine-K (each resumes like any infer.py folder);
# then scripts/join_predictions.py makes them one folder. A 7B model fits one GPU: one engine per
# GPU answers faster than one engine spread over all of them. Reads ENGINES and INFER.
answer() {
    local done=$1 flags=() files=() shares=() pids=() k i failed=
    shift
    while [[ $1 != -- ]]; do flags+=("$1"); shift; done
    shift
    mapfile -t files < <(ls -S "$@")
    for ((k = 0; k < ENGINES && k < ${#files[@]}; k++)); do
        local share=()
        for ((i = k; i < ${#files[@]}; i += ENGINES)); do share+=("${files[i]}"); done
        shares+=("$done.engines/engine-$k")
        local command=(python "$ROOT/infer.py" "${flags[@]}" --data "${share[@]}" --out "${shares[k]}" "${INFER[@]}")
        local line="CUDA_VISIBLE_DEVICES=$k $(quote "${command[@]}") &"
        if [[ -e $done ]]; then
            echo "skip ($done exists): $line"
        else
            echo "+ $line"
            CUDA_VISIBLE_DEVICES=$k "${command[@]}" &
            pids+=($!)
        fi
    done
    for k in "${pids[@]}"; do wait "$k" || failed=1; done
    [[ -z $failed ]] || { echo "an infer.py engine failed (above); run the script again to resume it" >&2; exit 1; }
    step "$done" python "$ROOT/scripts/join_predictions.py" "${shares[@]}" --out "$done.partial"
}

# answer_with_base: the paper's baseline, the base MODEL with 2 demonstrations on span tasks (zero-
# shot on choice tasks), on the EVAL_FILES it can answer: a span set needs its train split beside
# it to draw demonstrations from. Writes OUT/preds/base; nothing when no file qualifies. Reads
# MODEL, OUT, ENGINES, INFER and EVAL_FILES.
answer_with_base() {
    local files=()
    mapfile -t files < <(python "$ROOT/scripts/baseline_files.py" "${EVAL_FILES[@]}")
    ((${#files[@]})) || { echo "no evaluation set the 2-shot baseline can answer: no base model answers"; return; }
    answer "$OUT/preds/base" --model "$MODEL" --shots paper -- "${files[@]}"
}

# score_and_plot EXPERIMENT: one evaluate.py over the six MIXES' answers (and the base model's,
# where it answered), then the figure and the table of plot_ablation.py, and print the table.
# Reads MIXES and OUT.
score_and_plot() {
    local experiment=$1 systems=("${MIXES[@]/#/$OUT/preds/}")
    [[ -e $OUT/preds/base ]] && systems+=("$OUT/preds/base")
    step "$OUT/reports/$experiment" python "$ROOT/evaluate.py" "${systems[@]}" --out "$OUT/reports/$experiment"
    step "$OUT/figures/$experiment" python "$ROOT/scripts/plot_ablation.py" "$OUT/reports/$experiment/scores.json" \
        --experiment "$experiment" --out "$OUT/figures/$experiment"
    cat "$OUT/figures/$experiment/table.md"
}
