"""MNLU-Instruct sources: every builder on a fixture written in its release format."""

import json
from collections import Counter
from pathlib import Path

import pytest

from data_builders.instruct.build import build
from data_builders.instruct.registry import SOURCES
from data_builders.instruct.source import DOMAINS
from helpers import build_edited  # copy a fixture release, edit one file, build it
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.parse import parse_answer
from mnlu.records import TASKS, read_records
from mnlu.tasks import source_text

RAW = Path(__file__).parent / "fixtures" / "instruct" / "raw"

# hand-counted from the fixture files
EXPECTED = {
    "aci_bench": {"summ": 1},
    "biored": {"ner": 1, "re": 4},
    "cdsr": {"summ": 2},
    "drugprot": {"ner": 2, "re": 5},
    "euadr": {"re": 3},
    "genia": {"ner": 2},
    "gnormplus": {"ner": 1},
    "linnaeus": {"ner": 2},
    "mtsamples": {"dc": 1},
    "nli4ct": {"dc": 2},
    "pico_data": {"ner": 1},
    "pubmed_summ": {"summ": 2},
    "snli": {"nli": 2},
    "stsb": {"sts": 2},
    "tmvar": {"ner": 2},
    "trialstop": {"dc": 2},
    "czi_drsm": {"dc": 3},
    "nlm_gene": {"ner": 1},
    "bc4chemd": {"ner": 1},
    "multinli": {"nli": 1},  # 801.BioC.XML is not in Pmidlist.Train.txt (a test document)
    "bionli": {"nli": 3},
    "pubmed_pico": {"ner": 2},  # their dev files are not train files: not read
    "clinical_ie": {"ner": 3},  # no train split: validation and test of both configurations
    # credentialed: fixtures written in the documented release formats
    "i2b2_2006_deid": {"ner": 1},
    "i2b2_2006_smoking": {"dc": 2},
    "i2b2_2008_obesity": {"dc": 1},
    "i2b2_2009_medication": {"ete": 1, "eae": 6, "eac": 2},
    "i2b2_2011_coref": {"ner": 1, "re": 4},
    "i2b2_2012_temporal": {"ner": 1, "re": 3},
    "i2b2_2014_deid": {"ner": 1},
    "n2c2_2018_cohort": {"dc": 1},
    "n2c2_2018_ade": {"ete": 1, "eae": 7},
    "n2c2_2022_sdoh": {"ete": 1, "eae": 3, "eac": 5},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "instruct"
    manifest = build(RAW, out)
    records = {name: list(read_records(out / f"{name}.jsonl")) for name in manifest if (out / f"{name}.jsonl").exists()}
    return manifest, records


def by_id(records, record_id):
    return next(r for r in records if r["id"] == record_id)


def test_every_source_builds_its_fixture_to_the_hand_counted_instances(built):
    manifest, records = built
    assert {name: entry["counts"] for name, entry in manifest.items() if entry["counts"]} == EXPECTED
    assert all(entry["error"] is None for entry in manifest.values())
    assert {name: dict(Counter(r["task"] for r in rs)) for name, rs in records.items()} == EXPECTED
    assert {name for name, entry in manifest.items() if entry["credentialed"]} == {
        name for name in EXPECTED if name.startswith(("i2b2", "n2c2"))
    }


def test_declarations_are_complete_and_never_name_an_evaluation_dataset():
    for source in SOURCES.values():
        assert source.domain in DOMAINS and set(source.tasks) <= set(TASKS) - {"qa"}, source.name
        assert source.name not in EVAL_DATASETS
        assert source.files and source.title and source.format
    assert not set(SOURCES) & set(EVAL_DATASETS)


def test_answers_parse_back_to_gold_and_spans_sit_at_their_offsets(built):
    for records in built[1].values():
        for record in records:
            answer = record["messages"][-1]["content"]
            parsed = parse_answer(record, answer)
            assert not parsed["unparseable"], record["id"]
            if record["task"] in ("ner", "ete", "eae"):
                text = source_text(record)
                for span in record["gold"]["spans"]:
                    assert text[span["start"] : span["end"]] == span["text"], record["id"]
            elif "answers" in record["gold"]:
                assert parsed["answers"] == record["gold"]["answers"], record["id"]


def spans_of(record):
    return sorted((s["label"], s["text"]) for s in record["gold"]["spans"])


def test_pubtator_bioc_iob_and_json_spans(built):
    records = built[1]
    assert spans_of(by_id(records["tmvar"], "tmvar-100")) == [
        ("DNA mutation", "c.34G>A"),
        ("protein mutation", "Gly12Ser"),
        ("single nucleotide polymorphism (SNP)", "rs99999999"),
    ]
    assert spans_of(by_id(records["tmvar"], "tmvar-101")) == []
    assert spans_of(by_id(records["gnormplus"], "gnormplus-400")) == [
        ("gene", "BRCA1"),
        ("gene", "TP53"),
        ("gene family", "p53 family"),
    ]
    assert spans_of(records["nlm_gene"][0]) == [
        ("gene", "TNF"),
        ("gene (focus of the article)", "IL6"),
        ("gene reference into a function (GeneRIF)", "IL6"),
    ]
    assert spans_of(records["bc4chemd"][0]) == [("chemical", "Cisplatin"), ("chemical", "sodium chloride")]
    assert [spans_of(r) for r in records["linnaeus"]] == [[("species", "E. coli"), ("species", "boy")], []]
    assert spans_of(by_id(records["genia"], "genia-MEDLINE:1-0")) == [
        ("DNA", "IL-2 gene"),
        ("cell type", "T cells"),
        ("protein", "IL-2"),
    ]
    assert spans_of(by_id(records["genia"], "genia-MEDLINE:1-1")) == [("protein", "NF-kappa B")]
    assert spans_of(records["pico_data"][0]) == [("participants (population)", "40 adults with asthma")]
    assert len(records["biored"][0]["gold"]["labels"]) == 6  # every declared type is asked for


def test_relation_answers(built):
    records = built[1]
    biored = [r for r in records["biored"] if r["task"] == "re"]
    assert Counter(r["gold"]["answers"][0] for r in biored) == {
        "association": 1,
        "negative correlation": 1,
        "no relation": 2,
    }
    assert all(r["gold"]["negative"] == "no relation" for r in biored)
    drugprot = {
        (r["messages"][0]["content"].split("'")[1], r["gold"]["answers"][0])
        for r in records["drugprot"]
        if r["task"] == "re"
    }
    assert drugprot == {
        ("Imatinib", "inhibitor"),
        ("Aspirin", "no relation"),
        ("Imatinib", "direct regulator"),
        ("Gefitinib", "inhibitor"),
        ("Caffeine", "no relation"),
    }
    assert [r["gold"]["answers"] for r in records["euadr"]] == [
        ["the gene is associated with the disease"],
        ["the gene is associated with the disease"],
        ["no association"],
    ]


def test_sentence_pairs_documents_and_summaries(built):
    records = built[1]
    assert [r["gold"]["answers"] for r in records["snli"]] == [["entailment"], ["contradiction"]]  # "-" is no instance
    assert records["multinli"][0]["gold"]["answers"] == ["neutral"] and records["multinli"][0]["id"] == "multinli-m1"
    assert [r["gold"]["score"] for r in records["stsb"]] == [5.0, 1.4]
    comparison = by_id(records["nli4ct"], "nli4ct-u2")
    assert "Secondary trial:" in source_text(comparison) and "Placebo" in source_text(comparison)
    assert comparison["gold"]["answers"] == ["the trial report(s) contradict the statement"]
    assert [sorted(r["gold"]["answers"]) for r in records["czi_drsm"]] == [
        ["disease mechanism"],
        ["not a primary research article"],
        ["clinical characteristics, disease pathology or diagnosis", "therapeutics in the clinic"],
    ]
    assert (
        source_text(records["czi_drsm"][0])
        == "Endoglin signalling in HHT\nWe show how endoglin loss\nalters signalling."
    )
    assert [r["gold"]["answers"] for r in records["trialstop"]] == [
        ["insufficient enrollment"],
        ["business or administrative"],
    ]
    note = records["mtsamples"][0]
    assert note["gold"]["answers"] == ["Urology"] and len(note["gold"]["options"]) == 10
    assert source_text(note) == "HISTORY: Left flank pain,\n now resolved."
    assert sorted(r["gold"]["summary"] for r in records["pubmed_summ"]) == [
        "the abstract . second .",
        "the abstract of article seven.",
    ]
    assert records["aci_bench"][0]["gold"]["summary"] == "CHIEF COMPLAINT\n\nKnee pain."
    assert [r["gold"]["summary"] for r in records["cdsr"]] == [
        "The treatment probably lowers risk.",
        "There is little evidence.",
    ]


def test_build_is_deterministic(tmp_path):
    build(RAW, tmp_path / "a", ["biored", "mtsamples"])
    build(RAW, tmp_path / "b", ["biored", "mtsamples"])
    for name in ("biored.jsonl", "mtsamples.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["biored"]["files"] == [
        "BioRED/fx/RE BioRED/data/BioRED/Train.PubTator"
    ]


def answers_by_id(records, task):
    return {r["id"].removeprefix(r["dataset"] + "-"): r["gold"]["answers"] for r in records if r["task"] == task}


def test_clinical_span_sources(built):
    records = built[1]
    assert spans_of(records["i2b2_2006_deid"][0]) == [
        ("date", "10/12/2001"),
        ("doctor name", "Zebediah Quist"),
        ("hospital", "GRAYSTONE MEDICAL CENTER"),
        ("identifier", "123456"),
        ("patient name", "Ada Lovelace"),
    ]
    assert spans_of(records["i2b2_2014_deid"][0]) == [
        ("age", "64"),
        ("date", "2067-05-03"),
        ("location", "Boston"),
        ("name", "Zebediah Quist"),
        ("profession", "teacher"),
    ]
    assert spans_of(by_id(records["i2b2_2012_temporal"], "i2b2_2012_temporal-1-0")) == [
        ("date", "10/02/2011"),
        ("duration", "2 days"),
        ("occurrence", "ADMISSION"),
        ("occurrence", "admission"),
        ("problem", "chest pain"),
        ("test", "An ECG"),
    ]
    assert spans_of(by_id(records["i2b2_2011_coref"], "i2b2_2011_coref-Train_Beth-clinical-1-0")) == [
        ("person", "He"),
        ("person", "Mr. Quist"),
        ("person", "he"),
        ("problem", "The pneumonia"),
        ("problem", "pneumonia"),
        ("treatment", "levofloxacin"),
    ]


def test_clinical_relations_and_documents(built):
    records = built[1]
    coref = sorted(
        (r["messages"][0]["content"].split("'")[1], r["messages"][0]["content"].split("'")[3], r["gold"]["answers"][0])
        for r in records["i2b2_2011_coref"]
        if r["task"] == "re"
    )
    same, different = "the two mentions refer to the same thing", "the two mentions refer to different things"
    assert coref == [
        ("He", "he", same),
        ("Mr. Quist", "He", same),
        ("Mr. Quist", "he", different),
        ("pneumonia", "The pneumonia", same),
    ]
    temporal = [r["gold"]["answers"][0] for r in records["i2b2_2012_temporal"] if r["task"] == "re"]
    assert temporal == ["simultaneous", "before", "overlap"]
    assert [r["gold"]["answers"] for r in records["i2b2_2006_smoking"]] == [
        ["past smoker"],
        ["smoking status not mentioned"],
    ]
    assert records["i2b2_2008_obesity"][0]["gold"]["answers"] and sorted(
        records["i2b2_2008_obesity"][0]["gold"]["answers"]
    ) == ["diabetes", "hypertension", "obesity"]  # intuitive Y only: not the textual asthma, not Q gout
    assert sorted(records["n2c2_2018_cohort"][0]["gold"]["answers"]) == [
        "advanced cardiovascular disease",
        "aspirin to prevent myocardial infarction",
        "makes their own medical decisions",
        "speaks English",
    ]


def test_event_extraction_sources(built):
    records = built[1]
    medication = {r["id"]: r for r in records["i2b2_2009_medication"]}
    assert spans_of(medication["i2b2_2009_medication-555-0"]) == [("medication", "Lasix"), ("medication", "aspirin")]
    found = {k: [s["text"] for s in r["gold"]["spans"]] for k, r in medication.items() if r["task"] == "eae"}
    assert {k.removeprefix("i2b2_2009_medication-555-"): v for k, v in found.items() if v} == {
        "m0-do": ["40 mg"],
        "m0-mo": ["po"],
        "m0-f": ["daily"],
        "m1-r": ["chest pain"],
    }
    assert sum(1 for v in found.values() if not v) == 2  # one missing role asked per medication: answer None
    assert answers_by_id(records["i2b2_2009_medication"], "eac") == {
        "555-m0-ln": ["in a list of medications"],
        "555-m1-ln": ["in the narrative text"],
    }
    ade = {
        r["id"].removeprefix("n2c2_2018_ade-100035-"): [s["text"] for s in r["gold"]["spans"]]
        for r in records["n2c2_2018_ade"]
        if r["task"] == "eae"
    }
    assert {k: v for k, v in ade.items() if v} == {
        "T1-Strength": ["1 g"],
        "T1-Route": ["IV"],
        "T1-Frequency": ["q12h"],
        "T1-Reason": ["MRSA bacteremia"],
        "T6-ADE": ["rash"],
    }
    sdoh = records["n2c2_2022_sdoh"]
    assert answers_by_id(sdoh, "eac") == {
        "mimic-0101-E1-T2": ["current"],
        "mimic-0101-E1-T3": ["with family"],
        "mimic-0101-E2-T5": ["retired"],
        "mimic-0101-E3-T8": ["current"],
        "mimic-0101-E4-T12": ["none"],
    }
    assert sorted((r["gold"]["labels"][0], r["gold"]["spans"][0]["text"]) for r in sdoh if r["task"] == "eae") == [
        ("employment - type", "teacher"),
        ("tobacco use - amount", "1 ppd"),
        ("tobacco use - duration", "for 20 years"),
    ]


def test_bionli_pairs_are_entailed_only_by_their_own_conclusion(built):
    records = built[1]["bionli"]
    assert [r["id"] for r in records] == ["bionli-train-2", "bionli-train-3", "bionli-train-4"]  # not dev.csv
    assert [r["gold"]["answers"] for r in records] == [["entailment"], ["not entailment"], ["not entailment"]]
    assert all(r["gold"]["options"] and set(r["gold"]["options"]) == {"entailment", "not entailment"} for r in records)
    perturbed = records[1]["messages"][0]["content"]  # the LPR row marks its entities <re> .. <er>, <el> .. <le>
    assert "Hypothesis: Zorblin inhibits kinase Q in mouse liver." in perturbed and "<" not in perturbed
    assert "Premise: Zorblin levels rose in treated mice. Knockdown of zorblin lowered kinase Q activity." in perturbed


def test_pubmed_pico_extracts_the_p_i_o_sentences_of_each_abstract(built):
    first, second = built[1]["pubmed_pico"]
    assert first["id"] == "pubmed_pico-80000001" and second["id"] == "pubmed_pico-80000002"
    assert sorted(first["gold"]["labels"]) == ["intervention", "outcome", "participants (population or problem)"]
    assert spans_of(first) == [
        ("intervention", "Nurses used an amber lamp for @ weeks ."),
        ("outcome", "Sleep duration was recorded by a wrist monitor ."),
        ("participants (population or problem)", "@ nurses working night shifts were enrolled ."),
    ]
    assert source_text(first).startswith("We asked whether a nightly lamp")  # aim and results sentences stay text
    assert source_text(first).endswith("Sleep duration rose by @ minutes .")
    assert (
        spans_of(second) == []
        and source_text(second) == "To describe a new cast for wrist fractures . The cast was well tolerated ."
    )


def test_clinical_ie_status_and_attribute_spans(built):
    records = {r["id"].removeprefix("clinical_ie-"): r for r in built[1]["clinical_ie"]}
    assert spans_of(records["medication_status-validation-2"]) == [
        ("active medication", "Varbex"),
        ("discontinued medication", "zelmocin"),
    ]
    status = records["medication_status-test-2"]  # the listed name matches the snippet's double space
    assert spans_of(status) == [
        ("active medication", "Lantus  insulin"),
        ("medication neither active nor discontinued", "plurimox"),
    ]
    assert "active medication: Lantus insulin" in status["messages"][1]["content"]
    attributes = records["medication_attr-validation-2"]  # end offsets are inclusive: quorvan, not quorva
    assert spans_of(attributes) == [
        ("dosage", "20 mg"),
        ("frequency", "twice daily"),
        ("medication", "nexadol"),
        ("medication", "quorvan"),
        ("reason", "gout"),
        ("route", "by mouth"),
    ]
    assert "duration" in attributes["gold"]["labels"]


CLINICAL_SNIPPET = "Started quorvan"  # stands for clinical text: it must never reach an error message


@pytest.mark.parametrize(
    "release, file, old, new, source, line, problem",
    [
        ("BioNLI", "fx/balanced/train.csv", ",swap_number", ",SET", "bionli", 4, "label_cat 'SET'"),
        (
            "BioNLI",
            "fx/balanced/train.csv",
            "index,pmid,supp_set",
            "index,pmid,premise",
            "bionli",
            1,
            "lacks the column(s) supp_set",
        ),
        (
            "PubMed-PICO",
            "fx/splitted/PICO_train.txt",
            "RESULTS|R|",
            "RESULTS|X|",
            "pubmed_pico",
            6,
            "undeclared sentence label 'X'",
        ),
        (
            "PubMed-PICO",
            "fx/splitted/PICO_train.txt",
            "CONCLUSIONS|C|",
            "CONCLUSIONS C ",
            "pubmed_pico",
            10,
            "heading|label|sentence",
        ),
        (
            "ClinicalIE",
            "fx/medication_status/test.csv",
            '[""plurimox""]',
            '[""plurimax""]',
            "clinical_ie",
            2,
            "neither_medications[0] does not occur in the snippet",
        ),
        (
            "ClinicalIE",
            "fx/medication_status/test.csv",
            '[""plurimox""]',
            "plurimox",
            "clinical_ie",
            2,
            "not a JSON list",
        ),
        (
            "ClinicalIE",
            "fx/medication_attr/validation.csv",
            "[8, 14, 'Medication1']",
            "[8, 15, 'Medication1']",
            "clinical_ie",
            2,
            "annotation 0 is not [start, inclusive end",
        ),  # an exclusive end lands on the space after quorvan
        (
            "ClinicalIE",
            "fx/medication_attr/validation.csv",
            "'Reason1'",
            "'Cause1'",
            "clinical_ie",
            2,
            "annotation 4 is not",
        ),
    ],
)
def test_a_malformed_release_is_a_file_line_error_and_nothing_is_written(
    tmp_path, release, file, old, new, source, line, problem
):
    path, manifest = build_edited(tmp_path, release, file, old, new, [source])
    error = manifest[source]["error"]
    assert error.startswith(f"{path}:{line}: ") and problem in error, error
    assert CLINICAL_SNIPPET not in error and "Zorblin" not in error
    assert not (tmp_path / "out" / f"{source}.jsonl").exists() and manifest[source]["counts"] == {}
