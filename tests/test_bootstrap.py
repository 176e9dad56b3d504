"""mnlu.bootstrap: intervals and paired differences, checked against the metrics themselves and
against the normal approximation of a proportion."""

import math
import random

import numpy as np
import pytest

from mnlu import bootstrap, metrics

LABELS = ["Participants", "Interventions", "Outcomes"]


def resample_weights(n, resamples, seed, dataset):
    """The bootstrap's definition written out: row r says how often resample r drew each of the n
    records (resamples x n), from the draws mnlu.bootstrap makes."""
    draws = np.concatenate(list(bootstrap.draw_chunks(n, resamples, seed, dataset)))
    return np.stack([np.bincount(row, minlength=n) for row in draws]).astype(np.float64)


def resampled_scores(units, weights):
    """The score of each resample: the formula of the records' stats summed with its weights."""
    flat = units.stats.reshape(len(units.ids), -1)
    sums = (weights @ flat).reshape(len(weights), *units.stats.shape[1:])
    return bootstrap.score_of(units.formula, sums)


def spans(rng):
    return [(rng.choice("AB"), rng.choice(["fever", "rash", "cough"])) for _ in range(rng.randint(0, 3))]


def tokens(rng):
    return {label: set(rng.sample(range(8), rng.randint(0, 3))) for label in rng.sample(LABELS, rng.randint(0, 3))}


def instances(kind, n, seed):
    """(gold, pred) of n random instances of one metric's kind."""
    rng = random.Random(seed)
    if kind == "entity":
        return [spans(rng) for _ in range(n)], [spans(rng) for _ in range(n)]
    if kind == "token":
        return [tokens(rng) for _ in range(n)], [tokens(rng) for _ in range(n)]
    if kind == "relation":
        classes = ["CPR:3", "CPR:4", "false"]
        return [rng.choice(classes) for _ in range(n)], [rng.choice([*classes, None]) for _ in range(n)]
    if kind == "multilabel":
        sets = [{"a", "b", "c"}, {"a"}, set(), {"b", "c"}]
        return [rng.choice(sets) for _ in range(n)], [rng.choice(sets) for _ in range(n)]
    if kind == "accuracy":
        return [rng.choice("xyz") for _ in range(n)], [rng.choice(["x", "y", "z", None]) for _ in range(n)]
    gold = [rng.uniform(0, 4) for _ in range(n)]
    return gold, [g + rng.gauss(0, 1.5) for g in gold]


def metric_and_units(kind, gold, pred):
    """The metric's own headline score, and the bootstrap's units of the same instances."""
    ids = [f"r{i}" for i in range(len(gold))]
    if kind == "entity":
        return metrics.entity_f1(gold, pred)["f1"], bootstrap.f1_units(ids, metrics.entity_counts(gold, pred))
    if kind == "token":
        score = metrics.token_f1(gold, pred, LABELS)["macro_f1"]
        return score, bootstrap.macro_f1_units(ids, metrics.token_counts(gold, pred, LABELS))
    if kind == "relation":
        negative = ["false"] * len(gold)
        score = metrics.relation_f1(gold, pred, negative)["f1"]
        return score, bootstrap.f1_units(ids, metrics.relation_counts(gold, pred, negative))
    if kind == "multilabel":
        score = metrics.multilabel_f1(gold, pred)["micro"]["f1"]
        return score, bootstrap.f1_units(ids, metrics.multilabel_counts(gold, pred))
    if kind == "accuracy":
        return metrics.accuracy(gold, pred), bootstrap.accuracy_units(ids, metrics.accuracy_counts(gold, pred))
    return metrics.pearson(gold, pred), bootstrap.pearson_units(ids, gold, pred)


KINDS = ["entity", "token", "relation", "multilabel", "accuracy", "pearson"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_headline_score_is_the_formula_of_the_summed_counts(kind):
    for seed in range(5):
        score, units = metric_and_units(kind, *instances(kind, 40, seed))
        assert bootstrap.point_score(units) == pytest.approx(score, abs=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_a_resample_scores_like_the_metric_on_the_records_it_drew(kind):
    """A resample is the corpus metric recomputed on the drawn records (each as often as drawn):
    whole records, so an abstract (EBM PICO, HoC) is drawn with all its tokens or labels."""
    gold, pred = instances(kind, 30, seed=7)
    _, units = metric_and_units(kind, gold, pred)
    weights = resample_weights(len(gold), 4, seed=3, dataset="d")
    resampled = resampled_scores(units, weights)
    for row, expected_units in zip(weights, resampled):
        drawn = [i for i, w in enumerate(row) for _ in range(int(w))]
        score, _ = metric_and_units(kind, [gold[i] for i in drawn], [pred[i] for i in drawn])
        assert expected_units == pytest.approx(score, abs=1e-9)


def test_the_interval_of_a_proportion_matches_the_normal_approximation():
    n, p = 400, 0.7
    hits = [i < n * p for i in range(n)]
    units = bootstrap.accuracy_units([f"r{i}" for i in range(n)], hits)
    low, high = bootstrap.interval(resampled_scores(units, resample_weights(n, 4000, 0, "qa")))
    half = 1.96 * 100 * math.sqrt(p * (1 - p) / n)  # 4.49 points
    assert low == pytest.approx(70 - half, abs=0.6) and high == pytest.approx(70 + half, abs=0.6)


def test_paired_differences_of_the_same_records():
    n = 300
    ids = [f"r{i}" for i in range(n)]
    rng = np.random.default_rng(0)
    a = bootstrap.accuracy_units(ids, rng.random(n) < 0.6)
    same = bootstrap.dataset_resamples({"a": a, "b": a}, "qa", 1000, 0)[1][("a", "b")][0]
    assert (same == 0).all()  # identical systems: every resample differs by exactly 0
    other = bootstrap.accuracy_units(ids, rng.random(n) < 0.6)  # as good, wrong on other records
    low, high = bootstrap.interval(bootstrap.dataset_resamples({"a": a, "b": other}, "qa", 1000, 0)[1][("a", "b")][0])
    assert low < 0 < high
    better = bootstrap.accuracy_units(ids, np.asarray(a.stats[:, 0], bool) | (rng.random(n) < 0.5))
    low, _ = bootstrap.interval(bootstrap.dataset_resamples({"a": a, "b": better}, "qa", 1000, 0)[1][("a", "b")][0])
    assert low > 0  # right wherever a is, and on half the rest: clearly better


def test_records_meet_the_same_draws_whatever_their_order_and_differences_use_common_records():
    gold, pred = instances("entity", 50, seed=1)
    _, units = metric_and_units("entity", gold, pred)
    order = list(reversed(range(50)))
    shuffled = bootstrap.Units(tuple(units.ids[i] for i in order), units.stats[order], units.formula)
    report = bootstrap.report_intervals({"a": {"ner": units}, "b": {"ner": shuffled}}, {"BLURB": ["ner"]}, 200, 5)
    assert report["systems"]["a"] == report["systems"]["b"]
    assert [(r["dataset"], r["difference"], r["ci"], r["n"]) for r in report["differences"]] == [
        ("ner", 0.0, [0.0, 0.0], 50),
        ("BLURB", 0.0, [0.0, 0.0], 50),
    ]
    fewer = bootstrap.by_sorted_id(units, sorted(units.ids)[:20])
    report = bootstrap.report_intervals({"a": {"ner": units}, "b": {"ner": fewer}}, {}, 200, 5)
    (row,) = report["differences"]
    assert row["n"] == 20 and row["difference"] == 0.0  # the 20 records both answered


def test_draws_made_in_blocks_are_the_draws_made_at_once(monkeypatch):
    whole = resample_weights(50, 30, seed=2, dataset="ncbi_disease")
    monkeypatch.setattr(bootstrap, "CHUNK", 50 * 7)  # blocks of 7 resamples
    assert [len(d) for d in bootstrap.draw_chunks(50, 30, 2, "ncbi_disease")] == [7, 7, 7, 7, 2]
    assert np.array_equal(resample_weights(50, 30, seed=2, dataset="ncbi_disease"), whole)
    assert (whole.sum(axis=1) == 50).all()  # each resample draws n records


def units_of(kind, n, rng):
    ids = [f"r{i}" for i in rng.permutation(n)]
    if kind == "f1":
        return bootstrap.f1_units(ids, rng.integers(0, 4, (n, 3)))
    if kind == "macro_f1":
        return bootstrap.macro_f1_units(ids, rng.integers(0, 4, (n, 3, 3)))
    if kind == "accuracy":
        return bootstrap.accuracy_units(ids, rng.random(n) < 0.6)
    return bootstrap.pearson_units(ids, rng.random(n) * 5, rng.random(n) * 5)


@pytest.mark.parametrize("kind", ["f1", "macro_f1", "accuracy", "pearson"])
@pytest.mark.parametrize("n", [1, 9, 400])
def test_counting_draws_per_kind_of_record_gives_the_weighted_sums_exactly(kind, n, monkeypatch):
    """drawn_scores must be the weighted sums of the draw counts (the bootstrap's definition), to
    the last bit, in blocks or not, alone or paired."""
    rng = np.random.default_rng(n)
    a, b = units_of(kind, n, rng), units_of(kind, n, rng)
    b = bootstrap.Units(a.ids, b.stats, b.formula)
    monkeypatch.setattr(bootstrap, "CHUNK", 7 * n)  # several blocks
    weights = resample_weights(n, 30, seed=4, dataset="d")
    expected = [resampled_scores(units, weights) for units in (a, b)]
    for got, want in zip(bootstrap.drawn_scores([a, b], 30, 4, "d"), expected):
        assert np.array_equal(got, want)
    assert np.array_equal(bootstrap.drawn_scores([a], 30, 4, "d")[0], expected[0])
