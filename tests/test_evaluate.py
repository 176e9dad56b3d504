"""evaluate.py end to end: prediction folders -> per-dataset scores -> BLURB/BLUE -> report files."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import pearsonr

from mnlu import metrics
from mnlu.parse import locate_spans, parse_answer
from mnlu.records import RecordError
from mnlu.report import benchmark_averages, read_paper_table, write_report
from mnlu.scoring import prediction_files, score_dataset, score_file
from mnlu.tasks import ner_record, nli_record, qa_record, re_record, sts_record, summ_record

ROOT = Path(__file__).resolve().parent.parent
CRITERIA = [(v, f"score {v}") for v in range(5)]


def with_prediction(record, prediction):
    return {**record, "prediction": prediction, "model": "test"}


def write_predictions(folder, dataset, records):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{dataset}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def qa(dataset, i, answer="yes"):
    return qa_record(
        id=f"{dataset}-{i}",
        dataset=dataset,
        split="test",
        question="Does it work?",
        text=f"Study {i}.",
        options=["yes", "no", "maybe"],
        answer=answer,
        shuffle=False,
    )


def qa_predictions(dataset, n, n_right):
    """n yes-questions, the first n_right answered `(A)`, the rest `(B) no`."""
    return [with_prediction(qa(dataset, i), "(A)" if i < n_right else "(B) no") for i in range(n)]


def ner(dataset, i, text, spans, labels=("Chemical",)):
    return ner_record(
        id=f"{dataset}-{i}", dataset=dataset, split="test", text=text, labels=list(labels), spans=spans, shuffle=False
    )


def nli(i, answer):
    return nli_record(
        id=f"mednli-{i}",
        dataset="mednli",
        split="test",
        premise="The patient denies pain.",
        hypothesis=f"Claim {i}.",
        options=["entailment", "neutral", "contradiction"],
        answer=answer,
        shuffle=False,
    )


# ---------------------------------------------------------------------------------------------
# per-dataset scoring on the parsed answers


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab \n\t\u00a0.", max_size=30), st.lists(st.text(alphabet="ab \n.", max_size=6), max_size=6))
def test_locate_spans_agrees_with_a_regex_search(text, spans):
    """The reference: each span's words joined by \\s+, searched from after its last match."""
    spans += [text[i:j] for i, j in zip(range(0, len(text), 7), range(3, len(text), 5))]  # some that occur
    expected, next_start = [], {}
    for span in spans:
        if not span.split():
            expected.append(None)
            continue
        pattern = re.compile(r"\s+".join(map(re.escape, span.split())))
        match = pattern.search(text, next_start.get(span, 0)) or pattern.search(text)
        if match:
            next_start[span] = match.start() + 1
        expected.append(match and match.span())
    assert locate_spans(text, spans) == expected


def test_ner_matches_by_label_not_line_order_and_reports_relaxed_scores():
    text = "Aspirin and ibuprofen relieve chest pain."
    record = ner(
        "bc5cdr_disease",
        0,
        text,
        [
            {"label": "Disease", "text": "chest pain", "start": 30, "end": 40},
            {"label": "Chemical", "text": "Aspirin", "start": 0, "end": 7},
        ],
        labels=("Chemical", "Disease"),
    )
    perfect = score_dataset("bc5cdr_disease", [with_prediction(record, "Disease: chest pain\nChemical: Aspirin")])
    assert perfect["score"] == 100.0 and perfect["unparseable"] == 0
    boundary = score_dataset(
        "bc5cdr_disease", [with_prediction(record, "Chemical: aspirin...ibuprofen\nDisease: pain")]
    )
    # aspirin: case differs; ibuprofen: wrong; pain: boundary error of chest pain
    assert (boundary["tp"], boundary["fp"], boundary["fn"]) == (0, 3, 2)
    assert boundary["f1_case_insensitive"] == pytest.approx(2 * (100 / 3) * 50 / (100 / 3 + 50))
    assert boundary["relaxed"]["tp"] == 1 and boundary["relaxed"]["boundary_errors"] == 1


ENTITY_TEXT = "Severe chest pain and fever, then fever  with cough."
MENTIONS = ["chest pain", "Chest pain", "pain", "Severe chest", "fever", "Fever", "cough", "wheeze", "fever  with"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.tuples(st.sampled_from(["Disease", "Symptom"]), st.sampled_from(MENTIONS)), max_size=4),
            st.lists(st.tuples(st.sampled_from(["Disease", "Symptom"]), st.sampled_from(MENTIONS)), max_size=4),
            st.booleans(),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_entity_scores_equal_the_metrics_on_every_span_located(instances):
    """Strict, case-insensitive and relaxed scores of score_dataset against the metrics' definitions
    on all spans, each located (gold spans at their own offsets where they have them)."""
    records, gold, pred, gold_located, pred_located = [], [], [], [], []
    for i, (gold_spans, pred_spans, with_offsets) in enumerate(instances):
        spans = [{"label": label, "text": t} for label, t in gold_spans]
        if with_offsets:  # the last occurrence: not always where a search finds it first
            spans = [
                {**s, "start": ENTITY_TEXT.rfind(s["text"]), "end": ENTITY_TEXT.rfind(s["text"]) + len(s["text"])}
                for s in spans
                if s["text"] in ENTITY_TEXT
            ]
        record = ner("ncbi_disease", i, ENTITY_TEXT, spans, labels=("Disease", "Symptom"))
        answer = "\n".join(
            f"{label}: {'...'.join(t for x, t in pred_spans if x == label) or 'None'}"
            for label in ("Disease", "Symptom")
        )
        records.append(with_prediction(record, answer))
        parsed = parse_answer(record, answer)["spans"]
        gold.append([(s["label"], s["text"]) for s in record["gold"]["spans"]])
        pred.append([(label, t) for label, texts in parsed.items() for t in texts])
        gold_located.append(
            [
                (
                    s["label"],
                    s["text"],
                    *(
                        (s["start"], s["end"])
                        if "start" in s
                        else locate_spans(ENTITY_TEXT, [s["text"]])[0] or (None, None)
                    ),
                )
                for s in record["gold"]["spans"]
            ]
        )
        pred_located.append(
            [
                (label, t, *(where or (None, None)))
                for label, texts in parsed.items()
                for t, where in zip(texts, locate_spans(ENTITY_TEXT, texts))
            ]
        )
    scores = score_dataset("ncbi_disease", records)
    assert {k: scores[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn")} == metrics.entity_f1(gold, pred)
    assert scores["f1_case_insensitive"] == metrics.entity_f1(gold, pred, casefold=True)["f1"]
    assert scores["relaxed"] == metrics.relaxed_entity_f1(gold_located, pred_located)


def test_pico_token_f1_by_hand():
    text = "Adults with asthma received budesonide daily."
    labels = ("Participants", "Interventions", "Outcomes")
    record = ner(
        "ebm_pico",
        0,
        text,
        [
            {"label": "Participants", "text": "Adults with asthma", "start": 0, "end": 18},
            {"label": "Interventions", "text": "budesonide", "start": 28, "end": 38},
        ],
        labels=labels,
    )
    prediction = "Participants: asthma\nInterventions: budesonide daily\nOutcomes: wheeze"
    s = score_dataset("ebm_pico", [with_prediction(record, prediction)])
    # P: tp1 fn2 -> F1 50 ; I: tp1 fp1 ("daily.") -> F1 66.7 ; O: "wheeze" not in the text -> fp1, F1 0
    assert s["per_element"]["Participants"]["f1"] == pytest.approx(50.0)
    assert s["per_element"]["Interventions"]["f1"] == pytest.approx(200 / 3)
    assert s["per_element"]["Outcomes"]["fp"] == 1
    assert s["score"] == pytest.approx((50 + 200 / 3 + 0) / 3)
    assert s["micro_f1"] == pytest.approx(50.0)  # tp 2, fp 2, fn 2


def test_choice_answers_bare_letter_full_option_and_unparseable():
    records = [
        with_prediction(nli(0, "contradiction"), "(C)"),
        with_prediction(nli(1, "contradiction"), "(C) contradiction"),
        with_prediction(nli(2, "entailment"), "I am not sure."),
    ]
    s = score_dataset("mednli", records)
    assert s["score"] == pytest.approx(200 / 3) and s["unparseable"] == 1
    released = score_dataset("mednli", records, compat="released")
    assert released["score"] == pytest.approx(100 / 3)  # the released scorer needs the full "(C) contradiction"


DDI_OPTIONS = ["mechanism", "effect", "no interaction"]


def ddi(i, answer, prediction, version=None):
    """A DDI pair (options in the order above) with its prediction; `version` names its release."""
    record = re_record(
        id=f"ddi-{i}",
        dataset="ddi",
        split="test",
        text="A raises B.",
        type_1="Drug",
        span_1="A",
        type_2="Drug",
        span_2="B",
        options=DDI_OPTIONS,
        answer=answer,
        negative="no interaction",
        shuffle=False,
    )
    return with_prediction(record | ({"version": version} if version else {}), prediction)


def test_relations_positive_micro_f1_and_released_variant():
    records = [
        ddi(0, "mechanism", "(A) mechanism"),
        ddi(1, "effect", "(A) mechanism"),
        ddi(2, "no interaction", "(B) effect"),
        ddi(3, "no interaction", "(C)"),
        ddi(4, "effect", "?"),
    ]
    s = score_dataset("ddi", records)
    assert (s["tp"], s["fp"], s["fn"]) == (1, 2, 2)
    assert s["per_class"]["effect"]["fp"] == 1 and s["per_class"]["effect"]["fn"] == 2
    # released: "?" reads as (A) mechanism; the negative class is left out of the overall
    released = score_dataset("ddi", records, compat="released")
    assert (released["tp"], released["fp"], released["fn"]) == (1, 3, 2)


def test_biosses_unparseable_is_scored_as_the_mean_prediction():
    def sts(i, gold, prediction):
        record = sts_record(
            id=f"biosses-{i}",
            dataset="biosses",
            split="test",
            sentence_1="One.",
            sentence_2="Two.",
            criteria=CRITERIA,
            score=gold,
            shuffle=False,
        )
        return with_prediction(record, prediction)

    records = [sts(0, 0.4, "(A) score 0"), sts(1, 2.2, "no idea"), sts(2, 3.6, "(E)"), sts(3, 1.0, "(C)")]
    s = score_dataset("biosses", records)
    filled = (0 + 4 + 2) / 3
    assert s["score"] == pytest.approx(100 * pearsonr([0.4, 2.2, 3.6, 1.0], [0, filled, 4, 2])[0])
    assert s["unparseable"] == 1
    assert s["confusion"] == {"0": {"0": 1}, "2": {"unparseable": 1}, "4": {"4": 1}, "1": {"2": 1}}


# ---------------------------------------------------------------------------------------------
# reading prediction files


def test_malformed_prediction_lines_name_file_and_line(tmp_path):
    good = json.dumps(qa_predictions("pubmedqa", 1, 1)[0])
    path = tmp_path / "pubmedqa.jsonl"
    path.write_text(good + "\n\n{not json\n")
    with pytest.raises(RecordError, match=rf"^{path}:3: not valid JSON"):
        score_file(path)
    no_prediction = json.loads(good)
    del no_prediction["prediction"]
    path.write_text(good + "\n" + json.dumps(no_prediction) + "\n")
    with pytest.raises(RecordError, match=rf"^{path}:2: 'prediction' must be a string"):
        score_file(path)
    path.write_text(good + "\n" + good + "\n")
    with pytest.raises(RecordError, match=rf"^{path}:2: id 'pubmedqa-0' repeats line 1"):
        score_file(path)
    summary = {
        **summ_record(id="s", dataset="pubmedqa", split="test", text="A text.", summary="Short."),
        "prediction": "Short.",
    }
    path.write_text(json.dumps(summary) + "\n")
    with pytest.raises(RecordError, match=rf"^{path}:1: summarization is a training task"):
        score_file(path)
    (tmp_path / "bioasq.jsonl").write_text(good + "\n")
    with pytest.raises(RecordError, match=r"bioasq.jsonl:1: record of dataset 'pubmedqa'"):
        score_file(tmp_path / "bioasq.jsonl")


def test_cli_error_is_one_line_without_traceback(tmp_path):
    (tmp_path / "sys").mkdir()
    (tmp_path / "sys" / "gad.jsonl").write_text('{"id": "x"}\n')
    run = subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), str(tmp_path / "sys"), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        == f"evaluate.py: error: {tmp_path / 'sys' / 'gad.jsonl'}:1: 'dataset' must be a non-empty string"
    )


# ---------------------------------------------------------------------------------------------
# the report: two systems, averages by hand, missing datasets


def make_two_systems(root):
    alpha, beta = root / "alpha", root / "beta"
    write_predictions(alpha, "pubmedqa", qa_predictions("pubmedqa", 4, 3))  # 75, BLURB (QA)
    write_predictions(
        alpha, "mednli", [with_prediction(nli(0, "neutral"), "(B)"), with_prediction(nli(1, "neutral"), "(A)")]
    )  # 50, BLUE
    chem = ner("bc5cdr_chem", 0, "Aspirin helps.", [{"label": "Chemical", "text": "Aspirin", "start": 0, "end": 7}])
    write_predictions(alpha, "bc5cdr_chem", [with_prediction(chem, "Chemical: Aspirin")])  # 100, both (NER)
    gene = ner(
        "bc2gm", 0, "BRCA1 mutations.", [{"label": "Gene", "text": "BRCA1", "start": 0, "end": 5}], labels=("Gene",)
    )
    write_predictions(alpha, "bc2gm", [with_prediction(gene, "Gene: None")])  # 0, BLURB (NER)
    write_predictions(beta, "pubmedqa", qa_predictions("pubmedqa", 4, 2))  # 50
    write_predictions(beta, "mednli", [])  # no instances: missing
    write_predictions(beta, "demo_extra", qa_predictions("demo_extra", 2, 1))  # outside both benchmarks
    return alpha, beta


def scored(folder):
    """{dataset: scores} of one prediction folder, as evaluate.py scores it: a file without records is missing."""
    return {path.stem: s for path in prediction_files(folder) if (s := score_file(path))}


def test_report_of_two_systems_averages_by_hand(tmp_path):
    alpha, beta = make_two_systems(tmp_path)
    systems = {folder.name: scored(folder) for folder in (alpha, beta)}
    assert "mednli" not in systems["beta"]
    document = write_report(tmp_path / "report", systems)
    a, b = document["systems"]["alpha"], document["systems"]["beta"]
    assert a["BLURB"] == pytest.approx((75 + 100 + 0) / 3)
    assert a["BLUE"] == pytest.approx((50 + 100) / 2)
    assert a["BLURB_task_macro"] == pytest.approx((75 + (100 + 0) / 2) / 2)  # QA, then NER = mean(chem, bc2gm)
    assert a["BLURB_present"] == ["bc2gm", "bc5cdr_chem", "pubmedqa"]
    assert b["BLURB"] == 50.0 and b["BLUE"] is None and b["BLURB_task_macro"] == 50.0
    assert b["demo_extra"]["score"] == 50.0 and "demo_extra" not in b["BLURB_present"]

    on_disk = json.loads((tmp_path / "report" / "scores.json").read_text())
    assert on_disk["systems"]["beta"]["BLUE"] is None
    table = (tmp_path / "report" / "report.md").read_text()
    row = next(line for line in table.splitlines() if "| mednli |" in line)
    assert row.split("|")[-3:-1] == [" 50.0 ", " - "]  # alpha scored, beta missing: '-', never 0
    blurb = next(line for line in table.splitlines() if "**BLURB**" in line)
    assert "58.3*" in blurb and "50.0*" in blurb
    csv_rows = (tmp_path / "report" / "scores.csv").read_text().splitlines()
    assert csv_rows[0] == (
        "dataset,task,metric,benchmark,alpha,alpha low,alpha high,alpha n,alpha unparseable,"
        "beta,beta low,beta high,beta n,beta unparseable"
    )
    assert "mednli,nli,accuracy,BLUE,50.0000,-,-,2,0,-,-,-,-,-" in csv_rows  # no intervals asked for


def test_answers_cut_at_the_token_limit_are_counted_and_reported(tmp_path):
    records = [{**r, "reached_max_tokens": i in (1, 3)} for i, r in enumerate(qa_predictions("pubmedqa", 4, 4))]
    write_predictions(tmp_path / "cut", "pubmedqa", records)
    write_predictions(tmp_path / "whole", "pubmedqa", qa_predictions("pubmedqa", 4, 4))  # files without the field
    systems = {folder.name: scored(folder) for folder in (tmp_path / "cut", tmp_path / "whole")}
    assert systems["cut"]["pubmedqa"]["cut"] == 2
    assert systems["whole"]["pubmedqa"]["cut"] is None  # not recorded is not 0
    write_report(tmp_path / "report", systems)
    report = (tmp_path / "report" / "report.md").read_text()
    assert "## Answers cut at the token limit" in report and "| pubmedqa | 2 / 4 | - |" in report
    write_report(tmp_path / "uncut", {"whole": systems["whole"]})
    assert "cut at the token limit" not in (tmp_path / "uncut" / "report.md").read_text()


def test_the_report_says_when_jnlpba_was_built_from_blurbs_untyped_files(tmp_path):
    untyped = [with_prediction(ner("jnlpba", 0, "IL-2 binds.", [], labels=("Biomedical entity",)), "None")]
    typed = [with_prediction(ner("jnlpba", 0, "IL-2 binds.", [], labels=("Protein", "DNA")), "Protein: None")]
    write_predictions(tmp_path / "blurb", "jnlpba", untyped)
    write_predictions(tmp_path / "typed", "jnlpba", typed)
    systems = {folder.name: scored(folder) for folder in (tmp_path / "blurb", tmp_path / "typed")}
    write_report(tmp_path / "report", systems)
    notes = [line for line in (tmp_path / "report" / "report.md").read_text().splitlines() if "untyped" in line]
    assert len(notes) == 1 and notes[0].startswith("`jnlpba` of `blurb`: built from BLURB's untyped files")


def ddi_predictions(version, n=4):
    """n DDI pairs of one release, every answer the gold."""
    return [ddi(i, "mechanism", "(A) mechanism", version) for i in range(n)]


def test_the_report_names_the_release_of_datasets_in_both_benchmarks(tmp_path):
    for name, version in (("a", "blue"), ("b", "blue"), ("c", "blurb")):
        write_predictions(tmp_path / name, "ddi", ddi_predictions(version))
    write_predictions(tmp_path / "a", "pubmedqa", qa_predictions("pubmedqa", 2, 2))
    systems = {name: scored(tmp_path / name) for name in ("a", "b", "c")}
    assert systems["a"]["ddi"]["version"] == "blue" and "version" not in systems["a"]["pubmedqa"]
    write_report(tmp_path / "report", systems)
    notes = [line for line in (tmp_path / "report" / "report.md").read_text().splitlines() if "release files" in line]
    assert notes == [
        "Built from the release files of: `ddi` BLUE (`a`, `b`), BLURB (`c`). "
        "The paper's Table 5 scores BLUE's HoC, DDI and ChemProt."
    ]
    write_report(tmp_path / "one", {"a": systems["a"]})  # one release for every system: not repeated per system
    assert "Built from the release files of: `ddi` BLUE. " in (tmp_path / "one" / "report.md").read_text()


def test_one_prediction_file_holds_one_release(tmp_path):
    records = ddi_predictions("blue") + ddi_predictions("blurb")[:1]
    records[-1]["id"] = "ddi-9"
    write_predictions(tmp_path, "ddi", records)
    with pytest.raises(RecordError, match=r"ddi.jsonl:5: built from release 'blurb', line 1 from 'blue'"):
        score_file(tmp_path / "ddi.jsonl")
    write_predictions(tmp_path, "ddi", ddi_predictions(["blue"]))
    with pytest.raises(RecordError, match=r"ddi.jsonl:1: 'version' must be one of blurb, blue, scibert"):
        score_file(tmp_path / "ddi.jsonl")


def test_a_cut_flag_that_is_not_a_boolean_names_the_line(tmp_path):
    records = qa_predictions("pubmedqa", 2, 2)
    records[1]["reached_max_tokens"] = "yes"
    write_predictions(tmp_path / "bad", "pubmedqa", records)
    with pytest.raises(RecordError, match=r"pubmedqa.jsonl:2: 'reached_max_tokens' must be true or false"):
        score_file(tmp_path / "bad" / "pubmedqa.jsonl")


def test_paper_table_averages_give_the_papers_own_rows():
    scores, published = read_paper_table()
    for system in scores:
        averages = benchmark_averages(scores[system])
        assert averages["BLURB_missing"] == []
        assert round(averages["BLURB"], 1) == published[system]["BLURB"]
        if published[system]["BLUE"] is None:  # ChatGPT and GPT-4 were not run on i2b2-2010 and MedNLI
            assert averages["BLUE_missing"] == ["i2b2_2010", "mednli"]
        else:
            assert round(averages["BLUE"], 1) == published[system]["BLUE"]
    assert published["BioMistral-NLU"] == {"BLURB": 62.4, "BLUE": 56.5}
    assert published["ChatGPT"]["BLURB"] == 53.4


@pytest.mark.parametrize("extra", [["--paper"], ["--compat", "released"]])
def test_cli_writes_the_report(tmp_path, extra):
    alpha, beta = make_two_systems(tmp_path)
    out = tmp_path / "reports" / "run"
    run = subprocess.run(
        [sys.executable, str(ROOT / "evaluate.py"), str(alpha), str(beta), "--out", str(out), *extra],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == [".mnlu-output.json", "report.md", "scores.csv", "scores.json"]
    document = json.loads((out / "scores.json").read_text())
    assert set(document["systems"]) == {"alpha", "beta"}
    report = (out / "report.md").read_text()
    if extra == ["--paper"]:
        assert document["paper"]["BioMistral-NLU"]["BLURB"] == 62.4
        header = next(line for line in report.splitlines() if line.startswith("| Task |"))
        assert header.endswith("| alpha | beta | ChatGPT | GPT-4 | LLaMA-3.1-8B | BioMistral-7B | BioMistral-NLU |")
    else:
        assert document["mode"] == "released"
        # "(A)" alone is no full answer line for the released QA scorer: alpha's 3 right become 0
        assert document["systems"]["alpha"]["pubmedqa"]["score"] == 0.0


def test_plot_writes_a_png_beside_the_report(tmp_path):
    pytest.importorskip("matplotlib")
    alpha, beta = make_two_systems(tmp_path)
    systems = {folder.name: scored(folder) for folder in (alpha, beta)}
    write_report(tmp_path / "report", systems, plot=True)
    assert (tmp_path / "report" / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
