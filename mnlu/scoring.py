"""Prediction folders -> per-dataset scores, each with its benchmark's own metric.

A system is one folder of `<dataset id>.jsonl` prediction files (records plus `prediction`),
usually with infer.py's `run.json`, whose `instances` say how many records each file should
hold. Each dataset is scored with its benchmark's metric (`mnlu.benchmarks`, `mnlu.metrics`) on
the parsed answers (`mnlu.parse`), or, with `compat="released"`, the way the released
BioMistral-NLU code scored the raw outputs.
"""

import bisect
import contextlib
import gc
import itertools
import math
import os
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from mnlu import bootstrap, metrics
from mnlu.benchmarks import EVAL_DATASETS, RELEASES
from mnlu.cli import InputError, excerpt
from mnlu.fileio import read_json
from mnlu.parse import ParsedAnswer, SpanLocator, parse_answer, span_locator
from mnlu.records import DATASET_ID, LETTERS, SPAN_TASKS, Record, RecordError, numbered_records
from mnlu.tasks import source_text

# the metric of a dataset outside both benchmarks, by task ("dc" multi-label: micro F1, as HoC)
DEFAULT_METRIC = {
    "ner": "entity-level F1",
    "ete": "entity-level F1",
    "eae": "entity-level F1",
    "re": "micro F1",
    "qa": "accuracy",
    "nli": "accuracy",
    "eac": "accuracy",
    "dc": "accuracy",
    "sts": "Pearson",
}
_TOKEN = re.compile(r"\S+")  # EBM PICO's tokens: white-space separated


# ---------------------------------------------------------------------------------------------
# reading prediction folders


def predictions(path: str | Path, compat: str | None = None) -> Iterator[Record]:
    """Yield the prediction records of one `<dataset id>.jsonl` as they are read, each checked
    against the contract and the file's first record; errors name `path:line`.

    With `compat="released"` each record must have the assistant turn (the gold answer text)
    that the released scorer reads.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not a prediction file (a folder, a broken link or a loop of links)")
    name, dataset = str(path), path.stem  # once, not per record
    first, first_lineno, first_line = None, 0, {}
    for lineno, record in numbered_records(path):
        where = f"{name}:{lineno}"
        if record["task"] == "summ":
            raise RecordError(f"{where}: summarization is a training task; there is no metric to score it")
        if not isinstance(record.get("prediction"), str):
            raise RecordError(f"{where}: 'prediction' must be a string (the raw model output)")
        if not isinstance(record.get("reached_max_tokens", False), bool):
            raise RecordError(f"{where}: 'reached_max_tokens' must be true or false (infer.py writes it)")
        if record["dataset"] != dataset:
            raise RecordError(f"{where}: record of dataset {excerpt(record['dataset'])} in the file of {dataset!r}")
        if first and record["task"] != first["task"]:
            raise RecordError(f"{where}: task {record['task']!r}, but line {first_lineno} has {first['task']!r}")
        if record["id"] in first_line:
            raise RecordError(f"{where}: id {excerpt(record['id'])} repeats line {first_line[record['id']]}")
        check_scored_gold(record, where)
        if compat == "released" and not any(m["role"] == "assistant" for m in record["messages"]):
            raise RecordError(f"{where}: no assistant turn, the gold answer text that --compat released scores against")
        if first and record["gold"].get("multi_label", False) != first["gold"].get("multi_label", False):
            raise RecordError(f"{where}: gold.multi_label differs from line {first_lineno}")
        if "version" in record and not (isinstance(record["version"], str) and record["version"] in RELEASES):
            raise RecordError(
                f"{where}: 'version' must be one of {', '.join(RELEASES)} (the release it was built from)"
            )
        if first and record.get("version") != first.get("version"):
            raise RecordError(
                f"{where}: built from release {excerpt(record.get('version'))}, line "
                f"{first_lineno} from {excerpt(first.get('version'))} (one file, one release)"
            )
        first_line[record["id"]] = lineno
        if first is None:
            first, first_lineno = record, lineno
        yield record
    known = EVAL_DATASETS.get(path.stem)
    if first and known and first["task"] != known.task:
        raise RecordError(
            f"{path}:{first_lineno}: {path.stem} is a {known.task} dataset, but its records are {first['task']!r}"
        )


def check_scored_gold(record: Record, where: str) -> None:
    """Raise RecordError for a gold field that scoring reads and the record contract leaves loose:
    a wrong type there would crash a metric, or worse, skew it (a NaN gold score, a string offset)."""
    gold, task = record["gold"], record["task"]

    def fail(what: str) -> NoReturn:
        raise RecordError(f"{where}: {what}")

    if task in SPAN_TASKS:
        length = None  # the text's, looked up for the first span with offsets
        for i, span in enumerate(gold["spans"]):
            start, end = span.get("start"), span.get("end")
            if start is None and end is None:
                continue
            if length is None:
                text = source_text(record)
                length = math.inf if text is None else len(text)
            if not (type(start) is int and type(end) is int and 0 <= start <= end <= length):  # JSON: no bool
                fail(f"gold.spans[{i}] needs integer character offsets 0 <= start <= end <= the text's length, or none")
        return
    options = gold["options"]
    if len(set(options)) != len(options) or not 2 <= len(options) <= len(LETTERS):
        fail(f"gold.options must be 2 to {len(LETTERS)} distinct strings")
    if not isinstance(gold.get("multi_label", False), bool) or (gold.get("multi_label") and task != "dc"):
        fail("gold.multi_label must be true or false (true for document classification only)")
    if len(set(gold["answers"])) != len(gold["answers"]) or (not gold.get("multi_label") and len(gold["answers"]) != 1):
        fail("gold.answers must name distinct options, exactly one unless gold.multi_label")
    for key in ("negative", "label"):
        if gold.get(key) is not None and not isinstance(gold[key], str):
            fail(f"gold.{key} must be a string")
    if gold.get("negative") is not None and gold["negative"] not in options:
        fail("gold.negative must be one of gold.options")
    if task == "sts" and not (
        is_real(gold["score"]) and isinstance(gold["option_scores"], list) and all(map(is_real, gold["option_scores"]))
    ):
        fail("sts gold needs a finite number 'score' and a list of finite numbers 'option_scores'")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """A finite int or float (not a bool): NaN, infinity and ints past float's range are no score."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Allocate and use objects in bulk without the garbage collector rescanning them.

    Records and parsed answers hold no reference cycles, so reference counting frees them; yet
    every generation-2 pass walked all live objects, and with a million records in memory that
    made reading and scoring them three times slower. Survivors are frozen out of later passes.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def prediction_files(folder: str | Path) -> list[Path]:
    """The `<dataset id>.jsonl` files of one prediction folder, in the order they are scored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such prediction folder")
    return sorted(folder.glob("*.jsonl"))


def score_file(path: Path, compat: str | None = None) -> dict[str, Any] | None:
    """`score_dataset` of one prediction file, read as it is scored (one worker's job); None for no records."""
    return score_dataset(path.stem, predictions(path, compat), compat)


def completeness(folder: str | Path, counts: Mapping[str, int]) -> dict[str, Any]:
    """How each prediction file's record count (`counts`: {dataset id: records}) compares with what
    infer.py was asked for.

    infer.py writes `run.json` with `"instances": {dataset id: records to answer}`; a file with
    fewer records is what a killed run leaves, and scoring it as complete would print a number
    for a different test set. Returns {"checked": False, "reason": ...} for a folder without such
    counts (hand-made predictions), else {"checked": True, "source", "expected", "incomplete":
    {dataset: {"n", "expected"}}}. More records than expected is an error (folders mixed).
    """
    path = Path(folder) / "run.json"
    if not os.path.lexists(path):
        return {"checked": False, "reason": "no run.json (predictions not written by infer.py)"}
    expected = _expected_instances(path)
    if expected is None:
        return {"checked": False, "reason": "run.json has no instance counts (an older infer.py)"}
    incomplete = {}
    for dataset, n_expected in expected.items():
        n = counts.get(dataset, 0)
        if n > n_expected:
            raise InputError(
                f"{path.parent / dataset}.jsonl: {n} records, but {path} says infer.py was asked "
                f"for {n_expected}; the folder mixes runs"
            )
        if n < n_expected:
            incomplete[dataset] = {"n": n, "expected": n_expected}
    return {"checked": True, "source": str(path), "expected": expected, "incomplete": incomplete}


def _expected_instances(path: Path) -> dict[str, int] | None:
    """run.json's `instances` map, checked; None when it has none."""
    run = read_json(path)
    if not isinstance(run, dict):
        raise InputError(f"{path}: expected a JSON object (infer.py's run settings)")
    if "instances" not in run:
        return None
    instances = run["instances"]
    if not (
        isinstance(instances, dict)
        and all(DATASET_ID.fullmatch(d) and _is_int(n) and n >= 0 for d, n in instances.items())
    ):
        raise InputError(f"{path}: 'instances' must map each dataset id to its number of records (an integer >= 0)")
    return instances


# ---------------------------------------------------------------------------------------------
# scoring one dataset


def score_dataset(dataset: str, records: Iterable[Record], compat: str | None = None) -> dict[str, Any] | None:
    """The scores of one dataset's predictions: metric, headline score, n, unparseable, details.

    `records` are read once, in order, so a stream of them is scored without holding them: each
    answer is parsed as its record arrives, and only what the metric needs of it is kept.
    None for no records.
    """
    records = iter(records)
    first = next(records, None)
    if first is None:
        return None
    task = first["task"]
    multi_label = task == "dc" and first["gold"].get("multi_label", False)
    if dataset in EVAL_DATASETS:
        metric = EVAL_DATASETS[dataset].metric
    else:
        metric = "micro F1" if multi_label else DEFAULT_METRIC[task]
    token_level = metric.startswith("token-level")
    tally = {"n": 0, "unparseable": 0, "cut": 0, "uncounted": 0}
    pairs = _parsed(itertools.chain([first], records), tally)
    if compat == "released":
        details = _score_released(pairs, task, token_level, multi_label)
        metric += " (released scorer)"
    elif compat is not None:
        raise ValueError(f"unknown compat mode {compat!r} (expected 'released')")
    elif task in SPAN_TASKS:
        details = _score_tokens(pairs) if token_level else _score_entities(pairs)
    elif task == "re":
        details = _score_relations(pairs)
    elif multi_label:
        details = _score_multilabel(pairs)
    elif task == "sts":
        details = _score_similarity(pairs)
    else:
        details = _score_choices(pairs)
    return {
        "task": task,
        "metric": metric,
        "score": details.pop("score"),
        "n": tally["n"],
        "unparseable": tally["unparseable"],
        "cut": None if tally["uncounted"] else tally["cut"],  # None: files written before infer.py recorded it
        **({"labels": first["gold"]["labels"]} if task in SPAN_TASKS else {}),  # what was asked, for the report
        **({"version": first["version"]} if "version" in first else {}),  # which release, for the report
        **details,
    }


def _parsed(records: Iterable[Record], tally: dict[str, int]) -> Iterator[tuple[Record, ParsedAnswer]]:
    """(record, its parsed answer) for each record, counted in `tally`: records, unparseable
    answers, answers cut at the token limit, and records that do not say whether they were."""
    for record in records:
        parsed = parse_answer(record, record["prediction"])
        tally["n"] += 1
        tally["unparseable"] += parsed["unparseable"]
        if "reached_max_tokens" in record:
            tally["cut"] += record["reached_max_tokens"]
        else:
            tally["uncounted"] += 1
        yield record, parsed


def _score_choices(pairs: Iterable[tuple[Record, ParsedAnswer]]) -> dict[str, Any]:
    """Accuracy: the answer set equals the gold's; an unparseable answer is wrong."""
    ids, gold, pred = [], [], []
    for r, p in pairs:
        ids.append(r["id"])
        gold.append(tuple(r["gold"]["answers"]))
        pred.append(None if p["unparseable"] else tuple(p["answers"]))
    units = bootstrap.accuracy_units(ids, metrics.accuracy_counts(gold, pred))
    return {"score": metrics.accuracy(gold, pred), "units": units}


def _score_entities(pairs: Iterable[tuple[Record, ParsedAnswer]]) -> dict[str, Any]:
    """Entity F1 (exact spans), its case-insensitive variant and relaxed (overlap) matching, each
    counted as its record is read."""
    ids, strict, casefolded, relaxed = [], [], [], []
    for record, p in pairs:
        gold_spans = record["gold"]["spans"]
        gold = [(s["label"], s["text"]) for s in gold_spans]
        pred = [(label, t) for label, texts in p["spans"].items() for t in texts]
        ids.append(record["id"])
        strict.append(metrics.entity_row(gold, pred))
        casefolded.append(metrics.entity_row(gold, pred, casefold=True))
        if not strict[-1][1]:  # every predicted span matched exactly, as relaxed matching tries first
            relaxed.append((*strict[-1], 0))
            continue
        locate = span_locator(source_text(record) or "")
        gold_located = [(s["label"], s["text"], *_offsets(locate, s)) for s in gold_spans]
        pred_located = [
            (label, t, *(where or (None, None)))
            for label, texts in p["spans"].items()
            for t, where in zip(texts, locate(texts))
        ]
        relaxed.append(metrics.relaxed_entity_row(gold_located, pred_located))
    counts = np.array(strict, dtype=np.int64).reshape(-1, 3)  # the headline score's and the bootstrap's
    result = metrics.pooled_f1(counts)
    return {
        "score": result["f1"],
        **result,
        "f1_case_insensitive": metrics.pooled_f1(np.array(casefolded, dtype=np.int64).reshape(-1, 3))["f1"],
        "relaxed": metrics.pooled_relaxed_f1(np.array(relaxed, dtype=np.int64)),
        "units": bootstrap.f1_units(ids, counts),
    }


def _offsets(locate: SpanLocator, span: Mapping[str, Any]) -> tuple[int, int] | tuple[None, None]:
    """A gold span's character offsets: its own where the builder gave them, else looked up."""
    if span.get("start") is not None and span.get("end") is not None:
        return span["start"], span["end"]
    return locate([span["text"]])[0] or (None, None)


def _score_tokens(pairs: Iterable[tuple[Record, ParsedAnswer]]) -> dict[str, Any]:
    """EBM PICO: each element's set of whitespace-token positions; unlocated spans are all FP."""
    ids, gold, pred, labels = [], [], [], {}
    for record, p in pairs:
        text = source_text(record) or ""
        bounds = [m.span() for m in _TOKEN.finditer(text)]
        tokens = [start for start, _ in bounds], [end for _, end in bounds]
        locate = span_locator(text)
        labels.update(dict.fromkeys(record["gold"]["labels"]))
        g = {}
        for span in record["gold"]["spans"]:
            g.setdefault(span["label"], set()).update(_covered(tokens, _offsets(locate, span), span["text"], "gold"))
        q = {}
        for label, texts in p["spans"].items():
            for k, (span, where) in enumerate(zip(texts, locate(texts))):
                q.setdefault(label, set()).update(_covered(tokens, where, span, (label, k)))
        ids.append(record["id"])
        gold.append(g)
        pred.append(q)
    every = metrics.token_labels(gold, pred, list(labels))
    counts = metrics.token_counts(gold, pred, every)  # token_f1's counts: the scores and (for `labels`) the bootstrap's
    result = metrics.token_scores(counts, every, list(labels))
    return {
        "score": result["macro_f1"],
        "macro_f1": result["macro_f1"],
        "micro_f1": result["micro"]["f1"],
        "per_element": result["per_label"],
        "units": bootstrap.macro_f1_units(ids, counts[:, : len(labels)]),
    }


def _covered(
    tokens: tuple[list[int], list[int]],
    where: tuple[int, int] | tuple[None, None] | None,
    span_text: str,
    tag: Hashable,
) -> Iterable[Hashable]:
    """Positions of the text's whitespace tokens that overlap the span at `where`.

    A span not found in the text covers tokens of its own, ids that no gold span can share, one
    per word of the span: each is a false positive.
    """
    if where is None or where[0] is None:
        return {("not in text", tag, span_text, j) for j in range(len(span_text.split()))}
    starts, ends = tokens
    start, end = where
    return range(bisect.bisect_right(ends, start), bisect.bisect_left(starts, end))


def _score_relations(pairs: Iterable[tuple[Record, ParsedAnswer]]) -> dict[str, Any]:
    ids, gold, pred, negative = [], [], [], []
    for r, p in pairs:
        ids.append(r["id"])
        gold.append(r["gold"]["answers"][0])
        pred.append(None if p["unparseable"] else p["answers"][0])
        negative.append(r["gold"].get("negative"))
    result = metrics.relation_f1(gold, pred, negative)
    units = bootstrap.f1_units(ids, metrics.relation_counts(gold, pred, negative))
    return {"score": result["f1"], **result, "units": units}


def _score_multilabel(pairs: Iterable[tuple[Record, ParsedAnswer]]) -> dict[str, Any]:
    ids, gold, pred = [], [], []
    for r, p in pairs:
        ids.append(r["id"])
        gold.append(set(r["gold"]["answers"]))
        pred.append(set(p["answers"]))
    result = metrics.multilabel_f1(gold, pred)
    return {
        "units": bootstrap.f1_units(ids, metrics.multilabel_counts(gold, pred)),
        "score": result["micro"]["f1"],
        "micro_f1": result["micro"]["f1"],
        "macro_f1": result["macro_f1"],
        "example_based_f1": result["example_based_f1"],
        "per_label": result["per_label"],
    }


def _score_similarity(pairs: Iterable[tuple[Record, ParsedAnswer]]) -> dict[str, Any]:
    """Pearson on real-valued gold scores; an unparseable answer is scored as the mean of the
    parsed predictions, a guess that carries no information, so it can only lower the correlation."""
    ids, gold, scores, confusion = [], [], [], {}
    for record, p in pairs:
        s = p["score"]
        gold_value = record["gold"]["option_scores"][record["gold"]["options"].index(record["gold"]["answers"][0])]
        row = confusion.setdefault(f"{gold_value:g}", {})
        column = "unparseable" if s is None else f"{s:g}"
        row[column] = row.get(column, 0) + 1
        ids.append(record["id"])
        gold.append(record["gold"]["score"])
        scores.append(s)
    known = [s for s in scores if s is not None]
    fill = sum(known) / len(known) if known else 0.0
    predicted = [fill if s is None else s for s in scores]
    units = bootstrap.pearson_units(ids, gold, predicted)
    return {**_pearson(gold, predicted), "confusion": confusion, "units": units}


def _pearson(gold: Sequence[float], predicted: Sequence[float]) -> dict[str, float | str]:
    """{"score": Pearson x 100}; where it is undefined (0/0: a constant side has no variation to
    correlate) the score is 0, with a note the report prints, as a constant guesser deserves."""
    for side, values in (("predicted", predicted), ("gold", gold)):
        if len(set(values)) < 2:
            return {"score": 0.0, "note": f"the {side} scores are constant: Pearson is undefined, scored 0"}
    return {"score": metrics.pearson(gold, predicted)}


def _score_released(
    pairs: Iterable[tuple[Record, ParsedAnswer]], task: str, token_level: bool, multi_label: bool
) -> dict[str, Any]:
    """The released BioMistral-NLU scorer on the raw outputs (see mnlu.metrics, last section)."""
    references, outputs, golds = [], [], []
    for r, _ in pairs:
        references.append(next(m["content"] for m in reversed(r["messages"]) if m["role"] == "assistant"))
        outputs.append(r["prediction"])
        golds.append(r["gold"])
    options = [g.get("options") for g in golds]
    if task in SPAN_TASKS:
        result = metrics.released_overall(metrics.released_span_counts(references, outputs, tokens=token_level))
        return {"score": result["f1"], **result}
    if task in ("qa", "nli"):
        return {"score": metrics.released_accuracy(references, outputs)}
    if task == "sts":
        value = [dict(zip(g["options"], g["option_scores"])) for g in golds]
        gold = [v[metrics.released_read_option(o, ref)] for v, o, ref in zip(value, options, references)]
        pred = [v[metrics.released_read_option(o, p)] for v, o, p in zip(value, options, outputs)]
        return _pearson(gold, pred)
    count = metrics.released_multilabel_counts if multi_label else metrics.released_choice_counts
    negatives = {g["negative"] for g in golds if g.get("negative")}
    result = metrics.released_overall(count(options, references, outputs), negatives)
    return {"score": result["f1"], **result}
