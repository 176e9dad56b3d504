"""The bundled demo corpus: both builders read it without error, it is deterministic, and the
evaluation side shares no entity with the instruction side (checked on the built records)."""

import json
import re
from pathlib import Path

import pytest

from data_builders.__main__ import main as data_builders
from data_builders.instruct.mix import mix
from demo.corpus import main as demo_corpus
from demo.corpus import write_demo_corpus
from mnlu.fileio import MARKER
from mnlu.records import SPAN_TASKS, read_records
from mnlu.tasks import source_text, user_turn

RECIPES = Path(__file__).resolve().parent.parent / "data_builders" / "instruct" / "recipes"

EVAL_IDS = (
    "ncbi_disease",
    "bc5cdr_chem",
    "bc5cdr_disease",
    "bc2gm",
    "gad",
    "chemprot",
    "ddi",
    "hoc",
    "bioasq",
    "biosses",
)
EVAL_COUNTS = {"train": 16, "dev": 64, "test": 32}
# instances per source and task, from the numbers of documents, sentences and rows the corpus
# promises; None: counted from the raw files in the test (they depend on the drawn content)
INSTRUCT_COUNTS = {
    "biored": {"ner": 300, "re": None},
    "linnaeus": {"ner": 150},
    "euadr": {"re": 80},
    "trialstop": {"dc": 80},
    "stsb": {"sts": 80},
    "snli": {"nli": 80},
    "n2c2_2018_ade": {"ete": 40, "eae": None},
    "i2b2_2014_deid": {"ner": 40},
    "mtsamples": {"dc": 40},
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The demo corpus written through the CLI and built by both builders; each must exit 0."""
    root = tmp_path_factory.mktemp("demo")
    assert demo_corpus(["--out", str(root / "raw")]) == 0
    assert data_builders(["build", "--raw-dir", str(root / "raw"), "--out", str(root / "eval")]) == 0
    assert data_builders(["build-instruct", "--raw-dir", str(root / "raw"), "--out", str(root / "instruct")]) == 0
    return root


def eval_records(root):
    return [r for d in EVAL_IDS for split in EVAL_COUNTS for r in read_records(root / "eval" / d / f"{split}.jsonl")]


def instruct_records(root):
    return [r for name in INSTRUCT_COUNTS for r in read_records(root / "instruct" / f"{name}.jsonl")]


def test_evaluation_datasets_build_with_the_expected_splits(corpus):
    assert sorted(p.name for p in (corpus / "eval").iterdir()) == sorted([MARKER, *EVAL_IDS])
    for dataset in EVAL_IDS:
        for split, n in EVAL_COUNTS.items():
            records = list(read_records(corpus / "eval" / dataset / f"{split}.jsonl"))
            assert len(records) == n, (dataset, split)
            assert {r["dataset"] for r in records} == {dataset}


def test_instruction_sources_build_with_the_expected_counts(corpus):
    manifest = json.loads((corpus / "instruct" / "manifest.json").read_text())
    built = {name: entry["counts"] for name, entry in manifest.items() if entry["counts"]}
    assert not [name for name, entry in manifest.items() if entry["error"]]
    assert sorted(built) == sorted(INSTRUCT_COUNTS)
    for name, counts in INSTRUCT_COUNTS.items():
        assert built[name].keys() == counts.keys(), name
        assert all(built[name][task] == n for task, n in counts.items() if n is not None), name
    # BioRED: every relation line is an instance, plus at most as many sampled no-relation pairs
    pubtator = next((corpus / "raw").glob("BioRED/*/*/data/BioRED/Train.PubTator")).read_text().splitlines()
    relations = sum(1 for line in pubtator if "\t" in line and not line.split("\t")[1].isdigit())
    assert relations < built["biored"]["re"] <= 2 * relations
    # n2c2 ADE: each drug mention is asked for every attribute type it has, plus one it lacks
    expected_eae = 0
    for ann in (corpus / "raw").glob("n2c2-2018-ade/*/*/*.ann"):
        lines = [line.split("\t") for line in ann.read_text().splitlines()]
        drugs = [f[0] for f in lines if f[0].startswith("T") and f[1].startswith("Drug ")]
        links = {(f[1].split()[2][5:], f[1].split()[0]) for f in lines if f[0].startswith("R")}
        expected_eae += sum(1 + sum(1 for drug, _ in links if drug == d) for d in drugs)
    assert built["n2c2_2018_ade"]["eae"] == expected_eae


def test_bc5cdr_chemical_and_disease_tag_the_same_sentences(corpus):
    for split in EVAL_COUNTS:
        chem, disease = (
            read_records(corpus / "eval" / d / f"{split}.jsonl") for d in ("bc5cdr_chem", "bc5cdr_disease")
        )
        assert [source_text(r) for r in chem] == [source_text(r) for r in disease]


def test_same_seed_same_bytes_other_seed_other_corpus(tmp_path):
    def files(folder):
        return {
            p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MARKER
        }

    write_demo_corpus(tmp_path / "a", seed=42)
    write_demo_corpus(tmp_path / "b", seed=42)
    write_demo_corpus(tmp_path / "c", seed=7)
    a, b, c = files(tmp_path / "a"), files(tmp_path / "b"), files(tmp_path / "c")
    assert a == b
    assert a.keys() == c.keys() and all(a[name] != c[name] for name in a)


def span_texts(records):
    return {s["text"].casefold() for r in records if r["task"] in SPAN_TASKS for s in r["gold"]["spans"]}


def test_no_entity_is_shared_between_evaluation_and_instruction_records(corpus):
    evaluation, instruction = span_texts(eval_records(corpus)), span_texts(instruct_records(corpus))
    assert len(evaluation) > 50 and len(instruction) > 50  # both sides really hold entities
    assert not evaluation & instruction


def entity_texts(records):
    """Span texts of `records` that name something: numbers (ages, doses, durations) are left out."""
    return {
        s["text"].casefold()
        for r in records
        if r["task"] in SPAN_TASKS
        for s in r["gold"]["spans"]
        if not s["text"][0].isdigit()
    }


def mentioned(entities, records):
    """`entities` found as whole words in the questions of `records` (empty exactly when none occurs:
    one that overlaps a longer match is not listed, but the longer one is)."""
    words = "|".join(map(re.escape, sorted(entities, key=len, reverse=True)))
    return set(re.findall(rf"(?<![\w-])(?:{words})(?![\w-])", "\n".join(user_turn(r) for r in records).casefold()))


def test_no_entity_of_one_side_is_mentioned_in_the_texts_of_the_other(corpus):
    evaluation, instruction = eval_records(corpus), instruct_records(corpus)
    assert not mentioned(entity_texts(instruction), evaluation)
    assert not mentioned(entity_texts(evaluation), instruction)
    assert mentioned(entity_texts(evaluation), evaluation)  # the search does find entities where they are


def test_no_instruction_instance_overlaps_an_evaluation_text(corpus, tmp_path):
    """The frames differ too: the mixer's leak check (13-word windows) drops nothing."""
    counts = mix(corpus / "instruct", RECIPES / "full.toml", tmp_path / "mix.jsonl", eval_paths=[corpus / "eval"])
    assert counts["total"] > 2000
    assert not any(counts["dropped_for_eval_overlap"].values())


@pytest.mark.parametrize("recipe", ["demo", "small"])
def test_the_cpu_recipes_are_met_by_the_demo_corpus(corpus, tmp_path, recipe):
    counts = mix(corpus / "instruct", RECIPES / f"{recipe}.toml", tmp_path / "mix.jsonl", eval_paths=[corpus / "eval"])
    assert counts["total"] == 480 and counts["per_task"]["ner"] + counts["per_task"]["ete"] == 240  # half entities
    records = list(read_records(tmp_path / "mix.jsonl"))
    multi = [r for r in records if r["task"] in SPAN_TASKS and len(r["gold"]["labels"]) > 1]
    asked_one = [r for r in records if re.search(r"-s\d+-\d+$", r["id"])]  # a sentence asked for one label
    assert multi and all(len(r["gold"]["labels"]) == 1 for r in asked_one)
    assert bool(asked_one) == (recipe == "small")


def test_every_gold_span_sits_at_its_offsets(corpus):
    records = [r for r in eval_records(corpus) + instruct_records(corpus) if r["task"] in SPAN_TASKS]
    spans = 0
    for record in records:
        text = source_text(record)
        for span in record["gold"]["spans"]:
            assert text[span["start"] : span["end"]] == span["text"], (record["id"], span)
            spans += 1
    assert spans > 1000


def test_replaces_an_earlier_demo_corpus_but_never_other_data(tmp_path, capsys):
    downloads = tmp_path / "downloads"
    (downloads / "BioRED").mkdir(parents=True)
    (downloads / "BioRED" / "Train.PubTator").write_text("mine")
    with pytest.raises(SystemExit) as e:
        demo_corpus(["--out", str(downloads)])
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        f"demo.corpus: error: --out {downloads} is a folder that demo-corpus "
        f"did not write (no {MARKER} naming it); choose a new or empty --out, "
        "or remove that folder yourself\n"
    )
    assert [p.name for p in downloads.rglob("*")] == ["BioRED", "Train.PubTator"]

    demo = tmp_path / "demo"
    write_demo_corpus(demo, seed=1)
    first = (demo / "biosses" / "dev.tsv").read_bytes()
    assert demo_corpus(["--out", str(demo), "--seed", "2"]) == 0
    assert (demo / "biosses" / "dev.tsv").read_bytes() != first
    (demo / "notes.txt").write_text("mine")  # put there by hand since: the corpus is no longer only its own
    with pytest.raises(SystemExit) as e:
        demo_corpus(["--out", str(demo), "--seed", "3"])
    assert e.value.code == 2 and "now also holds 'notes.txt'" in capsys.readouterr().err
    assert (demo / "notes.txt").read_text() == "mine"
