"""From per-dataset scores (mnlu.scoring) to the paper's Table 5: benchmark averages and files.

Averages follow the paper: plain means over the datasets of BLURB (13) and BLUE (8); BLURB's
official task-type macro is reported beside them. The report folder (scores.json, scores.csv,
report.md, optionally report.png) is written atomically, and scores.json is strict JSON (never a
NaN); an incomplete dataset is marked.
"""

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mnlu.benchmarks import EVAL_DATASETS, JNLPBA_UNTYPED_LABEL, RELEASES
from mnlu.bootstrap import LEVEL, WIDE
from mnlu.fileio import atomic_directory

PAPER_TABLE = Path(__file__).with_name("paper_table5.csv")
PAPER_SYSTEMS = {
    "chatgpt": "ChatGPT",
    "gpt4": "GPT-4",
    "llama31_8b": "LLaMA-3.1-8B",
    "biomistral_7b": "BioMistral-7B",
    "biomistral_nlu": "BioMistral-NLU",
}
BENCHMARKS = ("BLURB", "BLUE")
BENCHMARK_DATASETS = {b: [d for d, e in EVAL_DATASETS.items() if getattr(e, b.lower())] for b in BENCHMARKS}
# keys of a system in scores.json beside its datasets: no dataset may be named like one
SYSTEM_KEYS = (*(f"{b}{s}" for b in BENCHMARKS for s in ("", "_present", "_missing", "_ci")), "BLURB_task_macro")
NOT_CHECKED = {"checked": False, "reason": "not checked"}
# read_paper_table()'s pair: ({system: {dataset: score or None}}, {system: {"BLURB"/"BLUE": score or None}})
PaperTable = tuple[dict[str, dict[str, float | None]], dict[str, dict[str, float | None]]]
Summary = dict[str, dict[str, Any]]  # scores.json's "systems": system -> {dataset: scores, average: value}


# ---------------------------------------------------------------------------------------------
# averages and the paper's table


def benchmark_averages(scores: Mapping[str, float | None]) -> dict[str, float | list[str] | None]:
    """BLURB and BLUE as the paper averages them (plain means over datasets), with the datasets
    present and missing, and BLURB's official score (mean over task types of their means).

    `scores` maps dataset id -> headline score, None or absent for a dataset not evaluated;
    missing datasets are left out of the means (never counted as 0) and an average with no
    dataset at all is None.
    """
    result = {}
    for bench, members in BENCHMARK_DATASETS.items():
        present = [d for d in members if scores.get(d) is not None]
        result[bench] = _mean([scores[d] for d in present])
        result[f"{bench}_present"] = present
        result[f"{bench}_missing"] = [d for d in members if d not in present]
    by_type = {}
    for d, e in EVAL_DATASETS.items():
        if e.blurb and scores.get(d) is not None:
            by_type.setdefault(e.blurb_type, []).append(scores[d])
    result["BLURB_task_macro"] = _mean([_mean(v) for v in by_type.values()])
    return result


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def read_paper_table(path: str | Path = PAPER_TABLE) -> PaperTable:
    """The paper's Table 5: ({system: {dataset: score or None}}, {system: {"BLURB", "BLUE"}})."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    scores = {name: {} for name in PAPER_SYSTEMS.values()}
    published = {name: {} for name in PAPER_SYSTEMS.values()}
    for row in csv.DictReader(lines):
        target = published if row["task"] == "AVG" else scores
        for column, name in PAPER_SYSTEMS.items():
            target[name][row["dataset"]] = None if row[column] == "-" else float(row[column])
    return scores, published


# ---------------------------------------------------------------------------------------------
# writing the report


def write_report(
    out: str | Path,
    systems: Mapping[str, Mapping[str, dict[str, Any]]],
    paper: PaperTable | None = None,
    plot: bool = False,
    mode: str = "benchmark",
    completeness: Mapping[str, dict[str, Any] | None] | None = None,
    intervals: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write scores.json, scores.csv, report.md (and report.png) into `out`, all or nothing.

    `systems` maps system name -> {dataset: score dict}; `paper` is read_paper_table()'s pair
    to print the published columns beside them; `completeness` maps system name ->
    mnlu.scoring.completeness()'s finding (a system without one is marked not checked);
    `intervals` is mnlu.bootstrap.report_intervals()'s result, or None for a report without them.
    """
    checks = {name: (completeness or {}).get(name) or NOT_CHECKED for name in systems}
    summary = {name: _system_summary(scores, checks[name].get("expected", {})) for name, scores in systems.items()}
    for name, cis in (intervals or {}).get("systems", {}).items():
        for key, ci in cis.items():
            if key in BENCHMARKS:
                summary[name][f"{key}_ci"] = ci
            else:
                summary[name][key]["ci"] = ci
    checks = {name: {k: v for k, v in check.items() if k != "expected"} for name, check in checks.items()}
    document = {"mode": mode, "systems": summary, "completeness": checks}
    if intervals is not None:
        document["bootstrap"] = {k: intervals[k] for k in ("level", "resamples", "seed")}
        document["differences"] = intervals["differences"]
    if paper is not None:
        document["paper"] = {name: {**paper[0][name], **paper[1][name]} for name in PAPER_SYSTEMS.values()}
    incomplete = {d for check in checks.values() for d in check.get("incomplete", ())}
    shown = {d for scores in systems.values() for d in scores} | incomplete
    datasets = list(EVAL_DATASETS) + sorted(shown - set(EVAL_DATASETS))
    scores_json = json.dumps(document, indent=2, allow_nan=False) + "\n"  # strict JSON: a NaN here is a bug
    with atomic_directory(out, "evaluate.py") as tmp:
        (tmp / "scores.json").write_text(scores_json, encoding="utf-8")
        (tmp / "scores.csv").write_text(_scores_csv(datasets, summary, checks), encoding="utf-8")
        (tmp / "report.md").write_text(
            render_markdown(datasets, summary, checks, paper, mode, document.get("differences")), encoding="utf-8"
        )
        if plot:
            _plot(tmp / "report.png", datasets, summary)
    return document


def _system_summary(scores: Mapping[str, dict[str, Any]], expected: Mapping[str, int]) -> dict[str, Any]:
    """A system's entry of scores.json: its datasets, each with the record count run.json expects
    ("expected", None where not checked) and "complete", then its averages."""
    marked = {  # "units" (per-record counts, for the bootstrap) stay out of scores.json
        d: {
            **{k: v for k, v in s.items() if k != "units"},
            "expected": expected.get(d),
            "complete": s["n"] >= expected[d] if d in expected else None,
        }
        for d, s in scores.items()
    }
    return {**marked, **benchmark_averages({d: s["score"] for d, s in scores.items()})}


def _dataset_columns(dataset: str, summary: Summary) -> tuple[str, str, str, str]:
    known = EVAL_DATASETS.get(dataset)
    task = known.task if known else next((s[dataset]["task"] for s in summary.values() if dataset in s), "")
    metric = next((s[dataset]["metric"] for s in summary.values() if dataset in s), known.metric if known else "")
    bench = "+".join(b for b in BENCHMARKS if known and getattr(known, b.lower()))
    ns = sorted({s[dataset]["n"] for s in summary.values() if dataset in s})
    return task, metric, bench, "/".join(map(str, ns)) or "-"


def _scores_csv(datasets: Iterable[str], summary: Summary, checks: Mapping[str, dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["dataset", "task", "metric", "benchmark"]
        + [f"{name}{suffix}" for name in summary for suffix in ("", " low", " high", " n", " unparseable")]
    )
    for d in datasets:
        task, metric, bench, _ = _dataset_columns(d, summary)
        row = [d, task, metric, bench]
        for name, s in summary.items():
            n = _incomplete_mark(checks[name], d) or (s[d]["n"] if d in s else "-")
            ci = [_number(x, ".4f") for x in s[d]["ci"]] if d in s and "ci" in s[d] else ["-", "-"]
            row += [_score_cell(s, d, ".4f"), *ci, n, s[d]["unparseable"] if d in s else "-"]
        writer.writerow(row)
    for average in ("BLURB", "BLUE", "BLURB_task_macro"):
        row = [average, "", "macro", ""]
        for s in summary.values():
            ci = [_number(x, ".4f") for x in s.get(f"{average}_ci", (None, None))]
            row += [_number(s[average], ".4f"), *ci, "", ""]
        writer.writerow(row)
    return buffer.getvalue()


def _number(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _score_cell(s: Mapping[str, Any], d: str, spec: str = ".1f") -> str:
    """System `s`'s score on dataset `d`, or `-` for a dataset not evaluated."""
    return format(s[d]["score"], spec) if d in s else "-"


def _with_interval(value: str, ci: Sequence[float] | None, signed: bool = False) -> str:
    """`34.2 [28.1, 40.0]`, flagged `‡` when the interval is wider than WIDE points."""
    if ci is None or value == "-":
        return value
    spec = "+.1f" if signed else ".1f"
    return f"{value} [{ci[0]:{spec}}, {ci[1]:{spec}}]" + ("‡" if ci[1] - ci[0] > WIDE else "")


def _incomplete_mark(check: Mapping[str, Any], d: str) -> str:
    """`n=10 of 79, incomplete` when a system's completeness `check` found dataset `d` short, else ''."""
    short = check.get("incomplete", {}).get(d)
    return f"n={short['n']} of {short['expected']}, incomplete" if short else ""


def render_markdown(
    datasets: Sequence[str],
    summary: Summary,
    checks: Mapping[str, dict[str, Any]],
    paper: PaperTable | None = None,
    mode: str = "benchmark",
    differences: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """report.md: the Table-5 layout with intervals, the averages with their datasets, the paired
    differences, completeness (`checks`: system -> mnlu.scoring.completeness()'s finding), then
    error analysis."""
    names = list(summary)
    paper_names = list(PAPER_SYSTEMS.values()) if paper else []
    lines = ["# Evaluation report", ""]
    if mode == "released":
        lines += [
            "Scored like the released BioMistral-NLU code (`--compat released`), for comparison with "
            "published numbers; see docs/evaluate.md for its quirks.",
            "",
        ]
    lines += [
        f"Systems: {', '.join(f'`{n}`' for n in names)}."
        + (
            " Paper columns: Fu et al. 2024, Table 5 (their official BLURB task-type macro is computed "
            "here from their per-dataset scores)."
            if paper
            else ""
        ),
        "Scores are 0-100; `-` marks a dataset not evaluated (never counted as 0).",
        "",
        "| Task | Metric | Dataset | Benchmark | Instances | " + " | ".join(names + paper_names) + " |",
        "|" + "---|" * (5 + len(names) + len(paper_names)),
    ]
    for d in datasets:
        task, metric, bench, n = _dataset_columns(d, summary)
        cells = [
            _with_interval(_score_cell(s, d), s[d].get("ci") if d in s else None)
            + (f" ({mark})" if (mark := _incomplete_mark(checks[name], d)) else "")
            for name, s in summary.items()
        ]
        cells += [_number(paper[0][p].get(d)) for p in paper_names]
        lines.append(f"| {task} | {metric} | {d} | {bench} | {n} | " + " | ".join(cells) + " |")
    for average, label in (
        ("BLURB", "**BLURB** (mean of 13 datasets)"),
        ("BLUE", "**BLUE** (mean of 8 datasets)"),
        ("BLURB_task_macro", "BLURB, official (mean of 6 task types)"),
    ):
        cells = [
            _with_interval(_average_cell(s, checks[name], average), s.get(f"{average}_ci"))
            for name, s in summary.items()
        ]
        cells += [_number(paper[1][p].get(average, benchmark_averages(paper[0][p])[average])) for p in paper_names]
        lines.append(f"| AVG | macro | {label} | | | " + " | ".join(cells) + " |")
    lines += _interval_notes(summary) + _untyped_notes(summary) + _release_notes(summary)
    lines += _average_notes(summary, checks)
    lines += _differences(datasets, differences or []) + _completeness_notes(summary, checks)
    lines += _unparseable(datasets, summary) + _cut_answers(datasets, summary)
    if mode == "benchmark":
        lines += _error_analysis(datasets, summary)
    return "\n".join(lines) + "\n"


def _unparseable(datasets: Sequence[str], summary: Summary) -> list[str]:
    """How many answers of each dataset and system the parser could not read."""
    lines = [
        "",
        "## Unparseable answers",
        "",
        "| Dataset | " + " | ".join(summary) + " |",
        "|" + "---|" * (1 + len(summary)),
    ]
    for d in datasets:
        if any(d in s for s in summary.values()):
            cells = [f"{s[d]['unparseable']} / {s[d]['n']}" if d in s else "-" for s in summary.values()]
            lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return lines


def _cut_answers(datasets: Sequence[str], summary: Summary) -> list[str]:
    """How many answers ended at the token limit rather than at a stop token, where any did."""
    cut = [d for d in datasets if any(s.get(d, {}).get("cut") for s in summary.values())]
    if not cut:
        return []
    lines = [
        "",
        "## Answers cut at the token limit",
        "",
        "Answers that ended without a stop token, at infer.py's `--max-tokens` (or the model's context "
        "length), scored as they are. `-`: not answered, or prediction files that do not say.",
        "",
        "| Dataset | " + " | ".join(summary) + " |",
        "|" + "---|" * (1 + len(summary)),
    ]
    for d in cut:
        cells = [
            f"{s[d]['cut']} / {s[d]['n']}" if s.get(d, {}).get("cut") is not None else "-" for s in summary.values()
        ]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return lines


def _average_cell(s: Mapping[str, Any], check: Mapping[str, Any], average: str) -> str:
    bench = average.split("_")[0]
    partial = s[f"{bench}_missing"] or any(_incomplete_mark(check, d) for d in s[f"{bench}_present"])
    return _number(s[average]) + ("*" if partial and s[average] is not None else "")


def _interval_notes(summary: Summary) -> list[str]:
    """What the brackets mean, and which scores rest on too few instances."""
    if not any("ci" in entry for s in summary.values() for entry in s.values() if isinstance(entry, dict)):
        return ["", "No intervals (`--bootstrap 0`, or `--compat released`): differences below are not tested."]
    return [
        "",
        f"`[low, high]`: the {LEVEL}% bootstrap interval, the benchmark's units (sentences, abstracts, "
        "instances) resampled; Instances is the number of them behind each score. "
        f"`‡`: the interval is wider than {WIDE:g} points, too few instances to tell systems apart.",
    ]


def _differences(datasets: Sequence[str], differences: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each later system minus the first, on the instances both answered, with the paired interval."""
    if not differences:
        return []
    pairs = list(dict.fromkeys((row["a"], row["b"]) for row in differences))
    cell = {(row["a"], row["b"], row["dataset"]): row for row in differences}
    lines = [
        "",
        "## Paired differences",
        "",
        "Each system minus the first, on the instances both answered: the same resamples for both, "
        "so the interval is that of the difference. An interval holding 0 cannot tell the two apart.",
        "",
        "| Dataset | " + " | ".join(f"`{b}` - `{a}`" for a, b in pairs) + " |",
        "|" + "---|" * (1 + len(pairs)),
    ]
    for d in [*datasets, *BENCHMARKS]:
        rows = [cell.get((a, b, d)) for a, b in pairs]
        if any(rows):
            shown = [
                _with_interval(f"{r['difference']:+.1f}", r["ci"], signed=True)
                + f" (n={r['n']}{', no clear difference' if r['ci'][0] <= 0 <= r['ci'][1] else ''})"
                if r
                else "-"
                for r in rows
            ]
            lines.append(f"| {'**' + d + '**' if d in BENCHMARKS else d} | " + " | ".join(shown) + " |")
    return lines


def _untyped_notes(summary: Summary) -> list[str]:
    """Which systems' JNLPBA was built from BLURB's untyped files: one type, not the paper's five."""
    untyped = [name for name, s in summary.items() if s.get("jnlpba", {}).get("labels") == [JNLPBA_UNTYPED_LABEL]]
    if not untyped:
        return []
    return [
        "",
        f"`jnlpba` of {', '.join(f'`{name}`' for name in untyped)}: built from BLURB's untyped files, so every "
        f'entity is one type ("{JNLPBA_UNTYPED_LABEL}"); the paper asks for the five GENIA types of the typed release.',
    ]


def _release_notes(summary: Summary) -> list[str]:
    """Which release each dataset in both BLURB and BLUE was built from: the two hold different
    instances, and the paper's Table 5 scores BLUE's."""
    versioned = {}  # dataset -> release -> systems
    for name, s in summary.items():
        for dataset, entry in s.items():
            if isinstance(entry, dict) and "version" in entry:
                versioned.setdefault(dataset, {}).setdefault(entry["version"], []).append(f"`{name}`")
    if not versioned:
        return []
    parts = []
    for dataset, releases in versioned.items():
        named = len(releases) > 1 or sum(map(len, releases.values())) < len(summary)
        shown = [RELEASES[v] + (f" ({', '.join(names)})" if named else "") for v, names in releases.items()]
        parts.append(f"`{dataset}` {', '.join(shown)}")
    return [
        "",
        f"Built from the release files of: {'; '.join(parts)}. "
        "The paper's Table 5 scores BLUE's HoC, DDI and ChemProt.",
    ]


def _average_notes(summary: Summary, checks: Mapping[str, dict[str, Any]]) -> list[str]:
    """What each average is over: the datasets present, missing and incomplete."""
    lines = ["", "`*`: the average is over the datasets present only, or some of them are incomplete:", ""]
    for name, s in summary.items():
        for bench in BENCHMARKS:
            missing = s[f"{bench}_missing"]
            incomplete = [f"{d} ({mark})" for d in s[f"{bench}_present"] if (mark := _incomplete_mark(checks[name], d))]
            lines.append(
                f"- `{name}` {bench}: {len(s[f'{bench}_present'])} datasets present "
                f"({', '.join(s[f'{bench}_present']) or 'none'})"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; scored on part of the test set: {', '.join(incomplete)}" if incomplete else "")
                + "."
            )
    return lines


def _completeness_notes(summary: Summary, checks: Mapping[str, dict[str, Any]]) -> list[str]:
    """Whether each system's files were checked against run.json's record counts, and what was short."""
    lines = [
        "",
        "## Completeness",
        "",
        "Each prediction file's records are counted against the `instances` that infer.py wrote in its "
        "folder's run.json; a file with fewer is a killed run.",
        "",
    ]
    for name, s in summary.items():
        check = checks[name]
        if not check["checked"]:
            lines.append(f"- `{name}`: completeness not checked: {check['reason']}.")
            continue
        short = [f"{d} ({_incomplete_mark(check, d)})" for d in check["incomplete"]]
        unlisted = [d for d, entry in s.items() if d not in SYSTEM_KEYS and entry["complete"] is None]
        lines.append(
            f"- `{name}`: checked against `{check['source']}`: "
            + (
                f"INCOMPLETE, scored anyway (--allow-partial): {', '.join(short)}"
                if short
                else "every listed dataset complete"
            )
            + (f"; not listed there, so not checked: {', '.join(unlisted)}" if unlisted else "")
            + "."
        )
    return lines


def _error_analysis(datasets: Sequence[str], summary: Summary) -> list[str]:
    """NER boundaries, per-class RE precision/recall, HoC and PICO variants, BIOSSES confusion;
    a section appears only when some dataset has what it shows."""

    def rows_of(key: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(d, name, s[d]) for d in datasets for name, s in summary.items() if d in s and key in s[d]]

    lines = ["", "## Error analysis"]
    if rows := rows_of("relaxed"):
        lines += [
            "",
            "### Named entities: strict vs relaxed",
            "",
            "Relaxed: a predicted span that overlaps a gold span of its type counts as found (one-to-one). "
            "Boundary errors: predictions credited only by overlap.",
            "",
            "| Dataset | System | P | R | strict F1 | case-insensitive F1 | relaxed F1 | gap | boundary errors |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for d, name, r in rows:
            gap = r["relaxed"]["f1"] - r["f1"]
            lines.append(
                f"| {d} | {name} | {r['precision']:.1f} | {r['recall']:.1f} | {r['f1']:.1f} | "
                f"{r['f1_case_insensitive']:.1f} | {r['relaxed']['f1']:.1f} | {gap:+.1f} | "
                f"{r['relaxed']['boundary_errors']} |"
            )
    if rows := rows_of("per_element"):
        lines += [
            "",
            "### EBM PICO per element (token level)",
            "",
            "| Dataset | System | Element | P | R | F1 |",
            "|---|---|---|---|---|---|",
        ]
        for d, name, r in rows:
            for element, c in r["per_element"].items():
                lines.append(f"| {d} | {name} | {element} | {c['precision']:.1f} | {c['recall']:.1f} | {c['f1']:.1f} |")
            lines.append(f"| {d} | {name} | macro / micro F1 | | | {r['macro_f1']:.1f} / {r['micro_f1']:.1f} |")
    if rows := rows_of("per_class"):
        lines += [
            "",
            "### Relation extraction: precision vs recall per positive class",
            "",
            "| Dataset | System | Class | P | R | F1 | TP | FP | FN |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for d, name, r in rows:
            for label, c in r["per_class"].items():
                lines.append(
                    f"| {d} | {name} | {label} | {c['precision']:.1f} | {c['recall']:.1f} | {c['f1']:.1f} | "
                    f"{c['tp']} | {c['fp']} | {c['fn']} |"
                )
    if rows := rows_of("example_based_f1"):
        lines += [
            "",
            "### Multi-label classification (HoC): the three F1 variants",
            "",
            "| Dataset | System | micro F1 (headline) | macro F1 | example-based F1 |",
            "|---|---|---|---|---|",
        ]
        for d, name, r in rows:
            lines.append(f"| {d} | {name} | {r['micro_f1']:.1f} | {r['macro_f1']:.1f} | {r['example_based_f1']:.1f} |")
    if rows := rows_of("confusion"):
        lines += ["", "### Sentence similarity: gold option (rows) vs predicted option (columns)", ""]
        for d, name, r in rows:
            columns = sorted(
                {c for row in r["confusion"].values() for c in row}, key=lambda c: (c == "unparseable", _float(c))
            )
            lines += [
                f"{d}, `{name}`" + (f" ({r['note']})" if "note" in r else "") + ":",
                "",
                "| gold \\ predicted | " + " | ".join(columns) + " |",
                "|" + "---|" * (1 + len(columns)),
            ]
            for gold_value in sorted(r["confusion"], key=_float):
                row = r["confusion"][gold_value]
                lines.append(f"| {gold_value} | " + " | ".join(str(row.get(c, 0)) for c in columns) + " |")
            lines.append("")
    return lines


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def _plot(path: Path, datasets: Sequence[str], summary: Summary) -> None:
    """Grouped bars: one group per dataset, one colour per system (matplotlib, an optional extra)."""
    import matplotlib  # evaluate.py checked that it is installed before scoring

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [d for d in datasets if any(d in s for s in summary.values())]
    width = 0.8 / max(len(summary), 1)
    fig, ax = plt.subplots(figsize=(max(8, 0.7 * len(shown) * max(1, len(summary) / 2)), 4.5))
    for i, (name, s) in enumerate(summary.items()):
        xs = [j + i * width for j, d in enumerate(shown) if d in s]
        ax.bar(xs, [s[d]["score"] for d in shown if d in s], width, label=name)
    ax.set_xticks([j + width * (len(summary) - 1) / 2 for j in range(len(shown))], shown, rotation=45, ha="right")
    ax.set_ylabel("score (0-100)")
    ax.set_ylim(min([0.0] + [s[d]["score"] for s in summary.values() for d in shown if d in s]), 100)  # Pearson < 0
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
