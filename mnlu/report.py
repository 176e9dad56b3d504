"""From prediction folders to the paper's Table 5: per-dataset scores, benchmark averages, files.

A system is one folder of `<dataset id>.jsonl` prediction files (records plus `prediction`).
Each dataset is scored with its benchmark's own metric (`mnlu.benchmarks`, `mnlu.metrics`) on
the parsed answers (`mnlu.parse`), or, with `compat="released"`, the way the released
BioMistral-NLU code scored the raw outputs. Averages follow the paper: plain means over the
datasets of BLURB (13) and BLUE (8); BLURB's official task-type macro is reported beside them.
"""

import bisect
import contextlib
import csv
import gc
import io
import itertools
import json
import re
from pathlib import Path

from tqdm import tqdm

from mnlu import metrics
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.fileio import atomic_directory
from mnlu.parse import parse_answer, span_locator
from mnlu.records import SPAN_TASKS, RecordError, check_record
from mnlu.tasks import source_text

PAPER_TABLE = Path(__file__).with_name("paper_table5.csv")
PAPER_SYSTEMS = {"chatgpt": "ChatGPT", "gpt4": "GPT-4", "llama31_8b": "LLaMA-3.1-8B",
                 "biomistral_7b": "BioMistral-7B", "biomistral_nlu": "BioMistral-NLU"}
BENCHMARKS = ("BLURB", "BLUE")
# the metric of a dataset outside both benchmarks, by task ("dc" multi-label: micro F1, as HoC)
DEFAULT_METRIC = {"ner": "entity-level F1", "ete": "entity-level F1", "eae": "entity-level F1", "re": "micro F1",
                  "qa": "accuracy", "nli": "accuracy", "eac": "accuracy", "dc": "accuracy", "sts": "Pearson"}


# ---------------------------------------------------------------------------------------------
# reading prediction folders


def read_predictions(path):
    """The prediction records of one `<dataset id>.jsonl`, checked; errors name `path:line`."""
    path = Path(path)
    records, first_line = [], {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise RecordError(f"{where}: not valid JSON ({e.msg})") from None
            check_record(record, where)
            if record["task"] == "summ":
                raise RecordError(f"{where}: summarization is a training task; there is no metric to score it")
            if not isinstance(record.get("prediction"), str):
                raise RecordError(f"{where}: 'prediction' must be a string (the raw model output)")
            if record["dataset"] != path.stem:
                raise RecordError(f"{where}: record of dataset {record['dataset']!r} in the file of {path.stem!r}")
            if records and record["task"] != records[0]["task"]:
                raise RecordError(f"{where}: task {record['task']!r}, but line {first_line[records[0]['id']]} "
                                  f"has {records[0]['task']!r}")
            if record["id"] in first_line:
                raise RecordError(f"{where}: id {record['id']!r} repeats line {first_line[record['id']]}")
            first_line[record["id"]] = lineno
            records.append(record)
    known = EVAL_DATASETS.get(path.stem)
    if records and known and records[0]["task"] != known.task:
        raise RecordError(f"{path}:{first_line[records[0]['id']]}: {path.stem} is a {known.task} dataset, "
                          f"but its records are {records[0]['task']!r}")
    return records


@contextlib.contextmanager
def long_lived():
    """Allocate and use objects in bulk without the garbage collector rescanning them.

    Records and parsed answers hold no reference cycles, so reference counting frees them; yet
    every generation-2 pass walks all live objects, and with a million records in memory that
    made reading and scoring them three times slower. Survivors are frozen out of later passes.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def read_system(folder):
    """{dataset id: records} of one prediction folder; a file with no instances is left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such prediction folder")
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"{folder}: holds no <dataset id>.jsonl prediction files")
    datasets = {path.stem: read_predictions(path) for path in files}
    return {name: records for name, records in datasets.items() if records}


# ---------------------------------------------------------------------------------------------
# scoring one dataset


def score_dataset(dataset, records, compat=None):
    """The scores of one dataset's predictions: metric, headline score, n, unparseable, details."""
    task = records[0]["task"]
    multi_label = task == "dc" and records[0]["gold"].get("multi_label", False)
    if dataset in EVAL_DATASETS:
        metric = EVAL_DATASETS[dataset].metric
    else:
        metric = "micro F1" if multi_label else DEFAULT_METRIC[task]
    token_level = metric.startswith("token-level")
    parsed = [parse_answer(r, r["prediction"]) for r in tqdm(records, desc=dataset, leave=False, mininterval=1)]
    unparseable = sum(p["unparseable"] for p in parsed)
    if compat == "released":
        details = _score_released(records, task, token_level, multi_label)
        metric += " (released scorer)"
    elif compat is not None:
        raise ValueError(f"unknown compat mode {compat!r} (expected 'released')")
    elif task in SPAN_TASKS:
        details = _score_tokens(records, parsed) if token_level else _score_entities(records, parsed)
    elif task == "re":
        details = _score_relations(records, parsed)
    elif multi_label:
        details = _score_multilabel(records, parsed)
    elif task == "sts":
        details = _score_similarity(records, parsed)
    else:
        details = {"score": metrics.accuracy([tuple(r["gold"]["answers"]) for r in records],
                                             [None if p["unparseable"] else tuple(p["answers"]) for p in parsed])}
    return {"task": task, "metric": metric, "score": details.pop("score"), "n": len(records),
            "unparseable": unparseable, **details}


def _score_entities(records, parsed):
    gold, pred, gold_located, pred_located = [], [], [], []
    for record, p in zip(records, parsed):
        locate = span_locator(source_text(record) or "")
        gold_spans = record["gold"]["spans"]
        gold.append([(s["label"], s["text"]) for s in gold_spans])
        pred.append([(label, t) for label, texts in p["spans"].items() for t in texts])
        gold_located.append([(s["label"], s["text"], *_offsets(locate, s)) for s in gold_spans])
        pred_located.append([(label, t, *(where or (None, None)))
                             for label, texts in p["spans"].items() for t, where in zip(texts, locate(texts))])
    strict = metrics.entity_f1(gold, pred)
    relaxed = metrics.relaxed_entity_f1(gold_located, pred_located)
    return {"score": strict["f1"], **strict, "f1_case_insensitive": metrics.entity_f1(gold, pred, casefold=True)["f1"],
            "relaxed": relaxed}


def _offsets(locate, span):
    """A gold span's character offsets: its own where the builder gave them, else looked up."""
    if span.get("start") is not None and span.get("end") is not None:
        return span["start"], span["end"]
    return locate([span["text"]])[0] or (None, None)


def _score_tokens(records, parsed):
    """EBM PICO: each element's set of whitespace-token positions; unlocated spans are all FP."""
    gold, pred, labels = [], [], {}
    for record, p in zip(records, parsed):
        text = source_text(record) or ""
        locate = span_locator(text)
        tokens = [m.span() for m in re.finditer(r"\S+", text)]
        tokens = [start for start, _ in tokens], [end for _, end in tokens]
        labels.update(dict.fromkeys(record["gold"]["labels"]))
        g = {}
        for span in record["gold"]["spans"]:
            g.setdefault(span["label"], set()).update(_covered(tokens, _offsets(locate, span), span["text"], "gold"))
        q = {}
        for label, texts in p["spans"].items():
            for k, (span, where) in enumerate(zip(texts, locate(texts))):
                q.setdefault(label, set()).update(_covered(tokens, where, span, (label, k)))
        gold.append(g)
        pred.append(q)
    result = metrics.token_f1(gold, pred, list(labels))
    return {"score": result["macro_f1"], "macro_f1": result["macro_f1"], "micro_f1": result["micro"]["f1"],
            "per_element": result["per_label"]}


def _covered(tokens, where, span_text, tag):
    """Positions of the text's whitespace tokens that overlap the span at `where`.

    A span not found in the text covers tokens of its own, ids that no gold span can share, one
    per word of the span: each is a false positive.
    """
    if where is None or where[0] is None:
        return {("not in text", tag, span_text, j) for j in range(len(span_text.split()))}
    starts, ends = tokens
    start, end = where
    return set(range(bisect.bisect_right(ends, start), bisect.bisect_left(starts, end)))


def _score_relations(records, parsed):
    result = metrics.relation_f1([r["gold"]["answers"][0] for r in records],
                                 [None if p["unparseable"] else p["answers"][0] for p in parsed],
                                 [r["gold"].get("negative") for r in records])
    return {"score": result["f1"], **result}


def _score_multilabel(records, parsed):
    result = metrics.multilabel_f1([set(r["gold"]["answers"]) for r in records], [set(p["answers"]) for p in parsed])
    return {"score": result["micro"]["f1"], "micro_f1": result["micro"]["f1"], "macro_f1": result["macro_f1"],
            "example_based_f1": result["example_based_f1"], "per_label": result["per_label"]}


def _score_similarity(records, parsed):
    """Pearson on real-valued gold scores; an unparseable answer is scored as the mean of the
    parsed predictions, a guess that carries no information, so it can only lower the correlation."""
    scores = [p["score"] for p in parsed]
    known = [s for s in scores if s is not None]
    fill = sum(known) / len(known) if known else 0.0
    predicted = [fill if s is None else s for s in scores]
    confusion = {}
    for record, s in zip(records, scores):
        gold_value = record["gold"]["option_scores"][record["gold"]["options"].index(record["gold"]["answers"][0])]
        row = confusion.setdefault(f"{gold_value:g}", {})
        column = "unparseable" if s is None else f"{s:g}"
        row[column] = row.get(column, 0) + 1
    result = {"score": metrics.pearson([r["gold"]["score"] for r in records], predicted), "confusion": confusion}
    if len(set(predicted)) < 2:
        result["note"] = "the predicted scores are constant: Pearson is undefined, scored 0"
    return result


def _score_released(records, task, token_level, multi_label):
    """The released BioMistral-NLU scorer on the raw outputs (see mnlu.metrics, last section)."""
    references = [next(m["content"] for m in reversed(r["messages"]) if m["role"] == "assistant") for r in records]
    predictions = [r["prediction"] for r in records]
    options = [r["gold"].get("options") for r in records]
    if task in SPAN_TASKS:
        result = metrics.released_overall(metrics.released_span_counts(references, predictions, tokens=token_level))
        return {"score": result["f1"], **result}
    if task in ("qa", "nli"):
        return {"score": metrics.released_accuracy(references, predictions)}
    if task == "sts":
        value = [dict(zip(r["gold"]["options"], r["gold"]["option_scores"])) for r in records]
        gold = [v[metrics.released_read_option(o, ref)] for v, o, ref in zip(value, options, references)]
        pred = [v[metrics.released_read_option(o, p)] for v, o, p in zip(value, options, predictions)]
        return {"score": metrics.pearson(gold, pred)}
    count = metrics.released_multilabel_counts if multi_label else metrics.released_choice_counts
    negatives = {r["gold"]["negative"] for r in records if r["gold"].get("negative")}
    result = metrics.released_overall(count(options, references, predictions), negatives)
    return {"score": result["f1"], **result}


# ---------------------------------------------------------------------------------------------
# averages and the paper's table


def benchmark_averages(scores):
    """BLURB and BLUE as the paper averages them (plain means over datasets), with the datasets
    present and missing, and BLURB's official score (mean over task types of their means).

    `scores` maps dataset id -> headline score, None or absent for a dataset not evaluated;
    missing datasets are left out of the means (never counted as 0) and an average with no
    dataset at all is None.
    """
    result = {}
    for bench in BENCHMARKS:
        members = [d for d, e in EVAL_DATASETS.items() if getattr(e, bench.lower())]
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


def _mean(values):
    return sum(values) / len(values) if values else None


def read_paper_table(path=PAPER_TABLE):
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


def write_report(out, systems, paper=None, plot=False, mode="benchmark"):
    """Write scores.json, scores.csv, report.md (and report.png) into `out`, all or nothing.

    `systems` maps system name -> {dataset: score dict}; `paper` is read_paper_table()'s pair
    to print the published columns beside them.
    """
    summary = {name: {**scores, **benchmark_averages({d: s["score"] for d, s in scores.items()})}
               for name, scores in systems.items()}
    document = {"mode": mode, "systems": summary}
    if paper is not None:
        document["paper"] = {name: {**paper[0][name], **paper[1][name]} for name in PAPER_SYSTEMS.values()}
    datasets = list(EVAL_DATASETS) + sorted({d for s in systems.values() for d in s} - set(EVAL_DATASETS))
    with atomic_directory(out) as tmp:
        (tmp / "scores.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        (tmp / "scores.csv").write_text(_scores_csv(datasets, summary), encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(datasets, summary, paper, mode), encoding="utf-8")
        if plot:
            _plot(tmp / "report.png", datasets, summary)
    return document


def _dataset_columns(dataset, summary):
    known = EVAL_DATASETS.get(dataset)
    task = known.task if known else next((s[dataset]["task"] for s in summary.values() if dataset in s), "")
    metric = next((s[dataset]["metric"] for s in summary.values() if dataset in s), known.metric if known else "")
    bench = "+".join(b for b in BENCHMARKS if known and getattr(known, b.lower()))
    ns = sorted({s[dataset]["n"] for s in summary.values() if dataset in s})
    return task, metric, bench, "/".join(map(str, ns)) or "-"


def _scores_csv(datasets, summary):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["dataset", "task", "metric", "benchmark"]
                    + [f"{name}{suffix}" for name in summary for suffix in ("", " n", " unparseable")])
    for d in datasets:
        if not any(d in s for s in summary.values()) and d not in EVAL_DATASETS:
            continue
        task, metric, bench, _ = _dataset_columns(d, summary)
        row = [d, task, metric, bench]
        for s in summary.values():
            row += [f"{s[d]['score']:.4f}", s[d]["n"], s[d]["unparseable"]] if d in s else ["-", "-", "-"]
        writer.writerow(row)
    for average in ("BLURB", "BLUE", "BLURB_task_macro"):
        row = [average, "", "macro", ""]
        for s in summary.values():
            row += [_number(s[average], ".4f"), "", ""]
        writer.writerow(row)
    return buffer.getvalue()


def _number(value, spec=".1f"):
    return "-" if value is None else format(value, spec)


def render_markdown(datasets, summary, paper=None, mode="benchmark"):
    """report.md: the Table-5 layout, the averages with their datasets, then error analysis."""
    names = list(summary)
    paper_names = list(PAPER_SYSTEMS.values()) if paper else []
    lines = ["# Evaluation report", ""]
    if mode == "released":
        lines += ["Scored like the released BioMistral-NLU code (`--compat released`), for comparison with "
                  "published numbers; see docs/evaluate.md for its quirks.", ""]
    lines += [f"Systems: {', '.join(f'`{n}`' for n in names)}." + (" Paper columns: Fu et al. 2024, Table 5 (their official BLURB task-type macro is computed "
                                                                  "here from their per-dataset scores)." if paper else ""),
              "Scores are 0-100; `-` marks a dataset not evaluated (never counted as 0).", "",
              "| Task | Metric | Dataset | Benchmark | Instances | " + " | ".join(names + paper_names) + " |",
              "|" + "---|" * (5 + len(names) + len(paper_names))]
    for d in datasets:
        if not any(d in s for s in summary.values()) and d not in EVAL_DATASETS:
            continue
        task, metric, bench, n = _dataset_columns(d, summary)
        cells = [_number(s[d]["score"]) if d in s else "-" for s in summary.values()]
        cells += [_number(paper[0][p].get(d)) for p in paper_names]
        lines.append(f"| {task} | {metric} | {d} | {bench} | {n} | " + " | ".join(cells) + " |")
    for average, label in (("BLURB", "**BLURB** (mean of 13 datasets)"), ("BLUE", "**BLUE** (mean of 8 datasets)"),
                           ("BLURB_task_macro", "BLURB, official (mean of 6 task types)")):
        cells = [_average_cell(s, average) for s in summary.values()]
        cells += [_number(paper[1][p].get(average, benchmark_averages(paper[0][p])[average])) for p in paper_names]
        lines.append(f"| AVG | macro | {label} | | | " + " | ".join(cells) + " |")
    lines += ["", "`*`: the average is over the datasets present only:", ""]
    for name, s in summary.items():
        for bench in BENCHMARKS:
            missing = f"; missing {', '.join(s[f'{bench}_missing'])}" if s[f"{bench}_missing"] else ""
            lines.append(f"- `{name}` {bench}: {len(s[f'{bench}_present'])} datasets present "
                         f"({', '.join(s[f'{bench}_present']) or 'none'}){missing}.")
    lines += ["", "## Unparseable answers", "", "| Dataset | " + " | ".join(names) + " |", "|" + "---|" * (1 + len(names))]
    for d in datasets:
        if any(d in s for s in summary.values()):
            lines.append(f"| {d} | " + " | ".join(f"{s[d]['unparseable']} / {s[d]['n']}" if d in s else "-"
                                                    for s in summary.values()) + " |")
    if mode == "benchmark":
        lines += _error_analysis(datasets, summary)
    return "\n".join(lines) + "\n"


def _average_cell(s, average):
    bench = average.split("_")[0]
    incomplete = s[f"{bench}_missing"] and s[average] is not None
    return _number(s[average]) + ("*" if incomplete else "")


def _error_analysis(datasets, summary):
    """NER boundaries, per-class RE precision/recall, HoC and PICO variants, BIOSSES confusion;
    a section appears only when some dataset has what it shows."""
    def rows_of(key):
        return [(d, name, s[d]) for d in datasets for name, s in summary.items() if d in s and key in s[d]]

    lines = ["", "## Error analysis"]
    if rows := rows_of("relaxed"):
        lines += ["", "### Named entities: strict vs relaxed", "",
                  "Relaxed: a predicted span that overlaps a gold span of its type counts as found (one-to-one). "
                  "Boundary errors: predictions credited only by overlap.", "",
                  "| Dataset | System | P | R | strict F1 | case-insensitive F1 | relaxed F1 | gap | boundary errors |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for d, name, r in rows:
            gap = r["relaxed"]["f1"] - r["f1"]
            lines.append(f"| {d} | {name} | {r['precision']:.1f} | {r['recall']:.1f} | {r['f1']:.1f} | "
                         f"{r['f1_case_insensitive']:.1f} | {r['relaxed']['f1']:.1f} | {gap:+.1f} | "
                         f"{r['relaxed']['boundary_errors']} |")
    if rows := rows_of("per_element"):
        lines += ["", "### EBM PICO per element (token level)", "", "| Dataset | System | Element | P | R | F1 |",
                  "|---|---|---|---|---|---|"]
        for d, name, r in rows:
            for element, c in r["per_element"].items():
                lines.append(f"| {d} | {name} | {element} | {c['precision']:.1f} | {c['recall']:.1f} | {c['f1']:.1f} |")
            lines.append(f"| {d} | {name} | macro / micro F1 | | | {r['macro_f1']:.1f} / {r['micro_f1']:.1f} |")
    if rows := rows_of("per_class"):
        lines += ["", "### Relation extraction: precision vs recall per positive class", "",
                  "| Dataset | System | Class | P | R | F1 | TP | FP | FN |", "|---|---|---|---|---|---|---|---|---|"]
        for d, name, r in rows:
            for label, c in r["per_class"].items():
                lines.append(f"| {d} | {name} | {label} | {c['precision']:.1f} | {c['recall']:.1f} | {c['f1']:.1f} | "
                             f"{c['tp']} | {c['fp']} | {c['fn']} |")
    if rows := rows_of("example_based_f1"):
        lines += ["", "### Multi-label classification (HoC): the three F1 variants", "",
                  "| Dataset | System | micro F1 (headline) | macro F1 | example-based F1 |", "|---|---|---|---|---|"]
        for d, name, r in rows:
            lines.append(f"| {d} | {name} | {r['micro_f1']:.1f} | {r['macro_f1']:.1f} | {r['example_based_f1']:.1f} |")
    if rows := rows_of("confusion"):
        lines += ["", "### Sentence similarity: gold option (rows) vs predicted option (columns)", ""]
        for d, name, r in rows:
            columns = sorted({c for row in r["confusion"].values() for c in row},
                             key=lambda c: (c == "unparseable", _float(c)))
            lines += [f"{d}, `{name}`" + (f" ({r['note']})" if "note" in r else "") + ":", "",
                      "| gold \\ predicted | " + " | ".join(columns) + " |", "|" + "---|" * (1 + len(columns))]
            for gold_value in sorted(r["confusion"], key=_float):
                row = r["confusion"][gold_value]
                lines.append(f"| {gold_value} | " + " | ".join(str(row.get(c, 0)) for c in columns) + " |")
            lines.append("")
    return lines


def _float(text):
    try:
        return float(text)
    except ValueError:
        return float("inf")


def _plot(path, datasets, summary):
    """Grouped bars: one group per dataset, one colour per system (matplotlib, an optional extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'mnlu[plot]'") from None
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
