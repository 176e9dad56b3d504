"""Confidence intervals of corpus-level scores: the bootstrap over the benchmark's units.

Every benchmark score is a formula of sums over units (mnlu.metrics' `*_counts`): F1 of the summed
(tp, fp, fn), accuracy of the summed hits, Pearson of the summed moments. A record is the
benchmark's unit (a sentence for NER, an abstract for HoC and EBM PICO, an instance elsewhere), so
one resample is a vector of record weights (how often each record was drawn, out of n draws with
replacement) and its score is the formula applied to the weighted sums: the whole corpus-level
metric recomputed on the resample, never a mean of per-record scores.

Two systems scored on the same records are compared by the paired bootstrap: each resample draws
the same records for both, and the interval is that of the difference B - A. Intervals are
percentile intervals (the 2.5th and 97.5th percentiles of the resampled scores). The draws are
seeded by (seed, dataset, number of records) and made over records sorted by id, so a report is
reproducible and systems scored on the same records meet the same draws.
"""

import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple

import numpy as np

CHUNK = 4_000_000  # draws held at once (resamples x records): about 64 MB
LEVEL = 95  # percent: the intervals' coverage
WIDE = 20.0  # points: an interval wider than this rests on too few instances to tell systems apart


class Units(NamedTuple):
    """What each record adds to a score's sums, and the formula that turns sums into the score."""

    ids: tuple[str, ...]  # one per record, in the order of `stats`
    stats: np.ndarray  # records x ...: each record's counts (tp/fp/fn, hits, moments)
    formula: str  # "f1", "macro_f1", "accuracy" or "pearson"


def f1_units(ids: Sequence[str], counts: np.ndarray) -> Units:
    return Units(tuple(ids), np.asarray(counts, dtype=np.float64), "f1")


def macro_f1_units(ids: Sequence[str], counts: np.ndarray) -> Units:
    return Units(tuple(ids), np.asarray(counts, dtype=np.float64), "macro_f1")


def accuracy_units(ids: Sequence[str], hits: Sequence[bool]) -> Units:
    """Each record's (hit, 1): accuracy is the summed hits over the summed records."""
    hits = np.asarray(hits, dtype=np.float64)
    return Units(tuple(ids), np.stack([hits, np.ones_like(hits)], axis=1), "accuracy")


def pearson_units(ids: Sequence[str], gold: Sequence[float], pred: Sequence[float]) -> Units:
    """Each record's moments (1, x, y, x², y², xy), x and y centred on their means first so the sums
    stay well conditioned (Pearson does not change under a shift)."""
    x, y = np.asarray(gold, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    return Units(tuple(ids), np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1), "pearson")


def score_of(formula: str, sums: np.ndarray) -> np.ndarray:
    """The score (0-100) of summed stats: `sums` is (..., stat shape), the result (...)."""
    if formula == "f1":
        return _f1(sums)
    if formula == "macro_f1":  # (..., labels, 3): the plain mean of the labels' F1
        return _f1(sums).mean(axis=-1) if sums.shape[-2] else np.zeros(sums.shape[:-2])
    if formula == "accuracy":
        return 100 * _ratio(sums[..., 0], sums[..., 1])
    if formula == "pearson":  # 0 where a side is constant, as mnlu.metrics.pearson scores it
        n, sx, sy, sxx, syy, sxy = np.moveaxis(sums, -1, 0)
        covariance, var_x, var_y = n * sxy - sx * sy, n * sxx - sx * sx, n * syy - sy * sy
        scale = np.sqrt(np.clip(var_x, 0, None) * np.clip(var_y, 0, None))
        tiny = 1e-12 * (n * np.maximum(sxx, syy)) ** 2  # variance lost to rounding: a constant side
        return 100 * np.clip(np.divide(covariance, scale, out=np.zeros_like(scale), where=scale**2 > tiny), -1, 1)
    raise ValueError(f"unknown formula {formula!r}")


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(np.asarray(a, dtype=np.float64)), where=b > 0)


def _f1(sums: np.ndarray) -> np.ndarray:
    """F1 = 2tp / (2tp + fp + fn), 0 where tp is 0: the same number as 2PR / (P + R)."""
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    return 100 * _ratio(2 * tp, np.where(tp > 0, 2 * tp + fp + fn, 0))


def point_score(units: Units) -> float:
    """The score of all records: the headline score, from the same sums the bootstrap resamples."""
    return float(score_of(units.formula, units.stats.sum(axis=0)))


# ---------------------------------------------------------------------------------------------
# resampling


def draw_chunks(n: int, resamples: int, seed: int, dataset: str) -> Iterator[np.ndarray]:
    """The (resamples x n) draws, row r holding the records resample r drew (with replacement), a
    block of rows at a time so memory stays bounded on large test sets (same rows as one block)."""
    rng = np.random.default_rng([seed, zlib.crc32(dataset.encode()), n])
    rows = max(1, min(resamples, CHUNK // max(n, 1)))
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n))


def _counts(codes: np.ndarray, kinds: int) -> np.ndarray:
    """How often each of `kinds` values occurs in each row of `codes` (rows x kinds)."""
    return np.stack([np.bincount(row, minlength=kinds) for row in codes])


def drawn_scores(systems: Sequence[Units], resamples: int, seed: int, dataset: str) -> list[np.ndarray]:
    """The resampled scores of each of `systems` (the same records, in the same order) under the
    same draws: for resample r, the score of the records' stats summed with weights w_r, w_r[i]
    being how often r drew record i.

    Where every stat is a whole number (counts; all but Pearson's moments) any order of summing
    gives the same sums, so records with equal stats are counted as one kind: each resample
    counts its draws per kind, a few bins instead of a weight per record.
    """
    n, flats = len(systems[0].ids), [units.stats.reshape(len(units.ids), -1) for units in systems]
    whole = all(np.array_equal(flat, np.round(flat)) for flat in flats)
    if whole:
        kinds, kind_of = _kinds(np.hstack(flats))
        flats = np.split(kinds, np.cumsum([f.shape[1] for f in flats])[:-1], axis=1)  # each system's stats per kind
    scores = [[] for _ in systems]
    for draws in draw_chunks(n, resamples, seed, dataset):
        drawn = _counts(kind_of[draws] if whole else draws, len(flats[0])).astype(np.float64)
        for units, flat, samples in zip(systems, flats, scores):
            sums = (drawn @ flat).reshape(len(drawn), *units.stats.shape[1:])
            samples.append(score_of(units.formula, sums))
    return [np.concatenate(s) for s in scores]


def _kinds(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `stats` (kinds x stats) and the kind of each row."""
    index = {}
    kind_of = [index.setdefault(row, len(index)) for row in map(tuple, stats.tolist())]
    return np.array(list(index), dtype=np.float64).reshape(len(index), stats.shape[1]), np.array(kind_of)


def by_sorted_id(units: Units, ids: Sequence[str]) -> Units:
    """`units` restricted to `ids` and put in their order (sorted ids: the canonical order)."""
    where = {record_id: k for k, record_id in enumerate(units.ids)}
    index = [where[record_id] for record_id in ids]
    return Units(tuple(ids), units.stats[index], units.formula)


def interval(samples: np.ndarray) -> list[float]:
    """The percentile interval of resampled values, at LEVEL."""
    tail = (100 - LEVEL) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return [float(low), float(high)]


def dataset_resamples(
    systems: Mapping[str, Units], dataset: str, resamples: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[tuple[str, str], tuple[np.ndarray, int, float]]]:
    """Each system's resampled scores on `dataset`, and for each system after the first its
    difference to the first on the records both answered: (resampled differences, number of
    records, the difference on all of them).

    Resamples are drawn over the records sorted by id, so two systems with the same records get
    the very same draws: their intervals, the averages and the differences agree resample by resample.
    """
    own = {}
    for name, units in systems.items():
        (own[name],) = drawn_scores([by_sorted_id(units, sorted(units.ids))], resamples, seed, dataset)
    differences = {}
    names = list(systems)
    for name in names[1:]:
        common = sorted(set(systems[names[0]].ids) & set(systems[name].ids))
        if not common:
            continue
        a, b = by_sorted_id(systems[names[0]], common), by_sorted_id(systems[name], common)
        scores_a, scores_b = drawn_scores([a, b], resamples, seed, dataset)
        differences[(names[0], name)] = (scores_b - scores_a, len(common), point_score(b) - point_score(a))
    return own, differences


def report_intervals(
    units: Mapping[str, Mapping[str, Units]],
    averages: Mapping[str, Sequence[str]],
    resamples: int,
    seed: int,
    run: Callable[..., list] | None = None,
) -> dict[str, object]:
    """Every interval a report shows, from `units` (system -> dataset -> Units).

    `averages` maps an average's name (BLURB, BLUE) to its datasets; an average is the plain mean
    of the datasets a system has, resample by resample. Returns {"systems": {system: {dataset or
    average: [low, high]}}, "differences": [one entry per later system, dataset and average: the
    point difference to the first system on the records both answered, its interval and n]}, with
    the level, resamples and seed that made them. Each dataset is resampled on its own, so `run`
    (fn, jobs, sizes) -> [fn(*job) for job in jobs] may run them on several processes.
    """
    names = list(units)
    own = {name: {} for name in names}  # system -> dataset -> resampled scores
    paired = {name: {} for name in names[1:]}  # later system -> dataset -> (resampled B - A, n, B - A)
    datasets = list(dict.fromkeys(d for name in names for d in units[name]))
    jobs = [({name: units[name][d] for name in names if d in units[name]}, d, resamples, seed) for d in datasets]
    sizes = [sum(len(u.ids) for u in having.values()) for having, *_ in jobs]
    results = run(dataset_resamples, jobs, sizes) if run else [dataset_resamples(*job) for job in jobs]
    for (having, dataset, *_), (scores, differences) in zip(jobs, results):
        for name, samples in scores.items():
            own[name][dataset] = samples
        if names[0] in having:
            for (_, name), difference in differences.items():
                paired[name][dataset] = difference
    result = {
        "level": LEVEL,
        "resamples": resamples,
        "seed": seed,
        "systems": {name: {d: interval(s) for d, s in own[name].items()} for name in names},
        "differences": [],
    }
    for name in names:
        for average, members in averages.items():
            present = [own[name][d] for d in members if d in own[name]]
            if present:
                result["systems"][name][average] = interval(np.mean(present, axis=0))
    for name, by_dataset in paired.items():
        rows = [_difference(names[0], name, d, *difference) for d, difference in by_dataset.items()]
        for average, members in averages.items():
            both = [d for d in members if d in by_dataset]
            if both:
                point = float(np.mean([by_dataset[d][2] for d in both]))
                samples = np.mean([by_dataset[d][0] for d in both], axis=0)
                n = sum(by_dataset[d][1] for d in both)
                rows.append(_difference(names[0], name, average, samples, n, point))
        result["differences"] += rows
    return result


def _difference(a: str, b: str, dataset: str, samples: np.ndarray, n: int, point: float) -> dict[str, object]:
    """One row of the differences: B - A on the n records both answered, with its paired interval."""
    return {"a": a, "b": b, "dataset": dataset, "difference": point, "ci": interval(samples), "n": n}
