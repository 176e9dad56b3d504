"""Corpus-level metrics of the evaluation benchmarks: one pure function per metric.

Every function takes one list entry per instance (gold and prediction side by side) and pools
counts over the whole corpus before dividing, so F1 and Pearson are never means of per-instance
scores. The `*_counts` functions give what each instance adds to those pooled counts, one row
per instance; the headline scores are computed from their sums, and mnlu.bootstrap resamples them.
Scores are percentages (0-100). A precision with nothing predicted, or a recall with nothing to
find, is 0 (seqeval's and scikit-learn's convention), so an empty prediction scores 0.

The last section re-implements the released BioMistral-NLU scorer (`--compat released`), whose
quirks are listed in docs/evaluate.md; everything above it follows the benchmarks' definitions.
"""

import math
from collections import Counter
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence, Set
from typing import Any

import numpy as np

from mnlu.records import LETTERS
from mnlu.tasks import SPAN_SEPARATOR, normalize_space

LocatedSpan = tuple[str, str, int | None, int | None]  # (label, text, start, end), offsets None where unknown


def precision_recall_f1(tp: int, fp: int, fn: int) -> dict[str, float]:
    """P/R/F1 in percent from pooled counts, with the counts kept for the report."""
    precision = 100 * tp / (tp + fp) if tp + fp else 0.0
    recall = 100 * tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


# ---------------------------------------------------------------------------------------------
# named entities


def entity_f1(
    gold: Iterable[Iterable[tuple[str, str]]], pred: Iterable[Iterable[tuple[str, str]]], casefold: bool = False
) -> dict[str, float]:
    """Entity-level micro P/R/F1: exact match of (label, span text) within each instance.

    `gold` and `pred` hold one list of (label, text) pairs per instance. Matching is a multiset
    intersection, so a span listed twice in the gold must be predicted twice; span texts are
    compared after collapsing white space (and case, with `casefold`).
    """
    return pooled_f1(entity_counts(gold, pred, casefold))


def pooled_f1(counts: np.ndarray) -> dict[str, float]:
    """P/R/F1 of per-instance (tp, fp, fn) rows, pooled over the corpus."""
    return precision_recall_f1(*(int(c) for c in counts.sum(axis=0)))


def entity_counts(
    gold: Iterable[Iterable[tuple[str, str]]], pred: Iterable[Iterable[tuple[str, str]]], casefold: bool = False
) -> np.ndarray:
    """(tp, fp, fn) of each instance, as entity_f1 matches its spans: an (instances x 3) array."""
    rows = [entity_row(g, p, casefold) for g, p in zip(gold, pred, strict=True)]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def entity_row(
    gold_spans: Iterable[tuple[str, str]], pred_spans: Iterable[tuple[str, str]], casefold: bool = False
) -> tuple[int, int, int]:
    """(tp, fp, fn) of one instance: the multiset intersection of its (label, span text) pairs."""
    g, p = _span_keys(gold_spans, casefold), _span_keys(pred_spans, casefold)
    hits = len(p) if g == p else _common(g, p)  # equal lists: the usual right answer
    return hits, len(p) - hits, len(g) - hits


def _common(a: Sequence[Hashable], b: Iterable[Hashable]) -> int:
    """The size of the multiset intersection of `a` and `b` (a few spans an instance: faster than Counters)."""
    left, hits = list(a), 0
    for x in b:
        if x in left:
            left.remove(x)
            hits += 1
    return hits


def _span_keys(spans: Iterable[tuple[str, str]], casefold: bool) -> list[tuple[str, str]]:
    """What two spans must share to match: the label, and the text with its white space collapsed
    (and its case folded, with `casefold`)."""
    if casefold:
        return [(label, normalize_space(text).casefold()) for label, text in spans]
    return [(label, normalize_space(text)) for label, text in spans]


def relaxed_entity_f1(gold: Iterable[Iterable[LocatedSpan]], pred: Iterable[Sequence[LocatedSpan]]) -> dict[str, float]:
    """Entity F1 where a predicted span that overlaps a gold span of its label counts as found.

    Spans are (label, text, start, end) with character offsets, start/end None where unknown.
    Matching is greedy and one-to-one: exact (label, text) matches first, so the relaxed score is
    never below the strict one, then overlaps in prediction order. `boundary_errors` counts the
    predictions credited only by overlap: right type and place, wrong boundaries.
    """
    return pooled_relaxed_f1(np.array([relaxed_entity_row(g, p) for g, p in zip(gold, pred, strict=True)]))


def pooled_relaxed_f1(rows: np.ndarray) -> dict[str, float]:
    """relaxed_entity_f1 of per-instance (tp, fp, fn, boundary errors) rows, pooled over the corpus."""
    tp, fp, fn, boundary = (int(c) for c in np.reshape(rows, (-1, 4)).sum(axis=0))
    return {**precision_recall_f1(tp, fp, fn), "boundary_errors": boundary}


def relaxed_entity_row(gold_spans: Iterable[LocatedSpan], pred_spans: Sequence[LocatedSpan]) -> tuple[int, ...]:
    """(tp, fp, fn, boundary errors) of one instance, as relaxed_entity_f1 matches its spans."""
    free = list(gold_spans)
    free_keys = _span_keys([g[:2] for g in free], False)
    unmatched = []
    for span, key in zip(pred_spans, _span_keys([s[:2] for s in pred_spans], False)):
        if key in free_keys:
            j = free_keys.index(key)
            del free[j], free_keys[j]
        else:
            unmatched.append(span)
    overlaps = 0
    for label, _, start, end in unmatched:
        j = next((j for j, g in enumerate(free) if g[0] == label and _overlap(g[2], g[3], start, end)), None)
        if j is not None:
            free.pop(j)
            overlaps += 1
    exact = len(pred_spans) - len(unmatched)
    return exact + overlaps, len(unmatched) - overlaps, len(free), overlaps


def _overlap(start_1: int | None, end_1: int | None, start_2: int | None, end_2: int | None) -> bool:
    return None not in (start_1, start_2) and start_1 < end_2 and start_2 < end_1


def token_f1(
    gold: Iterable[Mapping[str, Set[Hashable]]], pred: Iterable[Mapping[str, Set[Hashable]]], labels: Sequence[str]
) -> dict[str, Any]:
    """Token-level P/R/F1 per label, their macro average over `labels` and the pooled micro.

    `gold` and `pred` hold one dict per instance, label -> set of token ids covered by that label
    (EBM PICO: whitespace-token positions). A label's F1 counts even when it is 0, so the macro
    is the plain mean over the listed elements, as BLURB averages Participants/Interventions/Outcomes.
    """
    gold, pred = list(gold), list(pred)
    every = token_labels(gold, pred, labels)
    return token_scores(token_counts(gold, pred, every), every, labels)


def token_labels(
    gold: Iterable[Mapping[str, Set[Hashable]]], pred: Iterable[Mapping[str, Set[Hashable]]], labels: Sequence[str]
) -> list[str]:
    """`labels` first, then any other label a gold or predicted instance uses, in order of appearance."""
    return list(dict.fromkeys([*labels, *(label for side in (gold, pred) for d in side for label in d)]))


def token_scores(counts: np.ndarray, every: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """token_f1 from token_counts over `every` label (token_labels: `labels` first)."""
    sums = counts.sum(axis=0)
    per_label = {label: precision_recall_f1(*(int(c) for c in sums[k])) for k, label in enumerate(every)}
    macro = sum(per_label[label]["f1"] for label in labels) / len(labels) if labels else 0.0
    micro = precision_recall_f1(*(int(c) for c in sums.sum(axis=0)))
    return {"macro_f1": macro, "micro": micro, "per_label": per_label}


def token_counts(
    gold: Iterable[Mapping[str, Set[Hashable]]], pred: Iterable[Mapping[str, Set[Hashable]]], labels: Sequence[str]
) -> np.ndarray:
    """(tp, fp, fn) of each instance and label, as token_f1 counts tokens: (instances x labels x 3)."""
    rows, none = [], frozenset()
    for gold_tokens, pred_tokens in zip(gold, pred, strict=True):
        row = []
        for label in labels:
            g, p = gold_tokens.get(label, none), pred_tokens.get(label, none)
            tp = len(g & p)
            row.append((tp, len(p) - tp, len(g) - tp))
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, len(labels), 3)


# ---------------------------------------------------------------------------------------------
# choices


def relation_f1(gold: Iterable[str], pred: Iterable[str | None], negative: Iterable[str | None]) -> dict[str, Any]:
    """Micro P/R/F1 over the positive relation classes (BLUE's eval_rel), with per-class rows.

    `gold` is one label per instance, `pred` the predicted label or None (unparseable), and
    `negative` the instance's no-relation label or None. A negative or missing prediction is no
    positive; a wrong positive is a false positive of its class and a false negative of the
    gold's. Labels the gold never uses still count as false positives.
    """
    counts = {}  # label -> [tp, fp, fn]
    for g, p, neg in zip(gold, pred, negative, strict=True):
        for label, kind in _relation_events(g, p, neg):
            counts.setdefault(label, [0, 0, 0])[kind] += 1
    per_class = {label: precision_recall_f1(*c) for label, c in sorted(counts.items())}
    return {**precision_recall_f1(*(sum(c[i] for c in counts.values()) for i in range(3))), "per_class": per_class}


def relation_counts(gold: Iterable[str], pred: Iterable[str | None], negative: Iterable[str | None]) -> np.ndarray:
    """(tp, fp, fn) of each instance over the positive classes, as relation_f1 pools them."""
    rows = []
    for g, p, neg in zip(gold, pred, negative, strict=True):
        row = [0, 0, 0]
        for _, kind in _relation_events(g, p, neg):
            row[kind] += 1
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _relation_events(g: str, p: str | None, neg: str | None) -> list[tuple[str, int]]:
    """What one instance counts: (class, 0 tp | 1 fp | 2 fn). A negative or missing prediction is no
    positive; a wrong positive is a false positive of its class and a false negative of the gold's."""
    events = []
    if p is not None and p != neg:
        events.append((p, 0 if p == g else 1))
    if g != neg and p != g:
        events.append((g, 2))
    return events


def multilabel_f1(gold: Sequence[set[str]], pred: Iterable[set[str]]) -> dict[str, Any]:
    """Multi-label document classification (HoC): micro, macro and example-based F1.

    `gold` and `pred` hold one set of labels per document. Micro pools (document, label) pairs;
    macro averages per-label F1 over the labels that occur in gold or prediction; example-based
    is BLUE's eval_hoc: F = 2PR/(P+R) of the per-document precision and recall means, where a
    document with an empty set on a side counts 1 on that side if the other is empty too, else 0.
    """
    counts = {}
    doc_p = doc_r = 0.0
    gold, pred = list(gold), list(pred)
    for g, p in zip(gold, pred, strict=True):
        for label in g | p:
            c = counts.setdefault(label, [0, 0, 0])
            c[0 if label in g and label in p else 1 if label in p else 2] += 1
        hits = len(g & p)
        doc_p += hits / len(p) if p else float(not g)
        doc_r += hits / len(g) if g else float(not p)
    n = len(gold)
    micro = precision_recall_f1(*(sum(c[i] for c in counts.values()) for i in range(3)))
    per_label = {label: precision_recall_f1(*c) for label, c in sorted(counts.items())}
    macro = sum(r["f1"] for r in per_label.values()) / len(per_label) if per_label else 0.0
    p_mean, r_mean = (100 * doc_p / n, 100 * doc_r / n) if n else (0.0, 0.0)
    example = 2 * p_mean * r_mean / (p_mean + r_mean) if p_mean + r_mean else 0.0
    return {"micro": micro, "macro_f1": macro, "example_based_f1": example, "per_label": per_label}


def multilabel_counts(gold: Iterable[set[str]], pred: Iterable[set[str]]) -> np.ndarray:
    """(tp, fp, fn) of each document over its (document, label) pairs: what micro F1 pools."""
    rows = [(len(g & p), len(p - g), len(g - p)) for g, p in zip(gold, pred, strict=True)]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def accuracy(gold: Sequence[object], pred: Iterable[object]) -> float:
    """Share of instances whose predicted answer equals the gold; None (unparseable) is wrong."""
    return 100 * int(accuracy_counts(gold, pred).sum()) / len(gold) if gold else 0.0


def accuracy_counts(gold: Iterable[object], pred: Iterable[object]) -> np.ndarray:
    """Whether each instance's predicted answer equals the gold (None, unparseable, never does)."""
    return np.array([p is not None and p == g for g, p in zip(gold, pred, strict=True)], dtype=bool)


def pearson(gold: Sequence[float], pred: Sequence[float]) -> float:
    """Pearson correlation (x100) of two real-valued lists; 0 where one side is constant.

    A constant side has no linear association to measure (the coefficient is 0/0), so it is
    scored 0 rather than left undefined; the caller says so in the report.
    """
    x, y = np.asarray(gold, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError(f"pearson: {len(x)} gold scores but {len(y)} predictions")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("pearson: a score is NaN or infinite")
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return 0.0
    x, y = x / np.abs(x).max(), y / np.abs(y).max()  # scale first, so a sum of huge values cannot overflow
    x, y = x - x.mean(), y - y.mean()
    if not (x.any() and y.any()):  # values too close to tell apart once scaled: constant
        return 0.0
    x, y = x / np.abs(x).max(), y / np.abs(y).max()  # scale-free, so tiny values cannot underflow
    return 100 * float(x @ y) / math.sqrt(float(x @ x) * float(y @ y))


# ---------------------------------------------------------------------------------------------
# the released BioMistral-NLU scorer (uw-bionlp/BioMistral-NLU evaluation.py), for comparison

# a label is left out of the released "Overall" row when `,{label},` (lowercased) contains one of these
_RELEASED_EXCLUDED = (",no,", ",not mentioned,", "not related to", "cannot be", "can not be", "none,")


def released_excluded(label: str) -> bool:
    """Whether the released scorer drops `label` from its overall score as a negative class."""
    key = f",{label.replace(',', '-').lower()},"
    return any(pattern in key for pattern in _RELEASED_EXCLUDED)


def released_overall(counts: Mapping[str, Sequence[int]], negatives: Collection[str] = ()) -> dict[str, float]:
    """The released "Overall": micro P/R/F1 over labels with gold instances, negatives left out.

    `counts` maps label -> [n_gold, n_predicted, tp]. Labels without gold drop their false
    positives; labels in `negatives` or caught by the released string rules drop out entirely.
    """
    kept = [c for label, c in counts.items() if c[0] > 0 and label not in negatives and not released_excluded(label)]
    n_gold, n_pred, tp = (sum(c[i] for c in kept) for i in range(3))
    return precision_recall_f1(tp, n_pred - tp, n_gold - tp)


def released_span_counts(
    references: Iterable[str], predictions: Iterable[str], tokens: bool = False
) -> dict[str, list[int]]:
    """Per-label [n_gold, n_predicted, tp] of the released span scorer (NER lines, PICO tokens).

    Lines are aligned by position when the reference has several lines and the prediction as
    many (the predicted label is ignored), else each predicted line goes to the first reference
    line starting with its label. Spans match as lowercased exact strings; with `tokens` the
    spans are split into whitespace tokens that match case-sensitively (PICO). Matching is
    greedy one-to-one, i.e. a multiset intersection.
    """
    counts = {}
    for reference, prediction in zip(references, predictions, strict=True):
        ref_lines = reference.strip().split("\n")
        pred_lines = prediction.replace("[SEP]", SPAN_SEPARATOR).strip().split("\n")
        if len(ref_lines) > 1 and len(pred_lines) == len(ref_lines):
            aligned = [line.split(":", 1)[1] if ":" in line else "" for line in pred_lines]
        else:
            aligned = ["None"] * len(ref_lines)
            for line in pred_lines:
                label = line.split(":", 1)[0]
                i = next((i for i, ref in enumerate(ref_lines) if ref.startswith(label)), None)
                if i is not None and ":" in line:
                    aligned[i] = line.split(":", 1)[1]
        for ref_line, pred_rest in zip(ref_lines, aligned):
            label, ref_rest = ref_line.split(":", 1) if ":" in ref_line else (ref_line, "")
            g, p = _released_spans(ref_rest, tokens), _released_spans(pred_rest, tokens)
            c = counts.setdefault(label.strip(), [0, 0, 0])
            c[0] += g.total()
            c[1] += p.total()
            c[2] += (g & p).total()
    return counts


def _released_spans(rest: str, tokens: bool) -> Counter[str]:
    spans = [s.strip() for s in rest.split(SPAN_SEPARATOR)]
    spans = [s for s in spans if s and s != "None"]
    if len(spans) > 20:
        spans = list(dict.fromkeys(spans))
    if tokens:
        return Counter(t for s in spans for t in s.split())
    return Counter(s.lower() for s in spans)


def released_read_option(options: Sequence[str], text: str) -> str:
    """The released `read_options`: the first option, in option order, whose `(X)` occurs in
    `text`; option (A) when none does, so an unparseable answer counts as (A)."""
    return next((o for x, o in zip(LETTERS, options) if f"({x})" in text), options[0])


def released_choice_counts(
    options: Iterable[Sequence[str]], references: Iterable[str], predictions: Iterable[str]
) -> dict[str, list[int]]:
    """Per-label [n_gold, n_predicted, tp] of the released single-label classification scorer."""
    counts = {}
    for opts, reference, prediction in zip(options, references, predictions, strict=True):
        g, p = released_read_option(opts, reference), released_read_option(opts, prediction)
        counts.setdefault(g, [0, 0, 0])[0] += 1
        counts.setdefault(p, [0, 0, 0])[1] += 1
        counts[g][2] += g == p
    return counts


def released_multilabel_counts(
    options: Iterable[Sequence[str]], references: Iterable[str], predictions: Iterable[str]
) -> dict[str, list[int]]:
    """Per-label [n_gold, n_predicted, tp] of the released multi-label scorer: `(X)` membership."""
    counts = {}
    for opts, reference, prediction in zip(options, references, predictions, strict=True):
        for x, option in zip(LETTERS, opts):
            g, p = f"({x})" in reference, f"({x})" in prediction
            c = counts.setdefault(option, [0, 0, 0])
            c[0] += g
            c[1] += p
            c[2] += g and p
    return counts


def released_accuracy(references: Sequence[str], predictions: Iterable[str]) -> float:
    """The released QA/NLI accuracy: right iff the whole gold answer line is in the output."""
    right = sum(r.strip().lower() in p.strip().lower() for r, p in zip(references, predictions, strict=True))
    return 100 * right / len(references) if references else 0.0
