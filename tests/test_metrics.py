"""Metrics against independent references: seqeval, scikit-learn, scipy, and hand-counted cases."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import pearsonr
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from sklearn.metrics import f1_score as sk_f1
from sklearn.preprocessing import MultiLabelBinarizer

from mnlu import metrics

LABELS = ["Chemical", "Disease", "Gene"]


# ---------------------------------------------------------------------------------------------
# entity F1 == seqeval on BIO tags of the same spans


@st.composite
def tagged_spans(draw, n_tokens):
    """Non-overlapping (start, end, label) token spans over `n_tokens` tokens."""
    spans, i = [], 0
    while i < n_tokens:
        if draw(st.booleans()):
            length = draw(st.integers(1, 3))
            if i + length <= n_tokens:
                spans.append((i, i + length, draw(st.sampled_from(LABELS))))
            i += length
        else:
            i += 1
    return spans


@st.composite
def corpus(draw):
    """Instances of distinct words `w<i>` (so a span's text fixes its place), gold and predicted spans."""
    instances = []
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(1, 12))
        instances.append((n, draw(tagged_spans(n)), draw(tagged_spans(n))))
    return instances


def bio(n, spans):
    tags = ["O"] * n
    for start, end, label in spans:
        tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
    return tags


def as_text(spans):
    return [(label, " ".join(f"w{i}" for i in range(start, end))) for start, end, label in spans]


@settings(max_examples=200, deadline=None)
@given(corpus())
def test_entity_f1_equals_seqeval(instances):
    gold = [as_text(g) for _, g, _ in instances]
    pred = [as_text(p) for _, _, p in instances]
    y_true = [bio(n, g) for n, g, _ in instances]
    y_pred = [bio(n, p) for n, _, p in instances]
    ours = metrics.entity_f1(gold, pred)
    for name, reference in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score)):
        expected = 100 * reference(y_true, y_pred, mode="strict", scheme=IOB2, zero_division=0)
        assert ours[name] == pytest.approx(expected), name


def test_entity_f1_is_a_multiset_match_by_label_with_whitespace_and_case_variants():
    gold = [[("Disease", "fever"), ("Disease", "fever"), ("Disease", "Chest  pain")]]
    pred = [[("Disease", "fever"), ("Disease", "chest pain"), ("Chemical", "fever")]]
    strict = metrics.entity_f1(gold, pred)
    # one fever found (the second is missed), "chest pain" differs in case, Chemical:fever is wrong
    assert (strict["tp"], strict["fp"], strict["fn"]) == (1, 2, 2)
    insensitive = metrics.entity_f1(gold, pred, casefold=True)
    assert (insensitive["tp"], insensitive["fp"], insensitive["fn"]) == (2, 1, 1)
    spaced = metrics.entity_f1([[("Disease", "chest pain")]], [[("Disease", " chest\n pain ")]])
    assert spaced["f1"] == 100.0


def test_relaxed_entity_f1_counts_overlaps_once_and_names_boundary_errors():
    # text: "severe chest pain and fever" ; gold: "chest pain" (7, 17), "fever" (22, 27)
    gold = [[("Disease", "chest pain", 7, 17), ("Disease", "fever", 22, 27)]]
    pred = [
        [
            ("Disease", "pain", 13, 17),  # overlaps chest pain: boundary error
            ("Disease", "severe chest", 0, 12),  # overlaps chest pain too, but it is taken
            ("Chemical", "fever", 22, 27),  # right place, wrong type
            ("Disease", "cough", None, None),
        ]
    ]  # not in the text
    strict = metrics.entity_f1([[g[:2] for g in gold[0]]], [[p[:2] for p in pred[0]]])
    relaxed = metrics.relaxed_entity_f1(gold, pred)
    assert (strict["tp"], strict["fp"], strict["fn"]) == (0, 4, 2)
    assert (relaxed["tp"], relaxed["fp"], relaxed["fn"], relaxed["boundary_errors"]) == (1, 3, 1, 1)
    assert relaxed["precision"] == 25.0 and relaxed["recall"] == 50.0


@settings(max_examples=100, deadline=None)
@given(corpus())
def test_relaxed_is_never_below_strict(instances):
    def located(spans):  # character offsets in the text "w0 w1 w2 ..." are not needed: token offsets do
        return [(label, " ".join(f"w{i}" for i in range(s, e)), s, e) for s, e, label in spans]

    gold = [located(g) for _, g, _ in instances]
    pred = [located(p) for _, _, p in instances]
    strict = metrics.entity_f1([[x[:2] for x in g] for g in gold], [[x[:2] for x in p] for p in pred])
    relaxed = metrics.relaxed_entity_f1(gold, pred)
    assert relaxed["tp"] >= strict["tp"]
    assert relaxed["tp"] - strict["tp"] == relaxed["boundary_errors"]


# ---------------------------------------------------------------------------------------------
# PICO tokens, relations, HoC: hand-computed cases


def test_token_f1_by_hand():
    labels = ["Participants", "Interventions", "Outcomes"]
    gold = [{"Participants": {0, 1, 2}, "Interventions": {4}}, {"Outcomes": {3, 4}}]
    pred = [{"Participants": {2}, "Interventions": {4, 5}, "Outcomes": {("not in text", 0)}}, {"Outcomes": {4}}]
    result = metrics.token_f1(gold, pred, labels)
    # P: tp1 fn2 -> P 100 R 33.3 F 50 ; I: tp1 fp1 -> 50/100 -> 66.7 ; O: tp1 fp1 fn1 -> 50
    assert result["per_label"]["Participants"]["f1"] == pytest.approx(50.0)
    assert result["per_label"]["Interventions"]["f1"] == pytest.approx(200 / 3)
    assert result["per_label"]["Outcomes"]["f1"] == pytest.approx(50.0)
    assert result["macro_f1"] == pytest.approx((50 + 200 / 3 + 50) / 3)
    # micro: tp 3, fp 2, fn 3 -> P 60, R 50
    assert result["micro"]["f1"] == pytest.approx(2 * 60 * 50 / 110)


def test_token_f1_macro_counts_an_element_never_found_as_zero():
    result = metrics.token_f1(
        [{"Participants": {0}, "Outcomes": {1}}], [{"Participants": {0}}], ["Participants", "Interventions", "Outcomes"]
    )
    assert result["macro_f1"] == pytest.approx(100 / 3)


def test_relation_f1_by_hand():
    neg = "none"
    gold = ["effect", "effect", "advise", "none", "none", "advise"]
    pred = ["effect", "advise", "none", "none", "int", None]
    result = metrics.relation_f1(gold, pred, [neg] * len(gold))
    # effect: tp1 fn1 ; advise: fp1 fn2 ; int (never gold): fp1 -> tp1 fp2 fn3
    assert (result["tp"], result["fp"], result["fn"]) == (1, 2, 3)
    assert result["precision"] == pytest.approx(100 / 3) and result["recall"] == pytest.approx(25.0)
    assert set(result["per_class"]) == {"effect", "advise", "int"}
    assert result["per_class"]["advise"]["fp"] == 1 and result["per_class"]["advise"]["fn"] == 2


def test_relation_f1_without_a_negative_is_micro_over_every_class():
    result = metrics.relation_f1(["yes", "no", "no"], ["yes", "yes", "no"], [None] * 3)
    assert (result["tp"], result["fp"], result["fn"]) == (2, 1, 1)


def test_multilabel_f1_against_scikit_learn_and_by_hand():
    gold = [{"a", "b"}, {"c"}, set(), {"a"}]
    pred = [{"a"}, {"c", "b"}, set(), set()]
    result = metrics.multilabel_f1(gold, pred)
    binarizer = MultiLabelBinarizer(classes=["a", "b", "c"])
    y_true, y_pred = binarizer.fit_transform(gold), binarizer.transform(pred)
    assert result["micro"]["f1"] == pytest.approx(100 * sk_f1(y_true, y_pred, average="micro"))
    assert result["macro_f1"] == pytest.approx(100 * sk_f1(y_true, y_pred, average="macro", zero_division=0))
    # per document P: 1, 1/2, 1 (both empty), 0 -> 0.625 ; R: 1/2, 1, 1, 0 -> 0.625
    assert result["example_based_f1"] == pytest.approx(62.5)


def test_accuracy_and_pearson_edge_cases():
    assert metrics.accuracy([("x",), ("y",), ("z",)], [("x",), None, ("x",)]) == pytest.approx(100 / 3)
    assert metrics.pearson([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match="3 gold scores but 2"):
        metrics.pearson([1, 2, 3], [1, 2])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=3, max_size=30))
def test_pearson_equals_scipy(pairs):
    x, y = zip(*pairs)
    if len(set(x)) < 2 or len(set(y)) < 2:
        return
    assert metrics.pearson(x, y) == pytest.approx(100 * pearsonr(x, y)[0], abs=1e-6)


# ---------------------------------------------------------------------------------------------
# properties: perfect prediction gives 100, empty prediction 0 recall, order does not matter


def random_cases(seed):
    rng = random.Random(seed)
    spans = [[(rng.choice(LABELS), f"s{rng.randrange(5)}") for _ in range(rng.randrange(1, 4))] for _ in range(8)]
    tokens = [{rng.choice(LABELS): {rng.randrange(9) for _ in range(3)}} for _ in range(8)]
    classes = [rng.choice(["x", "y", "none"]) for _ in range(8)] + ["x"]
    sets = [set(rng.sample(LABELS, rng.randrange(1, 3))) for _ in range(8)]
    scores = [rng.uniform(0, 4) for _ in range(8)]
    answers = [(rng.choice("ABC"),) for _ in range(8)]
    return {  # metric name -> (score function of (gold, pred), gold, empty prediction)
        "entity": (lambda g, p: metrics.entity_f1(g, p), spans, [[] for _ in spans]),
        "token": (lambda g, p: metrics.token_f1(g, p, LABELS)["micro"], tokens, [{} for _ in tokens]),
        "relation": (lambda g, p: metrics.relation_f1(g, p, ["none"] * len(g)), classes, [None] * len(classes)),
        "multilabel": (lambda g, p: metrics.multilabel_f1(g, p)["micro"], sets, [set() for _ in sets]),
        "accuracy": (metrics.accuracy, answers, [None] * len(answers)),
        "pearson": (metrics.pearson, scores, None),
    }


@pytest.mark.parametrize("name", ["entity", "token", "relation", "multilabel", "accuracy", "pearson"])
@pytest.mark.parametrize("seed", range(5))
def test_perfect_empty_and_permuted_predictions(name, seed):
    score, gold, empty = random_cases(seed)[name]
    perfect = score(gold, gold)
    if name in ("accuracy", "pearson"):
        assert perfect == pytest.approx(100.0)
        assert empty is None or score(gold, empty) == 0.0
    else:
        assert perfect["f1"] == pytest.approx(100.0)
        assert score(gold, empty)["recall"] == 0.0
    pred = list(reversed(gold))  # some imperfect prediction
    order = list(range(len(gold)))
    random.Random(seed).shuffle(order)
    permuted = score([gold[i] for i in order], [pred[i] for i in order])
    assert permuted == score(gold, pred) or permuted == pytest.approx(score(gold, pred))


# ---------------------------------------------------------------------------------------------
# the released scorer's quirks, each probed as the reference notes describe it


def test_released_reads_the_first_option_in_option_order_and_defaults_to_a():
    options = ["yes", "no"]
    assert metrics.released_read_option(options, "(B) no, not (A)") == "yes"
    assert metrics.released_read_option(options, "I cannot tell") == "yes"
    assert metrics.released_read_option(options, "(B) no") == "no"


def test_released_span_lines_align_by_position_and_match_case_insensitively():
    reference = "Chemical: aspirin\nDisease: fever...cough"
    swapped = "Disease: fever...cough\nChemical: aspirin"
    counts = metrics.released_span_counts([reference], [swapped])
    assert counts["Chemical"] == [1, 2, 0] and counts["Disease"] == [2, 1, 0]
    by_label = metrics.released_span_counts([reference], ["Disease: Fever"])
    assert by_label == {"Chemical": [1, 0, 0], "Disease": [2, 1, 1]}


def test_released_pico_tokens_are_case_sensitive():
    counts = metrics.released_span_counts(
        ["Participants: Adult patients"], ["Participants: adult patients"], tokens=True
    )
    assert counts["Participants"] == [2, 2, 1]


def test_released_overall_drops_labels_absent_from_gold_and_negatives():
    counts = {"effect": [2, 1, 1], "advise": [0, 1, 0], "none": [3, 3, 3], "no": [1, 1, 1]}
    overall = metrics.released_overall(counts)  # "no" is dropped by the string rules, "none" too
    assert (overall["precision"], overall["recall"]) == (100.0, 50.0)
    assert metrics.released_overall({"x": [1, 1, 1], "DDI-false": [1, 1, 1]}, negatives={"DDI-false"})["tp"] == 1


def test_released_accuracy_needs_the_full_answer_line():
    references = ["(B) contradiction", "(B) contradiction"]
    assert metrics.released_accuracy(references, ["(B)", "So: (B) Contradiction."]) == 50.0


def test_released_multilabel_counts_letter_membership():
    counts = metrics.released_multilabel_counts([["a", "b", "c"]], ["(A) a\n(C) c"], ["(A) a (B)"])
    assert counts == {"a": [1, 1, 1], "b": [0, 1, 0], "c": [1, 0, 0]}
