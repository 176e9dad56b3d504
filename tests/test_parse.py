"""Parsing model outputs: render(gold) -> parse gives gold back; tolerant but never guessing."""

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mnlu.parse import _segment_from_text, locate_spans, parse_answer, parse_choice, parse_spans
from mnlu.records import TASKS
from mnlu.tasks import dc_record, make_record, ner_record, normalize_space

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "unified_format.json").read_text())

# labels: words with unicode, never ':' or a newline (the format reserves them)
label_text = (
    st.text(alphabet="abcXYZ éü中-", min_size=1, max_size=12)
    .map(normalize_space)
    .filter(lambda s: s and not s.startswith(("-", "*")))
)
# spans: may hold '...', ':' and unicode inside
span_text = (
    st.text(alphabet="ab.: éü中", min_size=1, max_size=10)
    .map(normalize_space)
    .filter(lambda s: s and s.rstrip(".").casefold() != "none")
)


def gold_by_label(record):
    return {
        label: [normalize_space(s["text"]) for s in record["gold"]["spans"] if s["label"] == label]
        for label in record["gold"]["labels"]
    }


def build_ner(draw, labels, span_strategy):
    """A text made of the drawn spans with ' | ' between them, offsets included."""
    spans, text = [], ""
    for label in labels:
        for span in draw(st.lists(span_strategy, max_size=3)):
            text += " | " if text else ""
            spans.append({"label": label, "text": span, "start": len(text), "end": len(text) + len(span)})
            text += span
    return ner_record(
        id=draw(st.text(min_size=1, max_size=8)),
        dataset="d",
        split="dev",
        text=text,
        labels=labels,
        spans=spans,
        shuffle=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_span_answers_round_trip(data):
    labels = data.draw(st.lists(label_text, min_size=1, max_size=5, unique_by=str.casefold))
    # without the text, '...' between spans is only unambiguous if no span starts or ends with '.'
    plain_span = span_text.filter(lambda s: "..." not in s and not s.startswith(".") and not s.endswith("."))
    record = build_ner(data.draw, labels, plain_span)
    parsed = parse_spans(record["messages"][1]["content"], labels)  # no text needed without '...'
    assert not parsed["unparseable"]
    assert parsed["spans"] == gold_by_label(record)


def readings(line, text):
    """Every way to cut `line` at '...' separators into pieces that all occur in `text` (an oracle)."""
    positions = [i for i in range(len(line)) if line.startswith("...", i)]
    found = set()
    for k in range(len(positions) + 1):
        for cuts in itertools.combinations(positions, k):
            if any(b < a + 3 for a, b in itertools.pairwise(cuts)):
                continue
            bounds = [0, *itertools.chain.from_iterable((c, c + 3) for c in cuts), len(line)]
            pieces = tuple(line[a:b].strip() for a, b in zip(bounds[::2], bounds[1::2]))
            if all(p and p in text for p in pieces):
                found.add(pieces)
    return found


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_spans_holding_ellipses_are_recovered_from_the_text_when_unambiguous(data):
    labels = data.draw(st.lists(label_text, min_size=1, max_size=3, unique_by=str.casefold))
    record = build_ner(data.draw, labels, span_text)
    text = normalize_space(record["messages"][0]["content"].split("\nMedical text: ", 1)[1])
    for spans in gold_by_label(record).values():
        line = "...".join(spans)
        assume(line.count("...") <= 10)
        assume(not spans or readings(line, text) == {tuple(spans)})
    parsed = parse_answer(record, record["messages"][1]["content"])
    assert parsed["spans"] == gold_by_label(record)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab. ", max_size=16), st.text(alphabet="ab. ", max_size=16))
@example("a....b", "a. .b")  # overlapping separators: ("a.", "b") and ("a", ".b") both occur
def test_a_line_is_cut_into_the_reading_with_the_longest_pieces_first(line, text):
    # with and without '...' in the text or '....' in the line: the shortcut for neither included
    found = readings(line, text)
    expected = max(found, key=lambda pieces: [len(p) for p in pieces]) if found else None
    assert _segment_from_text(line, text) == (None if expected is None else list(expected))


def test_a_span_with_a_trailing_period_before_the_separator():
    text = "Acme Inc. makes aspirin"
    parsed = parse_spans("Org: Acme Inc....aspirin", ["Org"], text)
    assert parsed["spans"]["Org"] == ["Acme Inc.", "aspirin"]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_choice_answers_round_trip(data):
    options = data.draw(
        st.lists(
            st.text(alphabet="ab cé中()", min_size=1, max_size=8).map(normalize_space).filter(bool),
            min_size=2,
            max_size=12,
            unique_by=str.casefold,
        )
    )
    multi = data.draw(st.booleans())
    answers = data.draw(
        st.lists(
            st.sampled_from(options), unique=True, min_size=0 if multi else 1, max_size=len(options) if multi else 1
        )
    )
    record = dc_record(
        id=data.draw(st.text(max_size=5)),
        dataset="d",
        split="dev",
        text="t",
        what="w",
        options=options,
        answers=answers,
        multi_label=multi,
    )
    parsed = parse_answer(record, record["messages"][1]["content"])
    assert not parsed["unparseable"]
    assert parsed["letters"] == record["gold"]["letters"]
    assert parsed["answers"] == record["gold"]["answers"]


@pytest.mark.parametrize("f", FIXTURES, ids=lambda f: f["task"])
def test_every_fixture_round_trips(f):
    record = make_record(f["task"], **f["fields"])
    parsed = parse_answer(record, record["messages"][1]["content"])
    assert not parsed["unparseable"]
    gold = record["gold"]
    if "labels" in gold:
        assert parsed["spans"] == gold_by_label(record)
    elif "options" in gold:
        assert parsed["answers"] == gold["answers"]
        if f["task"] == "sts":
            assert parsed["score"] == 3
    else:
        assert parsed["summary"] == gold["summary"]


NLI = make_record("nli", **next(f["fields"] for f in FIXTURES if f["task"] == "nli"), shuffle=False)


@pytest.mark.parametrize(
    "output, letter",
    [
        ("(C) contradicts", "C"),
        ("(C)", "C"),  # a bare letter in parentheses
        ("  (c) contradicts.  ", "C"),  # case, spacing, trailing period
        ("C", "C"),
        ("C. contradicts", "C"),
        ("Contradicts.", "C"),  # the option's text without its letter
        ("The answer is (C) contradicts", "C"),
        ("(B) neutral\nBecause (A) would need the patient to ...", "B"),
    ],
)
def test_harmless_variation_in_choice_answers_is_tolerated(output, letter):
    parsed = parse_answer(NLI, output)
    assert parsed["letters"] == [letter] and not parsed["unparseable"]


@pytest.mark.parametrize(
    "output",
    [
        "",
        "I am not sure.",
        "A patient with chest pain",
        "(D) something",
        "(A) entails\n(B) neutral",
        "either (A) or (B)",
    ],
)
def test_answers_naming_no_option_or_two_options_are_unparseable(output):
    """Never a silent default to (A), as the released scorer did."""
    parsed = parse_answer(NLI, output)
    assert parsed == {"letters": [], "answers": [], "unparseable": True}


def test_a_choice_answer_read_before_is_read_again_against_its_own_options():
    for _ in range(2):  # the second round reads every answer from the cache
        assert parse_choice("(B)", ["yes", "no"])["answers"] == ["no"]
        assert parse_choice("(B)", ["no", "yes"])["answers"] == ["yes"]
        assert parse_choice("None", ["a", "b"], multi_label=True) == {
            "letters": [],
            "answers": [],
            "unparseable": False,
        }
        assert parse_choice("None", ["a", "b"])["unparseable"]
        assert parse_choice("T - A: beta", ["alpha", "beta"], label="T - A")["letters"] == ["B"]
        assert parse_choice("T - A: beta", ["alpha", "beta"], label="U - B")["unparseable"]
        parsed = parse_choice("(B)\n(A)", ["x", "y"], multi_label=True)
        assert parsed == {"letters": ["A", "B"], "answers": ["x", "y"], "unparseable": False}
        parsed["letters"].append("C")  # a caller's change stays its own


def test_span_answers_tolerate_case_spacing_bullets_and_sep():
    labels = ["Disease", "Chemical"]
    parsed = parse_spans("- disease :  fever [SEP] cough \n**CHEMICAL**: None.\n", labels)
    assert parsed == {"spans": {"Disease": ["fever", "cough"], "Chemical": []}, "unparseable": False}


def test_span_lines_are_matched_by_label_not_position_and_keep_multiplicity():
    parsed = parse_spans("Chemical: aspirin\nGene: TP53\nDisease: fever...fever", ["Disease", "Chemical"])
    assert parsed["spans"] == {"Disease": ["fever", "fever"], "Chemical": ["aspirin"], "Gene": ["TP53"]}


def test_a_label_line_repeated_by_a_looping_model_adds_no_span():
    looped = "Disease: cancer\nDisease: cancer\nDisease: cancer"  # until the token limit
    assert parse_spans(looped, ["Disease"])["spans"] == {"Disease": ["cancer"]}
    # a span counts as often as the line listing it most often, in the order first listed
    lines = "Disease: cancer...tumor\nDisease: cancer...cancer\nDisease: tumor"
    assert parse_spans(lines, ["Disease"])["spans"] == {"Disease": ["cancer", "tumor", "cancer"]}


def test_span_answers_without_any_expected_label_are_unparseable():
    assert parse_spans("There are no entities here.", ["Disease"]) == {"spans": {"Disease": []}, "unparseable": True}
    assert parse_spans("Gene: TP53", ["Disease"])["unparseable"]


def test_event_argument_answers_with_or_without_their_prefix():
    record = make_record("eac", **next(f["fields"] for f in FIXTURES if f["task"] == "eac"), shuffle=False)
    for output in ("Drug - Status: (B) stop", "drug-status: (B)", "(B) stop", "stop"):
        assert parse_answer(record, output)["answers"] == ["stop"], output


def test_multi_label_none_is_the_empty_set_but_single_label_none_is_unparseable():
    assert parse_choice("None", ["x", "y"], multi_label=True) == {"letters": [], "answers": [], "unparseable": False}
    assert parse_choice("None", ["x", "y"], multi_label=False)["unparseable"]


def test_sts_parse_gives_the_score_of_the_chosen_option():
    record = make_record("sts", **next(f["fields"] for f in FIXTURES if f["task"] == "sts"), shuffle=False)
    assert parse_answer(record, "(E)")["score"] == 4
    assert parse_answer(record, "similar")["score"] is None


RECORDS = [make_record(f["task"], **f["fields"]) for f in FIXTURES]


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(RECORDS),
    st.text(max_size=300)
    | st.sampled_from(
        ["...", "Disease:", ":::", "(A)(B)", "[SEP]" * 30, "." * 400, "None", "\n\n", "(Z)", "Drug - Dosage:..."]
    ),
)
def test_parse_never_raises_on_arbitrary_text(record, output):
    parsed = parse_answer(record, output)
    assert isinstance(parsed["unparseable"], bool)
    assert record["task"] in TASKS


def test_parse_survives_non_string_predictions():
    assert parse_answer(NLI, None)["unparseable"]
    long_line = "Disease: " + "a..." * 5000
    assert parse_spans(long_line, ["Disease"], "a")["spans"]["Disease"][:2] == ["a", "a"]


def test_offsets_of_repeated_and_overlapping_spans():
    text = "Fever, chest\npain and fever again; pain."
    spans = ["fever", "Fever", "chest pain", "pain", "pain", "cough"]
    assert locate_spans(text, spans) == [(22, 27), (0, 5), (7, 17), (13, 17), (35, 39), None]
    # one more mention than the text holds: the last one falls back to the first occurrence
    assert locate_spans("fever", ["fever", "fever"]) == [(0, 5), (0, 5)]
