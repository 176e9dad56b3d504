"""The figure and table of one ablation of the paper, from the scores.json that evaluate.py wrote.

    python scripts/plot_ablation.py OUT/reports/domain/scores.json --experiment domain --out OUT/figures/domain
    (and likewise with task_diversity for Figure 2)

Each system of an ablation (a model fine-tuned on one mix, named after its recipe) is summarised
by the plain mean of its headline scores on the experiment's datasets, as scores.json holds
them: nothing is rescored here. task_diversity (Figure 2): mean RE micro F1 (ChemProt, DDI, GAD,
i2b2-2010) against the number of task types in the mix (1, 3, 5), one line with RE in the mix,
one without. domain (Figure 3): mean NER score (the five BLURB NER datasets and EBM-PICO),
grouped bars, 25k and 50k instances, one bar per domain of the mix. A system named `base` (the
base model with the paper's 2-shot prompts) is the baseline: a row of the table and a dashed
line across the figure. A dataset no system has (i2b2-2010 needs a data-use agreement) is left
out of every mean, and the table says so. Writes OUT/table.md (printed too) and OUT/figure.png
(needs matplotlib, the `plot` extra; without it the table is still written).
"""

import argparse
import sys
from pathlib import Path

from mnlu.cli import InputError, run_main
from mnlu.fileio import atomic_directory, check_output_folder, read_json
from mnlu.scoring import is_real

BASELINE = "base"  # the base model's answers (2-shot), where the scores hold them

# Each experiment: its datasets, what their mean is, and where each system sits in the figure:
# system (= recipe name) -> (series, x). Series are lines (task_diversity) or bars (domain).
EXPERIMENTS = {
    "task_diversity": {
        "title": "Task diversity (Figure 2)",
        "datasets": ["chemprot", "ddi", "gad", "i2b2_2010"],
        "mean": "mean RE micro F1",
        "series": "mix",
        "x": "task types",
        "plot": "lines",
        "systems": {
            "tasks_re": ("w/ RE", 1),
            "tasks_re_nli_ner": ("w/ RE", 3),
            "tasks_re_nli_ner_ee_sts": ("w/ RE", 5),
            "tasks_dc": ("w/o RE", 1),
            "tasks_dc_nli_ner": ("w/o RE", 3),
            "tasks_dc_nli_ner_ee_sts": ("w/o RE", 5),
        },
    },
    "domain": {
        "title": "Domain of the NER instructions (Figure 3)",
        "datasets": ["bc5cdr_chem", "bc5cdr_disease", "ncbi_disease", "bc2gm", "jnlpba", "ebm_pico"],
        "mean": "mean NER F1",
        "series": "domain",
        "x": "instances",
        "plot": "bars",
        "systems": {
            "domain_biomed_25k": ("biomedical", "25k"),
            "domain_clinical_25k": ("clinical", "25k"),
            "domain_both_25k": ("both", "25k"),
            "domain_biomed_50k": ("biomedical", "50k"),
            "domain_clinical_50k": ("clinical", "50k"),
            "domain_both_50k": ("both", "50k"),
        },
    },
}


def system_scores(document, experiment, path):
    """{system: {dataset: score}} for every system (and the baseline, where present) and every
    dataset of the experiment that any of them has.

    A system missing from scores.json, a dataset one system has and another lacks, or one scored
    on part of its test set, is an error: a mean over other datasets or instances would not be
    comparable with the others'.
    """
    systems = document.get("systems") if isinstance(document, dict) else None
    if not isinstance(systems, dict) or not all(isinstance(s, dict) for s in systems.values()):
        raise InputError(f"{path}: not a scores.json of evaluate.py (no 'systems' object of objects)")
    for name in experiment["systems"]:
        if name not in systems:
            raise InputError(f"{path}: no system {name!r} (it has {', '.join(systems) or 'none'})")
    names = [*experiment["systems"], *([BASELINE] if BASELINE in systems else [])]

    def scored(name, dataset):
        return isinstance(systems[name].get(dataset), dict) and is_real(systems[name][dataset].get("score"))

    present = [d for d in experiment["datasets"] if any(scored(name, d) for name in names)]
    if not present:
        raise InputError(f"{path}: no system has a score for any of {', '.join(experiment['datasets'])}")
    result = {}
    for name in names:
        missing = [d for d in present if not scored(name, d)]
        if missing and name != BASELINE:  # the baseline has no 2-shot score where a span set has no train split
            raise InputError(f"{path}: system {name!r} has no score for {', '.join(missing)}")
        incomplete = [d for d in present if scored(name, d) and systems[name][d].get("complete") is False]
        if incomplete:
            raise InputError(
                f"{path}: system {name!r} was scored on part of the test set of {', '.join(incomplete)} "
                "(evaluate.py --allow-partial); finish its predictions first"
            )
        result[name] = {d: systems[name][d]["score"] if scored(name, d) else None for d in present}
    return result


def mean(values):
    """The plain mean; None where a value is missing (a baseline without some dataset has no mean)."""
    values = list(values)
    return None if None in values else sum(values) / len(values)


def cell(value):
    return "-" if value is None else f"{value:.1f}"


def table_markdown(experiment, scores):
    """One row per system: its place in the figure, its score on each dataset, their mean."""
    datasets = list(next(iter(scores.values())))
    lines = [
        f"# {experiment['title']}",
        "",
        f"| system | {experiment['series']} | {experiment['x']} | "
        + " | ".join(datasets)
        + f" | {experiment['mean']} |",
        "|" + "---|" * (4 + len(datasets)),
    ]
    places = {**experiment["systems"], BASELINE: ("baseline, 2-shot", "-")}
    for name in scores:
        series, x = places[name]
        cells = [cell(scores[name][d]) for d in datasets] + [cell(mean(scores[name].values()))]
        lines.append(f"| {name} | {series} | {x} | " + " | ".join(cells) + " |")
    left_out = [d for d in experiment["datasets"] if d not in datasets]
    if left_out:
        lines += ["", f"Not in any system's scores, so left out of every mean: {', '.join(left_out)}."]
    if BASELINE in scores and mean(scores[BASELINE].values()) is None:
        unscored = [d for d, v in scores[BASELINE].items() if v is None]
        lines += ["", f"`{BASELINE}` has no 2-shot score for {', '.join(unscored)} (no train split), so no mean."]
    return "\n".join(lines) + "\n"


def plot_figure(path, experiment, scores):
    """Lines (one per series, x numeric) or grouped bars (one group per x, one bar per series)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    placed = {}  # series -> [(x, mean score)] in the experiment's order
    for name, (series, x) in experiment["systems"].items():
        placed.setdefault(series, []).append((x, mean(scores[name].values())))
    baseline = mean(scores[BASELINE].values()) if BASELINE in scores else None  # None: not on every dataset
    fig, ax = plt.subplots(figsize=(5, 4))
    if experiment["plot"] == "lines":
        for series, points in placed.items():
            ax.plot(*zip(*points), marker="o", label=series)
        ax.set_xticks(sorted({x for points in placed.values() for x, _ in points}))
    else:
        groups = list(dict.fromkeys(x for points in placed.values() for x, _ in points))
        width = 0.8 / len(placed)
        for i, (series, points) in enumerate(placed.items()):
            bars = ax.bar([groups.index(x) + i * width for x, _ in points], [y for _, y in points], width, label=series)
            ax.bar_label(bars, fmt="%.1f", fontsize=8)
        ax.set_xticks([g + width * (len(placed) - 1) / 2 for g in range(len(groups))], groups)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", label="base model, 2-shot")
    top = max([y for points in placed.values() for _, y in points] + [baseline or 0])
    ax.set_ylim(0, max(1.0, 1.15 * top))  # F1 is never negative; room above for the labels
    ax.set_xlabel(experiment["x"])
    ax.set_ylabel(experiment["mean"])
    ax.set_title(experiment["title"])
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scores", type=Path, help="scores.json written by evaluate.py for the six systems (and `base`)")
    parser.add_argument("--experiment", required=True, choices=list(EXPERIMENTS), help="which ablation")
    parser.add_argument(
        "--out", required=True, type=Path, help="folder for table.md and figure.png (replaced as a whole)"
    )
    args = parser.parse_args(argv)

    experiment = EXPERIMENTS[args.experiment]
    check_output_folder(args.out, "plot_ablation.py", inputs=[args.scores])
    document = read_json(args.scores)
    scores = system_scores(document, experiment, args.scores)

    table = table_markdown(experiment, scores)
    with atomic_directory(args.out, "plot_ablation.py") as tmp:
        (tmp / "table.md").write_text(table, encoding="utf-8")
        try:
            plot_figure(tmp / "figure.png", experiment, scores)
        except ImportError:
            print(
                "plot_ablation.py: matplotlib is not installed (pip install -e '.[plot]' from the checkout); "
                "wrote the table only",
                file=sys.stderr,
            )
    print(table, end="")


if __name__ == "__main__":
    run_main("plot_ablation.py", main)
