"""Evaluation dataset builders on fixtures written in each release format, and the build CLI."""

import json
import shutil
from pathlib import Path

import pytest

from data_builders.__main__ import main
from data_builders.eval import EVAL_BUILDERS, I2B2_PAIRS
from data_builders.eval.build import build_dataset, record_at
from data_builders.eval.i2b2_2010 import PAIR_OPTIONS
from data_builders.eval.qa import official_split
from data_builders.readers import ReleaseError
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.parse import parse_answer
from mnlu.records import read_records
from mnlu.tasks import source_text

RELEASE = Path(__file__).parent / "fixtures" / "release"
SHARED_PUBMEDQA = Path(__file__).parents[2] / "shared" / "data" / "raw" / "PubMedQA" / "pubmedqa_pubmedqa" / "data"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every fixture dataset built once through the CLI: {(dataset, split): [records]}."""
    out = tmp_path_factory.mktemp("built")
    assert main(["build", "--raw-dir", str(RELEASE), "--out", str(out)]) == 0
    return {(p.parent.name, p.stem): list(read_records(p)) for p in sorted(out.glob("*/*.jsonl"))}


def by_id(built, dataset, split):
    return {r["id"]: r for r in built[dataset, split]}


def answer(record):
    return record["messages"][1]["content"]


def question(record):
    return record["messages"][0]["content"].split("\nMedical text: ")[0]


def test_a_builder_for_every_evaluation_dataset():
    assert list(EVAL_BUILDERS) == list(EVAL_DATASETS)


def test_every_fixture_dataset_is_built_and_its_answers_parse_back_to_gold(built):
    assert {d for d, _ in built} == set(EVAL_DATASETS)
    for records in built.values():
        for record in records:
            assert record["task"] == EVAL_DATASETS[record["dataset"]].task
            parsed = parse_answer(record, answer(record))
            assert not parsed["unparseable"]
            if "spans" in record["gold"]:
                text = source_text(record)
                for span in record["gold"]["spans"]:
                    assert text[span["start"] : span["end"]] == span["text"]
                expected = {
                    x: [s["text"] for s in record["gold"]["spans"] if s["label"] == x] for x in record["gold"]["labels"]
                }
                assert parsed["spans"] == expected
            else:
                assert parsed["answers"] == record["gold"]["answers"]


def test_single_type_ner_text_spans_and_iob_repairs(built):
    records = by_id(built, "bc2gm", "dev")
    first = records["bc2gm.dev.0"]
    # `KLF 4` is one token holding a space; `beta` is tagged I after O and starts a mention
    assert source_text(first) == "The KLF 4 protein binds the beta globin promoter ."
    assert first["gold"] == {
        "labels": ["Gene"],
        "spans": [
            {"label": "Gene", "text": "KLF 4", "start": 4, "end": 9},
            {"label": "Gene", "text": "beta globin", "start": 28, "end": 39},
        ],
    }
    assert answer(records["bc2gm.dev.1"]) == "Gene: None"
    # `Sox<TAB>2<TAB>B`: the tag is after the last tab; blank lines at the end add nothing
    assert source_text(records["bc2gm.dev.2"]) == "Mouse Sox 2 and Oct4 ."
    assert answer(records["bc2gm.dev.2"]) == "Gene: Sox 2...Oct4"
    assert len(records) == 3
    chem = by_id(built, "bc5cdr_chem", "dev")  # found in a sub-folder, as BLURB's zip nests it
    assert answer(chem["bc5cdr_chem.dev.1"]) == "Chemical: Aspirin...warfarin"
    assert answer(by_id(built, "bc5cdr_disease", "dev")["bc5cdr_disease.dev.0"]) == "Disease: hand tremor"
    assert (
        answer(by_id(built, "ncbi_disease", "dev")["ncbi_disease.dev.0"])
        == "Disease: ataxia - telangiectasia...breast cancer"
    )


def test_jnlpba_reads_the_typed_release_and_blurbs_untyped_files_as_one_type(built, tmp_path):
    records = by_id(built, "jnlpba", "dev")
    assert (
        answer(records["jnlpba.dev.0"])
        == "Protein: IL-2\nDNA: gene\nRNA: None\nCell line: Jurkat cells\nCell type: None"
    )
    assert (
        answer(records["jnlpba.dev.1"])
        == "Protein: None\nDNA: None\nRNA: c-fos mRNA\nCell line: None\nCell type: Resting T cells"
    )
    shutil.copy(RELEASE / "jnlpba" / "dev.tsv", tmp_path / "test.tsv")  # BLURB's untyped file of the same sentences
    untyped = [record_at(where, "ner", fields) for where, fields in EVAL_BUILDERS["jnlpba"](tmp_path, "test")]
    assert untyped[0]["gold"]["labels"] == ["Biomedical entity"]
    assert answer(untyped[0]) == "Biomedical entity: IL-2 gene...Jurkat cells"  # B, I: one span untyped
    assert answer(untyped[1]) == "Biomedical entity: Resting T cells...c-fos mRNA"  # in text order
    (tmp_path / "test.tsv").write_text("IL-2\tB\ngene\tI-DNA\n")
    with pytest.raises(ReleaseError, match=r"test.tsv:2: typed tag 'I-DNA' in a file of untyped B/I tags"):
        list(EVAL_BUILDERS["jnlpba"](tmp_path, "test"))


def test_ebm_pico_is_one_record_per_abstract_with_element_offsets(built):
    records = by_id(built, "ebm_pico", "dev")
    assert set(records) == {"ebm_pico.dev.20000001", "ebm_pico.dev.20000002"}
    first = records["ebm_pico.dev.20000001"]
    assert source_text(first) == "Zinc for children with diarrhoea Stool output fell ."
    assert first["gold"]["spans"] == [
        {"label": "Interventions", "text": "Zinc", "start": 0, "end": 4},
        {"label": "Participants", "text": "children with diarrhoea", "start": 9, "end": 32},
        {"label": "Outcomes", "text": "Stool output", "start": 33, "end": 45},
    ]
    assert answer(first) == "Participants: children with diarrhoea\nInterventions: Zinc\nOutcomes: Stool output"


def test_hoc_aggregates_sentences_into_their_abstract(built):
    records = by_id(built, "hoc", "dev")
    first = records["hoc.dev.30000001"]
    assert (
        source_text(first)
        == "We studied tumour cells . Cells escaped apoptosis . Apoptosis resistance and inflammation rose ."
    )
    assert sorted(first["gold"]["answers"]) == ["resisting cell death", "tumor promoting inflammation"]
    assert first["gold"]["multi_label"] and len(first["gold"]["options"]) == 10
    assert records["hoc.dev.30000002"]["gold"]["answers"] == ["inducing angiogenesis"]
    assert answer(records["hoc.dev.30000003"]) == "None"
    assert question(first).startswith("Which options best describe the cancer hallmark from the medical text below?")


def test_hoc_refuses_a_label_column_that_is_not_ten_flags(tmp_path):
    (tmp_path / "dev.tsv").write_text("labels\tsentence\tindex\n0_1,1_0\tShort labels .\t1_s0\n")
    with pytest.raises(ReleaseError, match=r"dev.tsv:2: labels '0_1,1_0' are not the ten flags"):
        list(EVAL_BUILDERS["hoc"](tmp_path, "dev"))


def test_pubmedqa_official_split_and_test_answers(built):
    assert [len(built["pubmedqa", s]) for s in ("train", "dev", "test")] == [45, 5, 50]
    truth = json.loads((RELEASE / "pubmedqa" / "data" / "test_ground_truth.json").read_text())
    test = by_id(built, "pubmedqa", "test")
    assert {r.split(".")[-1] for r in test} == set(truth)
    record = test[f"pubmedqa.test.{next(iter(truth))}"]
    assert record["gold"]["answers"] == [truth[next(iter(truth))]]
    assert record["gold"]["options"] == ["yes", "maybe", "no"]  # the paper's order
    number = int(next(iter(truth))) - 40000001
    assert question(record) == f"Does treatment {number} help?"
    assert source_text(record) == f"BACKGROUND: Background {number}.\nMETHODS: We randomised patients {number}."
    ids = [set(by_id(built, "pubmedqa", s)) for s in ("train", "dev", "test")]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])


def test_pubmedqa_refuses_a_ground_truth_that_is_not_the_official_test_split(tmp_path):
    shutil.copytree(RELEASE / "pubmedqa", tmp_path, dirs_exist_ok=True)
    questions = json.loads((tmp_path / "data" / "ori_pqal.json").read_text())
    wrong = dict(list((p, q["final_decision"]) for p, q in questions.items())[:50])
    (tmp_path / "data" / "test_ground_truth.json").write_text(json.dumps(wrong))
    with pytest.raises(ReleaseError, match="its PMIDs are not the official test split"):
        list(EVAL_BUILDERS["pubmedqa"](tmp_path, "test"))


@pytest.mark.skipif(not SHARED_PUBMEDQA.is_dir(), reason="the real PubMedQA release is not beside the project")
def test_official_split_reproduces_the_released_pubmedqa_test_set():
    questions = json.loads((SHARED_PUBMEDQA / "ori_pqal.json").read_text())
    truth = json.loads((SHARED_PUBMEDQA / "test_ground_truth.json").read_text())
    split = official_split(questions, "ori_pqal.json")
    assert set(split["test"]) == set(truth) and [len(split[s]) for s in ("train", "dev")] == [450, 50]


def test_bioasq_and_mednli_keep_their_answers_and_option_order(built):
    bioasq = by_id(built, "bioasq", "dev")["bioasq.dev.q0002"]
    assert question(bioasq) == "Is insulin produced in the liver?"
    assert answer(bioasq) == "(B) no"
    mednli = by_id(built, "mednli", "dev")["mednli.dev.a1b2"]
    assert mednli["gold"]["options"] == ["entails", "neutral", "contradicts"]  # the paper's Table 4 wording
    assert answer(mednli) == "(C) contradicts"  # the release's "contradiction"
    assert "Premise: Patient denies chest pain. Hypothesis: The patient has chest pain." in question(mednli)


def test_gad_keeps_the_placeholders_the_release_leaves(built):
    records = by_id(built, "gad", "dev")
    assert question(records["gad.dev.0"]) == (
        "What is the relation between the Gene entity '@GENE$' and the "
        "Disease entity '@DISEASE$' from the medical text below?"
    )
    assert records["gad.dev.0"]["gold"]["answers"] == ["associated: the sentence relates the gene to the disease"]
    assert records["gad.dev.1"]["gold"]["answers"] == [records["gad.dev.1"]["gold"]["negative"]]


def test_ddi_is_unmasked_from_the_original_xml(built, tmp_path):
    records = by_id(built, "ddi", "dev")
    first = records["ddi.dev.DDI-DrugBank.d1.s0.p0"]
    assert question(first) == (
        "What is the relation between the Drug entity 'Ketoconazole' and the Drug entity "
        "'midazolam' from the medical text below?"
    )
    assert source_text(first) == "Ketoconazole raises the plasma levels of midazolam."
    assert first["gold"]["answers"][0].startswith("mechanism: ")
    # BLURB wrote `;` where the XML has a line break, and @DRUG-DRUG$ for overlapping drugs
    overlap = records["ddi.dev.DDI-DrugBank.d1.s1.p1"]
    assert source_text(overlap) == "Do not combine MAO inhibitors with MAO inhibitor antidepressants. Monitor patients."
    assert "'MAO inhibitor antidepressants' and the Drug entity 'MAO inhibitor'" in question(overlap)
    assert overlap["gold"]["answers"] == [overlap["gold"]["negative"]]
    shutil.copy(RELEASE / "ddi" / "blurb" / "dev.tsv", tmp_path / "dev.tsv")  # no XML: placeholders stay
    masked = dict(EVAL_BUILDERS["ddi"](tmp_path, "dev"))
    fields = masked[f"{tmp_path / 'dev.tsv'}:1"]
    assert (fields["span_1"], fields["span_2"], fields["text"]) == (
        "@DRUG$",
        "@DRUG$",
        "@DRUG$ raises the plasma levels of @DRUG$.",
    )


def test_ddi_refuses_a_pair_whose_sentence_differs_from_the_xml(tmp_path):
    shutil.copytree(RELEASE / "ddi", tmp_path, dirs_exist_ok=True)
    blurb = tmp_path / "blurb" / "dev.tsv"
    blurb.write_text(blurb.read_text().replace("raises the plasma", "lowers the plasma"))
    with pytest.raises(ReleaseError, match=r"dev.tsv:1: pair 'DDI-DrugBank.d1.s0.p0': the sentence differs"):
        list(EVAL_BUILDERS["ddi"](tmp_path, "dev"))


def test_chemprot_blurb_rows_and_scibert_marks(built):
    blurb = by_id(built, "chemprot", "dev")
    assert "Chemical entity '@CHEMICAL$' and the Gene entity '@GENE$'" in question(blurb["chemprot.dev.100.T1.T2"])
    assert blurb["chemprot.dev.100.T1.T2"]["gold"]["answers"][0].startswith("downregulation: ")
    assert "Chemical entity '@CHEM-GENE$' and the Gene entity '@CHEM-GENE$'" in question(
        blurb["chemprot.dev.100.T3.T2"]
    )
    assert len(blurb["chemprot.dev.100.T1.T2"]["gold"]["options"]) == 6
    scibert = by_id(built, "chemprot", "train")
    first, second = scibert["chemprot.train.line1"], scibert["chemprot.train.line2"]
    assert source_text(first) == "Tamoxifen is an antagonist of estrogen receptor in breast tissue."
    assert "Chemical entity 'Tamoxifen' and the Gene entity 'estrogen receptor'" in question(first)
    assert first["gold"]["answers"][0].startswith("antagonist: ")
    # a chemical name holding `[[` keeps it; SUBSTRATE is in the CPR:9 group
    assert "Chemical entity '[[2H]]-testosterone' and the Gene entity 'CYP3A4'" in question(second)
    assert second["gold"]["answers"][0].startswith("substrate or product: ")


RELEASE_BLUE = Path(__file__).parent / "fixtures" / "release_blue"


def build_blue(tmp_path, *flags):
    out = tmp_path / "out"
    code = main(["build", "--raw-dir", str(RELEASE_BLUE), "--out", str(out), *flags])
    return code, {p.parent.name: {r["id"]: r for r in read_records(p)} for p in out.glob("*/dev.jsonl")}


def test_blue_hoc_ddi_and_chemprot_files_build_the_blue_version(tmp_path, capsys):
    code, built = build_blue(tmp_path)
    assert code == 0
    assert {r["version"] for records in built.values() for r in records.values()} == {"blue"}
    assert "dev.tsv (BLUE)" in capsys.readouterr().out  # the build table names the release
    hoc = built["hoc"]
    first = hoc["hoc.dev.30000001"]  # sentences back in order, an empty label column, names in any case
    assert source_text(first) == (
        "We studied tumour cells . Cells escaped apoptosis . Apoptosis resistance and inflammation rose ."
    )
    assert sorted(first["gold"]["answers"]) == ["resisting cell death", "tumor promoting inflammation"]
    assert hoc["hoc.dev.30000004"]["gold"]["answers"] == ["activating invasion and metastasis"]
    assert question(first) == question(hoc["hoc.dev.30000004"]).replace("30000004", "30000001")
    ddi = built["ddi"]
    assert list(ddi) == ["ddi.dev.DDI-DrugBank.d1.s0.p0", "ddi.dev.DDI-DrugBank.d1.s1.p0"]  # the header is no pair
    assert ddi["ddi.dev.DDI-DrugBank.d1.s1.p0"]["gold"]["answers"][0].startswith("advice: ")
    chemprot = built["chemprot"]
    # BLUE writes a pair with two relations as two rows of one index: two instances, told apart by label
    assert {k: r["gold"]["answers"][0].split(":")[0] for k, r in chemprot.items()} == {
        "chemprot.dev.100.T1.T2": "downregulation",
        "chemprot.dev.100.T1.T4.CPR:9": "substrate or product",
        "chemprot.dev.100.T1.T4.CPR:4": "downregulation",
        "chemprot.dev.100.T3.T2": "none of these relations",
    }


def test_blurb_files_build_the_blurb_version_and_scibert_says_so(built):
    for dataset in ("hoc", "ddi"):
        assert {r["version"] for r in built[dataset, "dev"]} == {"blurb"}
    assert {r["version"] for r in built["chemprot", "dev"]} == {"blurb"}
    assert {r["version"] for r in built["chemprot", "train"]} == {"scibert"}
    assert not any("version" in r for (d, _), records in built.items() if d == "gad" for r in records)


@pytest.mark.parametrize("asked, raw, found", [("blue", RELEASE, "BLURB"), ("blurb", RELEASE_BLUE, "BLUE")])
def test_an_asked_version_the_files_are_not_is_refused(tmp_path, capsys, asked, raw, found):
    only = ["--only", "hoc", "ddi", "chemprot", "--split", "dev"]
    assert main(["build", "--raw-dir", str(raw), "--out", str(tmp_path / "out"), "--version", asked, *only]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 3 and all(f"dev.tsv:1: --version {asked} asks for " in e for e in errors)
    assert all(f"but this is {found}'s" in e for e in errors)


def test_an_asked_version_builds_files_of_that_release(tmp_path):
    code, built = build_blue(tmp_path, "--version", "blue")
    assert code == 0 and set(built) == {"hoc", "ddi", "chemprot"}


def test_blue_hoc_refuses_a_label_that_is_no_hallmark(tmp_path):
    (tmp_path / "dev.tsv").write_text("index\tsentence\tlabels\n1_s0\tShort .\tcellular energetics,growth\n")
    with pytest.raises(ReleaseError, match=r"dev.tsv:2: labels .* are not hallmark names joined by commas"):
        list(EVAL_BUILDERS["hoc"](tmp_path, "dev"))


def test_i2b2_pairs_as_blue_builds_them_one_label_set_for_every_pair(built):
    train = by_id(built, "i2b2_2010", "train")
    assert {k: r["gold"]["answers"][0] for k, r in train.items()} == {
        "i2b2_2010.train.record-1.2.3-3.5-6": "the treatment is given for the problem",
        "i2b2_2010.train.record-1.3.0-2.4-4": "the test reveals the problem",
        "i2b2_2010.train.record-1.3.0-2.6-6": "none of these relations",
        "i2b2_2010.train.record-1.3.4-4.6-6": "one problem indicates or causes the other",  # .rel: effusion, pneumonia
    }
    test_pair = train["i2b2_2010.train.record-1.3.0-2.4-4"]
    assert "Test entity 'A chest x-ray' and the Problem entity 'pneumonia'" in question(test_pair)
    assert len(test_pair["gold"]["options"]) == 9  # BLUE's 8 relations and none, whatever the types
    assert "the treatment improves or cures the problem" in test_pair["gold"]["options"]
    test = built["i2b2_2010", "test"]  # its .con file lists Rash first, and BLUE keeps that order
    assert len(test) == 1 and "Problem entity 'Rash' and the Treatment entity 'penicillin'" in question(test[0])
    assert test[0]["gold"]["answers"] == ["the treatment causes the problem"]


def two_treatments_and_a_problem(folder, con_order):
    """A train record whose one line holds Tylenol, ibuprofen (treatments) and fever, Tylenol TrAP fever."""
    spans = {"Tylenol": ('c="tylenol" 1:0 1:0||t="treatment"'), "ibuprofen": 'c="ibuprofen" 1:2 1:2||t="treatment"'}
    spans["fever"] = 'c="fever" 1:6 1:6||t="problem"'
    files = {
        "train/record-2.txt": "Tylenol and ibuprofen were given for fever .\n",
        "train/record-2.con": "".join(spans[name] + "\n" for name in con_order),
        "train/record-2.rel": 'c="tylenol" 1:0 1:0||r="TrAP"||c="fever" 1:6 1:6\n',
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def i2b2_pairs(folder, construction):
    built = build_dataset("i2b2_2010", I2B2_PAIRS[construction], folder, ["train"])["train"][1]
    return {(r["id"].split(".", 3)[3], r["gold"]["answers"][0]) for r in built}


def test_blue_pairs_every_two_concepts_of_a_line_in_con_order_the_guideline_only_related_types(tmp_path):
    folder = two_treatments_and_a_problem(tmp_path, ["fever", "Tylenol", "ibuprofen"])
    assert i2b2_pairs(folder, "blue") == {
        ("1.6-6.0-0", "the treatment is given for the problem"),  # fever first, as in the .con file
        ("1.6-6.2-2", "none of these relations"),
        ("1.0-0.2-2", "none of these relations"),  # two treatments: a pair in BLUE's construction
    }
    assert i2b2_pairs(folder, "guideline") == {
        ("1.0-0.6-6", "the treatment is given for the problem"),  # treatment, then problem
        ("1.2-2.6-6", "none of these relations"),
    }
    guideline = build_dataset("i2b2_2010", I2B2_PAIRS["guideline"], folder, ["train"])["train"][1]
    assert sorted(guideline[0]["gold"]["options"]) == sorted(
        text for label, text in PAIR_OPTIONS["treatment", "problem"].items()
    )


def test_i2b2_refuses_a_concept_that_does_not_match_the_text(tmp_path):
    shutil.copytree(RELEASE / "i2b2_2010", tmp_path, dirs_exist_ok=True)
    con = tmp_path / "reference_standard_for_test_data" / "concepts" / "record-2.con"
    con.write_text('c="rash" 1:0 1:0||t="problem"\nc="aspirin" 1:2 1:2||t="treatment"\n')
    with pytest.raises(ReleaseError, match=r"record-2.con:2: the concept at 1:2 1:2 does not match the words") as e:
        list(EVAL_BUILDERS["i2b2_2010"](tmp_path, "test"))
    assert "aspirin" not in str(e.value) and "penicillin" not in str(e.value)  # note text never reaches a message


def test_biosses_options_are_the_guideline_levels_and_gold_keeps_the_score(built):
    records = by_id(built, "biosses", "dev")
    first = records["biosses.dev.7"]
    assert first["gold"]["score"] == 3.8 and first["gold"]["option_scores"] == [0, 1, 2, 3, 4]
    assert answer(first).startswith("(E) The two sentences are completely or mostly equivalent")
    assert records["biosses.dev.8"]["gold"]["answers"] == ["The two sentences are on different topics (score 0)."]


@pytest.mark.parametrize("dataset", sorted(EVAL_BUILDERS))
def test_crlf_release_files_build_the_same_records(dataset, built, tmp_path):
    for path in (RELEASE / dataset).rglob("*"):
        if path.is_file():
            target = tmp_path / dataset / path.relative_to(RELEASE / dataset)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    out = tmp_path / "out"
    assert main(["build", "--raw-dir", str(tmp_path), "--out", str(out), "--only", dataset]) == 0
    assert {(dataset, p.stem): list(read_records(p)) for p in out.glob(f"{dataset}/*.jsonl")} == {
        k: v for k, v in built.items() if k[0] == dataset
    }


def test_cli_table_notices_and_a_malformed_file(tmp_path, capsys):
    shutil.copytree(RELEASE / "gad", tmp_path / "raw" / "gad")
    shutil.copytree(RELEASE / "biosses", tmp_path / "raw" / "biosses")
    out = tmp_path / "out"
    assert (
        main(
            [
                "build",
                "--raw-dir",
                str(tmp_path / "raw"),
                "--out",
                str(out),
                "--only",
                "gad",
                "biosses",
                "hoc",
                "--split",
                "dev",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "hoc: skipped, no folder" in printed
    assert [line.split() for line in printed.splitlines()[-3:]] == [
        ["dataset", "split", "source", "instances", "mentions", "options"],
        ["gad", "dev", "dev.tsv", "2", "2"],
        ["biosses", "dev", "dev.tsv", "2", "5"],
    ]
    bad = tmp_path / "raw" / "biosses" / "dev.tsv"
    bad.write_text(bad.read_text().replace("\t0.2\n", "\tsimilar\n"))
    (out / "biosses" / "dev.jsonl").unlink()
    assert main(["build", "--raw-dir", str(tmp_path / "raw"), "--out", str(out), "--only", "biosses", "gad"]) == 2
    captured = capsys.readouterr()
    assert captured.err.endswith(
        f"data_builders build: error: {bad}:3: score 'similar' is not a number from 0 to 4 (like 3 or 3.8)\n"
    )
    assert "gad train: skipped, no train.tsv below" in captured.out
    assert not list((out / "biosses").glob("*.jsonl")) and (out / "gad" / "dev.jsonl").exists()


def test_a_malformed_split_leaves_no_split_of_its_dataset_written(tmp_path, capsys):
    shutil.copytree(RELEASE / "chemprot", tmp_path / "raw" / "chemprot")
    bad = tmp_path / "raw" / "chemprot" / "blurb" / "dev.tsv"
    bad.write_text(bad.read_text().replace("\tCPR:4\n", "\tCPR:7\n"))
    assert main(["build", "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "out")]) == 2
    assert f"{bad}:1: label 'CPR:7' is not one of CPR:3, CPR:4, CPR:5, CPR:6, CPR:9, false" in capsys.readouterr().err
    assert not (tmp_path / "out" / "chemprot").exists()  # train was fine, but is not written either


def test_a_repeated_release_key_is_an_error(tmp_path, capsys):
    gad = tmp_path / "raw" / "gad" / "dev.tsv"
    gad.parent.mkdir(parents=True)
    gad.write_text("index\tsentence\tlabel\n0\t@GENE$ and @DISEASE$.\t1\n0\t@GENE$ or @DISEASE$.\t0\n")
    assert main(["build", "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "out")]) == 2
    assert f"{gad}:3: a second instance with the id 'gad.dev.0' (the first is at {gad}:2;" in capsys.readouterr().err
