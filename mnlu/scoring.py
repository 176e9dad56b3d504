"""Prediction folders -> per-dataset scores, each with its benchmark's own metric.

A system is one folder of `<dataset id>.jsonl` prediction files (records plus `prediction`).
Each dataset is scored with its benchmark's metric (`mnlu.benchmarks`, `mnlu.metrics`) on the
parsed answers (`mnlu.parse`), or, with `compat="released"`, the way the released BioMistral-NLU
code scored the raw outputs.
"""

import bisect
import contextlib
import gc
import re
from pathlib import Path

from tqdm import tqdm

from mnlu import metrics
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.parse import parse_answer, span_locator
from mnlu.records import SPAN_TASKS, RecordError, numbered_records
from mnlu.tasks import source_text

# the metric of a dataset outside both benchmarks, by task ("dc" multi-label: micro F1, as HoC)
DEFAULT_METRIC = {"ner": "entity-level F1", "ete": "entity-level F1", "eae": "entity-level F1", "re": "micro F1",
                  "qa": "accuracy", "nli": "accuracy", "eac": "accuracy", "dc": "accuracy", "sts": "Pearson"}


# ---------------------------------------------------------------------------------------------
# reading prediction folders


def read_predictions(path):
    """The prediction records of one `<dataset id>.jsonl`, checked; errors name `path:line`."""
    path = Path(path)
    records, first_line = [], {}
    for lineno, record in numbered_records(path):
        where = f"{path}:{lineno}"
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
