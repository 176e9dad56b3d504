"""The unified format: verbatim instructions, answer shapes, shuffling, label expansion."""

import json
from pathlib import Path

import pytest

from mnlu.records import RecordError, check_record
from mnlu.tasks import make_record, ner_record, nli_record, qa_record, re_record, source_text, sts_record

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "unified_format.json").read_text())


def fixture(task):
    return next(f["fields"] for f in FIXTURES if f["task"] == task)


def user_and_answer(record):
    return record["messages"][0]["content"], record["messages"][1]["content"]


def test_fixture_offsets_point_at_their_spans():
    for f in FIXTURES:
        for span in f["fields"].get("spans", []):
            assert f["fields"]["text"][span["start"] : span["end"]] == span["text"]


@pytest.mark.parametrize("task", [f["task"] for f in FIXTURES])
def test_every_task_renders_a_valid_record(task):
    record = make_record(task, **fixture(task))
    assert check_record(record) is record
    assert record["task"] == task


def test_instructions_are_verbatim():
    """The paper's Table 1 strings, written out here independently of mnlu.tasks."""
    ner, _ = user_and_answer(make_record("ner", **fixture("ner"), shuffle=False))
    assert ner.startswith(
        "Extract all relevant medical named entities from the medical text below. "
        "Focus on identifying following entities: Chemical, Disease\nMedical text: Cisplatin"
    )
    eae, _ = user_and_answer(make_record("eae", **fixture("eae")))
    assert eae.startswith(
        "What is the Dosage attribute of the Drug 'Metoprolol' in the medical text below?\nMedical text: "
    )
    eac, _ = user_and_answer(make_record("eac", **fixture("eac")))
    assert eac.startswith(
        "What is the Status attribute of the Drug 'Metoprolol' in the medical text below?\nMedical text: "
    )
    dc, _ = user_and_answer(make_record("dc", **fixture("dc")))
    assert dc.startswith("Which options best describe the cancer hallmark from the medical text below?\nMedical text: ")
    re_, _ = user_and_answer(make_record("re", **fixture("re")))
    assert re_.startswith(
        "What is the relation between the Drug entity 'Ketoconazole' and the Drug entity "
        "'midazolam' from the medical text below?\nMedical text: "
    )
    qa, _ = user_and_answer(make_record("qa", **fixture("qa")))
    assert qa.startswith("Does early mobilisation shorten hospital stay after hip fracture surgery?\nMedical text: ")
    nli, _ = user_and_answer(make_record("nli", **fixture("nli")))
    assert nli.startswith(
        "What is the relation between the premise and hypothesis? Premise: The patient denies "
        "chest pain. Hypothesis: The patient has chest pain.\nOptions:\n(A) "
    )
    sts, _ = user_and_answer(make_record("sts", **fixture("sts")))
    assert sts.startswith(
        "How similar are the two sentences below? Sentence 1: The protein is overexpressed in "
        "breast tumours. Sentence 2: Breast cancers show high levels of the protein.\nOptions:\n(A) "
    )


def test_ner_answer_lines_follow_label_order_and_text_order():
    record = make_record("ner", **fixture("ner"), shuffle=False)
    user, answer = user_and_answer(record)
    assert answer == "Chemical: Cisplatin\nDisease: nephrotoxicity...ovarian cancer"
    record = ner_record(
        id="n",
        dataset="d",
        split="dev",
        text="aspirin and fever",
        labels=["Disease", "Gene"],
        spans=[{"label": "Disease", "text": "fever", "start": 12, "end": 17}],
        shuffle=False,
    )
    assert user_and_answer(record)[1] == "Disease: fever\nGene: None"


def test_spans_are_rendered_on_one_line():
    record = ner_record(
        id="n",
        dataset="d",
        split="dev",
        text="chest\n  pain",
        labels=["Symptom"],
        spans=[{"label": "Symptom", "text": "chest\n  pain", "start": 0, "end": 12}],
    )
    assert user_and_answer(record)[1] == "Symptom: chest pain"


def test_choice_answer_is_the_full_option_and_options_are_lettered():
    record = make_record("nli", **fixture("nli"), shuffle=False)
    user, answer = user_and_answer(record)
    assert user.endswith("\nOptions:\n(A) entails\n(B) neutral\n(C) contradicts")
    assert answer == "(C) contradicts"
    assert record["gold"]["letters"] == ["C"] and record["gold"]["answers"] == ["contradicts"]


def test_multi_label_answers_take_one_line_each_and_none_for_the_empty_set():
    fields = fixture("dc")
    record = make_record("dc", **fields, shuffle=False)
    assert user_and_answer(record)[1] == "(A) resisting cell death\n(B) inducing angiogenesis"
    empty = make_record("dc", **{**fields, "answers": []}, shuffle=False)
    assert user_and_answer(empty)[1] == "None"
    with pytest.raises(RecordError, match="exactly one answer, got 2"):
        make_record("dc", **{**fields, "multi_label": False})


def test_event_argument_classification_answer_names_trigger_and_attribute():
    record = make_record("eac", **fixture("eac"), shuffle=False)
    assert user_and_answer(record)[1] == "Drug - Status: (B) stop"
    assert user_and_answer(make_record("eae", **fixture("eae")))[1] == "Drug - Dosage: 25 mg"


def test_label_expansion_reaches_options_answers_and_gold():
    record = make_record("re", **fixture("re"), shuffle=False)
    user, answer = user_and_answer(record)
    assert "(A) mechanism: a pharmacokinetic interaction" in user and "DDI-" not in user
    assert answer == "(A) mechanism: a pharmacokinetic interaction"
    assert record["gold"]["negative"] == "none: no interaction"
    ner = ner_record(
        id="g",
        dataset="d",
        split="dev",
        text="BRCA1 regulates X",
        labels=["GENERIF"],
        spans=[{"label": "GENERIF", "text": "BRCA1", "start": 0, "end": 5}],
        expand={"GENERIF": "Gene reference into a function (function of a gene)"},
    )
    assert user_and_answer(ner)[1] == "Gene reference into a function (function of a gene): BRCA1"


def test_shuffling_is_deterministic_per_id_and_varies_across_ids():
    options = [f"option {i}" for i in range(8)]

    def order(instance_id):
        record = qa_record(
            id=instance_id, dataset="d", split="dev", question="q?", text="t", options=options, answer="option 3"
        )
        return record["gold"]["options"]

    assert order("a") == order("a")
    assert sorted(order("a")) == sorted(options)
    assert len({tuple(order(f"id-{i}")) for i in range(20)}) > 10
    labels = [f"Type{i}" for i in range(6)]
    orders = {
        tuple(ner_record(id=f"n{i}", dataset="d", split="dev", text="x", labels=labels, spans=[])["gold"]["labels"])
        for i in range(20)
    }
    assert len(orders) > 10


def test_sts_gold_is_the_nearest_criterion_and_keeps_the_real_score():
    record = make_record("sts", **fixture("sts"), shuffle=False)
    gold = record["gold"]
    assert gold["answers"] == [
        "The two sentences are roughly equivalent, but some important information differs or is missing (score 3)."
    ]
    assert gold["score"] == 3.4 and gold["option_scores"] == [0, 1, 2, 3, 4]
    tie = sts_record(
        id="t", dataset="d", split="dev", sentence_1="a", sentence_2="b", criteria=[(0, "low"), (1, "high")], score=0.5
    )
    assert tie["gold"]["answers"] == ["low"]


def test_source_text_is_found_again_in_every_task_with_a_text():
    for f in FIXTURES:
        record = make_record(f["task"], **f["fields"])
        assert source_text(record) == f["fields"].get("text")


@pytest.mark.parametrize(
    "bad_labels, message", [(["A", "a"], "label 'a' repeats"), (["A:B"], "':'"), (["A\nB"], "newline")]
)
def test_bad_labels_are_refused(bad_labels, message):
    with pytest.raises(RecordError, match=message):
        ner_record(id="x", dataset="d", split="dev", text="t", labels=bad_labels, spans=[])


def test_bad_options_are_refused():
    with pytest.raises(RecordError, match="distinct strings, got 2 of which 1 distinct"):
        re_record(
            id="x",
            dataset="d",
            split="dev",
            text="t",
            type_1="A",
            span_1="a",
            type_2="B",
            span_2="b",
            options=["x", "x"],
            answer="x",
        )
    with pytest.raises(RecordError, match=r"answers\[0\] is not one of the options"):
        qa_record(id="x", dataset="d", split="dev", question="q", text="t", options=["yes", "no"], answer="maybe")
    with pytest.raises(RecordError, match=r"answers\[1\] repeats an earlier answer"):
        make_record("dc", **{**fixture("dc"), "answers": ["resisting cell death"] * 2})


SENTENCE = "Mary Smith took quorvexan for her fever."  # an option of NLI or QA may be a sentence of the data


@pytest.mark.parametrize(
    "options, answer", [([SENTENCE, SENTENCE], SENTENCE), (["yes", "no"], SENTENCE), (["yes", "no"], "Mary Smith")]
)
def test_a_refusal_names_options_and_answers_by_index_never_by_text(options, answer):
    with pytest.raises(RecordError) as e:
        nli_record(
            id="mednli.dev.7",
            dataset="mednli",
            split="dev",
            premise=SENTENCE,
            hypothesis=SENTENCE,
            options=options,
            answer=answer,
        )
    assert str(e.value).startswith("mednli instance 'mednli.dev.7': ") and "Mary" not in str(e.value)


def test_a_refusal_shows_labels_and_ids_as_bounded_excerpts():
    label = "Disease: " + "Mary Smith " * 10
    with pytest.raises(RecordError) as e:
        ner_record(id="Mary Smith " * 10, dataset="d", split="dev", text=SENTENCE, labels=[label], spans=[])
    assert str(e.value) == (
        "d instance 'Mary Smith Mary Smith Mary Smith Mar...: "
        "label 'Disease: Mary Smith Mary Smith Mary ... is empty or holds a newline or ':'"
    )
    with pytest.raises(RecordError, match=r"spans\[0\] has the label 'Drug', which is not asked for"):
        ner_record(
            id="x",
            dataset="d",
            split="dev",
            text=SENTENCE,
            labels=["Disease"],
            spans=[{"label": "Drug", "text": "quorvexan"}],
        )
    with pytest.raises(RecordError, match=r"spans\[0\] is empty \(white space only\)$"):
        ner_record(
            id="x",
            dataset="d",
            split="dev",
            text=SENTENCE,
            labels=["Disease"],
            spans=[{"label": "Disease", "text": " ", "start": 3}],
        )
