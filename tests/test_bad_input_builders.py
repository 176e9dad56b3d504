"""Bad input to `python -m data_builders` (build, build-instruct, mix) and `python -m demo.corpus`: how each must fail.

Every case is a small release written here in its real format, with one fault. The promise
(tests/clichecks.py): exit status 2 and one `data_builders <command>: error:` line naming the file
and line (or field), no traceback, none of the release's text printed (SECRET stands for a
patient's or an abstract's sentence and sits in every faulty file), every input byte for byte as
it was, and no output or temporary file left behind. Most cases call main(argv) in process (the
same path as the command line, faster); a few run the real command line.
"""

import errno
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import pytest

import data_builders.eval.build as build_cli
import demo.corpus
from clichecks import assert_clean_failure, checksums, hidden_leftovers, run_command
from data_builders.__main__ import main
from data_builders.eval import EVAL_BUILDERS
from data_builders.instruct import build as instruct_build
from data_builders.instruct.registry import SOURCES
from mnlu.fileio import MARKER, written_by
from mnlu.records import write_records
from mnlu.tasks import make_record

SECRET = "Quorvexan eased the Zumbrota fever"  # must never be printed
SHORT = "Mary Smith"  # a short secret: two words, which a label-only excerpt would show
PASSAGE = f"{SECRET} in 12 of 14 patients. " * 40  # a BioASQ snippet, 1.6 KB of text
HALLMARK_FLAGS = ",".join(f"{k}_0" for k in range(10))


class Link(NamedTuple):
    """A symbolic link to `target` (relative to the link's folder) in a tree written by `write_tree`."""

    target: str


FOLDER = "a folder"  # a tree entry that is an (empty) folder


def write_tree(root, files):
    """Write {relative path: text, bytes, Link or FOLDER} below `root`."""
    for name, content in files.items():
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            os.symlink(content.target, path)
        elif content is FOLDER:
            path.mkdir()
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return Path(root)


def run_in_process(argv, capsys, cli=main):
    """cli(argv) as `python -m data_builders` (the default) runs it: exit status, stdout and stderr."""
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def place(root, name, at=None):
    """How an error line names a place: `path:line:`, `path: field:` or `path:`."""
    path = Path(root) / name
    return f"{path}:{at}:" if isinstance(at, int) else f"{path}: {at}:" if at else f"{path}:"


def pubmedqa(questions_text):
    """A PubMedQA release: ori_pqal.json as given, and a ground truth answering PMID 1."""
    return {"pubmedqa/ori_pqal.json": questions_text, "pubmedqa/test_ground_truth.json": '{"1": "yes"}'}


def question(**fields):
    item = {"QUESTION": f"Did {SECRET}?", "CONTEXTS": [f"{SECRET}."], "LABELS": ["RESULTS"], "final_decision": "yes"}
    return json.dumps({"1": {**item, **fields}}, indent=1)


DDI_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<document id="DDI-DrugBank.d1">
<sentence id="DDI-DrugBank.d1.s0" text="{SECRET} with zorblin.">
<entity id="DDI-DrugBank.d1.s0.e0" charOffset="0-8" type="drug" text="Quorvexan"/>
<entity id="DDI-DrugBank.d1.s0.e1" charOffset="40-46" type="drug" text="zorblin"/>
<pair id="DDI-DrugBank.d1.s0.p0" e1="DDI-DrugBank.d1.s0.e0" e2="DDI-DrugBank.d1.s0.e1" ddi="false"/>
</sentence>
</document>
"""
DDI_ROW = "DDI-DrugBank.d1.s0.p0\t@DRUG$ eased the Zumbrota fever with @DRUG$.\tDDI-false\n"
I2B2_NOTE = {"i2b2_2010/train_data/record.txt": f"{SECRET} .\n", "i2b2_2010/train_data/record.rel": ""}

# (case, release files, the file named, its line or field); every file holds SECRET where text goes
BUILD_CASES = (
    [
        ("conll-tag-holds-text", {"bc2gm/dev.tsv": f"IL-2\tB\n{SECRET}\t{SECRET}\n"}, "bc2gm/dev.tsv", 2),
        (
            "conll-not-utf8-line-41",
            {"bc2gm/test.tsv": (f"{SECRET}\tO\n" * 40).encode() + b"\xff\tO\n"},
            "bc2gm/test.tsv",
            41,
        ),
        ("conll-empty-file", {"bc2gm/dev.tsv": ""}, "bc2gm/dev.tsv", None),
        ("conll-docstart-only", {"bc2gm/dev.tsv": "-DOCSTART-\tO\n\n"}, "bc2gm/dev.tsv", None),
        ("release-name-is-a-folder", {"bc2gm/dev.tsv": FOLDER}, "bc2gm/dev.tsv", None),
        ("release-name-is-a-broken-link", {"bc2gm/dev.tsv": Link("gone.tsv")}, "bc2gm/dev.tsv", None),
        ("release-name-is-a-link-loop", {"bc2gm/data/dev.tsv": Link("dev.tsv")}, "bc2gm/data/dev.tsv", None),
        ("dataset-folder-is-a-broken-link", {"gad": Link("gone")}, "gad", None),
        ("pico-sentence-before-docstart", {"ebm_pico/dev.tsv": f"{SECRET}\tI-PAR\n"}, "ebm_pico/dev.tsv", 1),
        (
            "hoc-columns-swapped",
            {"hoc/dev.tsv": f"labels\tsentence\tindex\n{SECRET}\t{HALLMARK_FLAGS}\t1_s0\n"},
            "hoc/dev.tsv",
            2,
        ),
        ("hoc-header-only", {"hoc/dev.tsv": "labels\tsentence\tindex\n"}, "hoc/dev.tsv", None),
        (
            "hoc-empty-sentence",
            {"hoc/dev.tsv": f"labels\tsentence\tindex\n{HALLMARK_FLAGS}\t \t1_s0\n"},
            "hoc/dev.tsv",
            2,
        ),
        (
            "hoc-superscript-number",
            {"hoc/dev.tsv": f"labels\tsentence\tindex\n{HALLMARK_FLAGS}\t{SECRET}\t1_s\u00b2\n"},
            "hoc/dev.tsv",
            2,
        ),
        ("pubmedqa-labels-not-a-list", pubmedqa(question(LABELS=7)), "pubmedqa/ori_pqal.json", "PMID '1'"),
        ("pubmedqa-labels-a-string", pubmedqa(question(LABELS="RESULTS")), "pubmedqa/ori_pqal.json", "PMID '1'"),
        (
            "pubmedqa-context-not-a-string",
            pubmedqa(question(CONTEXTS=[SECRET, 3], LABELS=["A", "B"])),
            "pubmedqa/ori_pqal.json",
            "PMID '1'",
        ),
        ("pubmedqa-empty-question", pubmedqa(question(QUESTION=" ")), "pubmedqa/ori_pqal.json", "PMID '1'"),
        ("pubmedqa-pmid-twice", pubmedqa(question()[:-2] + ",\n " + question()[1:]), "pubmedqa/ori_pqal.json", 13),
        (
            "pubmedqa-not-utf8",
            pubmedqa(question().encode().replace(b"eased", b"eas\xe9d")),
            "pubmedqa/ori_pqal.json",
            3,
        ),
        (
            "pubmedqa-nested-100k-deep",
            pubmedqa(question()[:-1] + ', "2": ' + "[" * 100_000 + "]" * 100_000 + "}"),
            "pubmedqa/ori_pqal.json",
            None,
        ),
        (
            "pubmedqa-5000-digit-integer",
            pubmedqa(question(LABELS="X").replace('"X"', "9" * 5000)),
            "pubmedqa/ori_pqal.json",
            None,
        ),
        (
            "bioasq-passage-in-label-column",
            {"bioasq/dev.tsv": f"q1\tIs it safe?\tyes\t{PASSAGE}\n"},
            "bioasq/dev.tsv",
            1,
        ),
        ("bioasq-empty-question", {"bioasq/dev.tsv": f"q1\t\t{PASSAGE}\tyes\n"}, "bioasq/dev.tsv", 1),
        ("bioasq-empty-file", {"bioasq/dev.tsv": "\n"}, "bioasq/dev.tsv", None),
        (
            "gad-columns-swapped",
            {"gad/dev.tsv": f"index\tsentence\tlabel\n0\t1\t{SECRET} @GENE$ @DISEASE$\n"},
            "gad/dev.tsv",
            2,
        ),
        (
            "gad-empty-id",
            {"gad/dev.tsv": f"index\tsentence\tlabel\n\t{SECRET} @GENE$ @DISEASE$\t1\n"},
            "gad/dev.tsv",
            2,
        ),
        (
            "gad-id-twice",
            {"gad/dev.tsv": f"index\tsentence\tlabel\n7\t{SECRET} @GENE$.\t1\n7\t{SECRET} @DISEASE$.\t0\n"},
            "gad/dev.tsv",
            3,
        ),
        ("gad-header-only", {"gad/dev.tsv": "index\tsentence\tlabel\r\n"}, "gad/dev.tsv", None),
        (
            "gad-not-utf8",
            {"gad/dev.tsv": f"index\tsentence\tlabel\n0\t{SECRET}\t1\n".encode("latin-1") + b"1\tna\xefve\t0\n"},
            "gad/dev.tsv",
            3,
        ),
        (
            "ddi-sentence-differs-from-xml",
            {"ddi/xml/d1.xml": DDI_XML, "ddi/blurb/dev.tsv": DDI_ROW.replace("eased", "cured")},
            "ddi/blurb/dev.tsv",
            1,
        ),
        (
            "ddi-xml-pair-without-entity",
            {"ddi/xml/d1.xml": DDI_XML.replace('e2="DDI-DrugBank.d1.s0.e1"', 'e2="x"'), "ddi/blurb/dev.tsv": DDI_ROW},
            "ddi/xml/d1.xml",
            6,
        ),
        (
            "ddi-xml-truncated",
            {"ddi/xml/d1.xml": DDI_XML[: DDI_XML.index("<pair")], "ddi/blurb/dev.tsv": DDI_ROW},
            "ddi/xml/d1.xml",
            6,
        ),
        (
            "chemprot-label-a-list",
            {"chemprot/train.txt": json.dumps({"text": SECRET, "label": ["SUBSTRATE"]}) + "\n"},
            "chemprot/train.txt",
            1,
        ),
        (
            "chemprot-text-not-a-string",
            {"chemprot/train.txt": '{"text": ["x"], "label": "SUBSTRATE"}\n'},
            "chemprot/train.txt",
            1,
        ),
        (
            "chemprot-blurb-columns-swapped",
            {"chemprot/dev.tsv": f"1.T1.T2\tCPR:4\t{SECRET} @CHEMICAL$ @GENE$\n"},
            "chemprot/dev.tsv",
            1,
        ),
        (
            "i2b2-concept-not-at-its-tokens",
            {**I2B2_NOTE, "i2b2_2010/train_data/record.con": 'c="zumbrota fever" 1:0 1:1||t="problem"\n'},
            "i2b2_2010/train_data/record.con",
            1,
        ),
        (
            "i2b2-concept-field-malformed",
            {**I2B2_NOTE, "i2b2_2010/train_data/record.con": f'c="{SECRET}" 1:0||t="problem"\n'},
            "i2b2_2010/train_data/record.con",
            1,
        ),
        (
            "i2b2-concept-file-not-utf8",
            {
                **I2B2_NOTE,
                "i2b2_2010/train_data/record.con": b'c="quorvexan" 1:0 1:0||t="treatment"\n'
                b'c="f\xe9ver" 1:4 1:4||t="problem"\n',
            },
            "i2b2_2010/train_data/record.con",
            2,
        ),
        (
            "mednli-sentence-in-label",
            {
                "mednli/mli_dev_v1.jsonl": json.dumps(
                    {"pairID": "a", "sentence1": SECRET, "sentence2": "ok", "gold_label": SECRET}
                )
                + "\n"
            },
            "mednli/mli_dev_v1.jsonl",
            1,
        ),
        (
            "mednli-sentence-a-list",
            {
                "mednli/mli_dev_v1.jsonl": json.dumps(
                    {"pairID": "a", "sentence1": [SECRET], "sentence2": "ok", "gold_label": "neutral"}
                )
                + "\n"
            },
            "mednli/mli_dev_v1.jsonl",
            1,
        ),
        (
            "mednli-key-twice",
            {
                "mednli/mli_dev_v1.jsonl": "\n"
                + json.dumps({"pairID": "a", "sentence1": SECRET, "sentence2": "ok", "gold_label": "neutral"})[:-1]
                + ', "pairID": "b"}\n'
            },
            "mednli/mli_dev_v1.jsonl",
            2,
        ),
        ("mednli-empty-file", {"mednli/mli_dev_v1.jsonl": ""}, "mednli/mli_dev_v1.jsonl", None),
    ]
    + [
        (
            f"biosses-score-{score}",
            {"biosses/dev.tsv": f"pair_id\tsent1\tsent2\tscore\n1\t{SECRET}\tok\t{score}\n"},
            "biosses/dev.tsv",
            2,
        )
        for score in ("nan", "inf", "-1", "1e0", "0_4", SECRET)
    ]
    + [
        ("biosses-header-only", {"biosses/dev.tsv": "pair_id\tsent1\tsent2\tscore\n"}, "biosses/dev.tsv", None),
    ]
)


@pytest.mark.parametrize("files, named, at", [pytest.param(*case[1:], id=case[0]) for case in BUILD_CASES])
def test_build_refuses_a_malformed_release(tmp_path, capsys, files, named, at):
    raw, out = write_tree(tmp_path / "raw", files), tmp_path / "out"
    before = checksums(raw)
    result = run_in_process(["build", "--raw-dir", raw, "--out", out], capsys)
    assert_clean_failure(result, "data_builders build", names=[place(raw, named, at)], secrets=[SECRET, "Zumbrota"])
    assert checksums(raw) == before
    assert not out.exists() and not hidden_leftovers(tmp_path)


def with_short_secret(files):
    """`files` with SHORT in place of SECRET."""
    return {
        name: content.replace(SECRET, SHORT)
        if isinstance(content, str)
        else content.replace(SECRET.encode(), SHORT.encode())
        if isinstance(content, bytes)
        else content
        for name, content in files.items()
    }


# Cases whose secret sits in a label, tag or score column: a label field may be shown as a bounded
# excerpt (test_a_label_column_is_shown_only_as_a_bounded_excerpt), so a short value there is shown.
IN_A_LABEL_COLUMN = {
    "conll-tag-holds-text",
    "hoc-columns-swapped",
    "mednli-sentence-in-label",
    f"biosses-score-{SECRET}",
    "smoking-status-holds-text",
}


@pytest.mark.parametrize(
    "files, named, at",
    [pytest.param(*case[1:], id=case[0]) for case in BUILD_CASES if case[0] not in IN_A_LABEL_COLUMN],
)
def test_build_never_shows_even_a_short_text(tmp_path, capsys, files, named, at):
    raw = write_tree(tmp_path / "raw", with_short_secret(files))
    result = run_in_process(["build", "--raw-dir", raw, "--out", tmp_path / "out"], capsys)
    assert_clean_failure(result, "data_builders build", names=[place(raw, named, at)], secrets=[SHORT])


def test_a_label_column_is_shown_only_as_a_bounded_excerpt(tmp_path, capsys):
    label = "Maryanne Smithsonian-Worthington-Fairweather"  # two words, past 40 characters
    raw = write_tree(
        tmp_path / "raw",
        {
            "gad/dev.tsv": f"index\tsentence\tlabel\n0\t{SHORT}\t{label}\n",
            "hoc/dev.tsv": f"labels\tsentence\tindex\n{label}\t{SHORT}\t1_s0\n",
        },
    )
    result = run_in_process(["build", "--raw-dir", raw, "--out", tmp_path / "out"], capsys)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        f"data_builders build: error: {raw / 'hoc/dev.tsv'}:2: labels 'Maryanne Smithsonian-Worthington-Fai... "
        "are not the ten flags 0_v,...,9_v with v 0 or 1",
        f"data_builders build: error: {raw / 'gad/dev.tsv'}:2: label 'Maryanne Smithsonian-Worthington-Fai... "
        "is not one of 1, 0",
    ]
    assert SHORT not in result.stdout + result.stderr  # the sentences: never shown, however short


def test_a_malformed_dataset_fails_alone_and_the_others_are_built(tmp_path, capsys):
    raw = write_tree(
        tmp_path / "raw",
        {
            "bc2gm/dev.tsv": f"IL-2\tB\n{SECRET}\t{SECRET}\n",
            "gad/dev.tsv": "index\tsentence\tlabel\n0\t@GENE$ in @DISEASE$.\t1\n",
        },
    )
    result = run_in_process(["build", "--raw-dir", raw, "--out", tmp_path / "out"], capsys)
    assert_clean_failure(result, "data_builders build", names=[f"{raw / 'bc2gm/dev.tsv'}:2:"], secrets=[SECRET])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MARKER, "gad"]


def release_with_one_dataset(tmp_path):
    return write_tree(tmp_path / "raw", {"gad/dev.tsv": "index\tsentence\tlabel\n0\t@GENE$ in @DISEASE$.\t1\n"})


@pytest.mark.parametrize("out", ["file", "foreign", "raw", "above-raw", "link"])
def test_build_never_writes_into_what_it_did_not_make(tmp_path, capsys, out):
    raw = release_with_one_dataset(tmp_path)
    write_tree(tmp_path, {"file": "my notes\n", "foreign/gad/dev.jsonl": "my own records\n", "link": Link("foreign")})
    target = {"raw": raw, "above-raw": tmp_path}.get(out, tmp_path / out)
    before = checksums(tmp_path)
    result = run_in_process(["build", "--raw-dir", raw, "--out", target], capsys)
    assert_clean_failure(result, "data_builders build", names=[f"--out {target}"])
    assert checksums(tmp_path) == before


def test_build_rewrites_its_own_output(tmp_path, capsys):
    raw = release_with_one_dataset(tmp_path)
    for _ in range(2):
        assert run_in_process(["build", "--raw-dir", raw, "--out", tmp_path / "out"], capsys).returncode == 0
    assert (tmp_path / "out" / "gad" / "dev.jsonl").is_file()
    assert written_by(tmp_path / "out") == build_cli.TOOL  # the one name it writes and checks


def test_build_claims_its_output_once_at_the_first_write(tmp_path, capsys, monkeypatch):
    raw = write_tree(
        tmp_path / "raw",
        {
            "gad/dev.tsv": "index\tsentence\tlabel\n0\t@GENE$ in @DISEASE$.\t1\n",
            "biosses/dev.tsv": "pair_id\tsent1\tsent2\tscore\n1\tA b.\tA c.\t3\n",
        },
    )
    claims = []
    claim = build_cli.claim_output_folder
    monkeypatch.setattr(build_cli, "claim_output_folder", lambda *a, **k: (claims.append(a), claim(*a, **k)))
    assert run_in_process(["build", "--raw-dir", raw, "--out", tmp_path / "out"], capsys).returncode == 0
    assert len(claims) == 1 and sorted(p.name for p in (tmp_path / "out").iterdir()) == [MARKER, "biosses", "gad"]


def fake_builder(*instances):
    """An evaluation builder giving these (where, fields) instances for every split."""

    def builder(folder, split):
        yield from instances

    return builder


NLI = dict(id="mednli.dev.7", dataset="mednli", split="dev", premise=SECRET, hypothesis=SHORT)


def test_an_instance_the_format_refuses_is_bad_input_named_by_index(tmp_path, capsys, monkeypatch):
    raw = write_tree(tmp_path / "raw", {"mednli/mli_dev_v1.jsonl": "{}\n"})
    where = f"{raw / 'mednli/mli_dev_v1.jsonl'}:1"
    monkeypatch.setitem(
        EVAL_BUILDERS, "mednli", fake_builder((where, {**NLI, "options": [SHORT, SHORT], "answer": SHORT}))
    )
    result = run_in_process(["build", "--raw-dir", raw, "--out", tmp_path / "out", "--split", "dev"], capsys)
    assert_clean_failure(
        result,
        "data_builders build",
        secrets=[SECRET, SHORT],
        names=[f"{where}: mednli instance 'mednli.dev.7': options must be 2-26 distinct strings"],
    )


def test_a_builder_bug_is_a_traceback_never_bad_input(tmp_path, capsys, monkeypatch):
    """A ValueError that is no RecordError (here int() of a field) is a bug: it must not pass for bad input."""
    raw = write_tree(tmp_path / "raw", {"mednli/mli_dev_v1.jsonl": "{}\n"})
    monkeypatch.setattr(build_cli, "make_record", lambda task, **fields: int(fields["premise"]))
    monkeypatch.setitem(EVAL_BUILDERS, "mednli", fake_builder(("x:1", {**NLI, "options": ["a", "b"], "answer": "a"})))
    with pytest.raises(ValueError, match="invalid literal for int"):
        main(["build", "--raw-dir", str(raw), "--out", str(tmp_path / "out"), "--split", "dev"])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("raw", ["missing", "a-file", "no-datasets"])
def test_build_needs_a_raw_folder_holding_datasets(tmp_path, capsys, raw):
    write_tree(tmp_path, {"a-file": "x\n", "no-datasets/GAD/dev.tsv": "index\tsentence\tlabel\n"})
    result = run_in_process(["build", "--raw-dir", tmp_path / raw, "--out", tmp_path / "out"], capsys)
    assert_clean_failure(result, "data_builders build", names=[f"--raw-dir {tmp_path / raw}"])
    assert not (tmp_path / "out").exists()


def fail_writes(monkeypatch):
    """Every write ends like a full disk (at its fsync, before the rename that would publish it)."""

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)


def test_build_on_a_full_disk_is_one_line_and_leaves_no_temporary(tmp_path, capsys, monkeypatch):
    raw = release_with_one_dataset(tmp_path)
    fail_writes(monkeypatch)
    result = run_in_process(["build", "--raw-dir", raw, "--out", tmp_path / "out"], capsys)
    assert_clean_failure(result, "data_builders build", names=["No space left on device"])
    assert not hidden_leftovers(tmp_path) and not list(tmp_path.glob("out/**/*.jsonl"))


# ---------------------------------------------------------------------------------------------
# build-instruct

# (case, release files below RAW, the file named, its line or field, the source that fails)
INSTRUCT_CASES = (
    [
        (
            "snli-label-a-list",
            {
                "SNLI/x/snli_1.0/snli_1.0_train.jsonl": json.dumps(
                    {"sentence1": SECRET, "sentence2": "ok", "gold_label": ["neutral"]}
                )
                + "\n"
            },
            "SNLI/x/snli_1.0/snli_1.0_train.jsonl",
            1,
            "snli",
        ),
        (
            "genia-offsets-not-numbers",
            {
                "GENIA/x/genia/train.json": json.dumps(
                    {"doc_key": "d1", "sentences": [SECRET.split()], "ner": [[["0", "1", "protein"]]]}
                )
                + "\n"
            },
            "GENIA/x/genia/train.json",
            1,
            "genia",
        ),
        (
            "pico-participants-not-an-object",
            {
                "EBM-NLP-PICO/x/docs/9.txt": f"{SECRET}.\n",
                "EBM-NLP-PICO/x/annotations/train/PICO-annos-crowdsourcing-agg.json": (
                    '{"docid": "9", "Participants": [[0, 9]]}\n'
                ),
            },
            "EBM-NLP-PICO/x/annotations/train/PICO-annos-crowdsourcing-agg.json",
            1,
            "pico_data",
        ),
        (
            "nli4ct-statement-not-an-object",
            {"NLI4CT-SemEval2024/x/training_data/train.json": json.dumps({"u1": SECRET})},
            "NLI4CT-SemEval2024/x/training_data/train.json",
            "statement 'u1'",
            "nli4ct",
        ),
        (
            "trialstop-not-utf8",
            {
                "TrialStop/x/data/stopped_predictions_x.tsv": (
                    f"{SECRET}\tnan\tNCT1\tCovid19\n{SECRET}\tnan\tNCT2\tCovid19\n".encode()
                    + b"caf\xe9\t\tNCT3\tCovid19\n"
                )
            },
            "TrialStop/x/data/stopped_predictions_x.tsv",
            3,
            "trialstop",
        ),
        (
            "trialstop-class-holds-text",
            {"TrialStop/x/data/stopped_predictions_x.tsv": f"Stopped.\tnan\tNCT1\t{SECRET}\n"},
            "TrialStop/x/data/stopped_predictions_x.tsv",
            1,
            "trialstop",
        ),
        (
            "aci-bench-header-only",
            {"ACI-bench/x/data/challenge_data/train.csv": "dataset,encounter_id,dialogue,note\n"},
            "ACI-bench/x/data/challenge_data/train.csv",
            None,
            "aci_bench",
        ),
        (
            "mtsamples-field-past-the-csv-limit",
            {"MTSamples/x/mtsamples.csv": f'0,a,Urology,s,"{SECRET}",k\n1,a,Urology,s,"{"x" * 140_000}",k\n'},
            "MTSamples/x/mtsamples.csv",
            2,
            "mtsamples",
        ),
        (
            "pubtator-text-line-with-a-tab",
            {
                "tmVar/x/corpora/original/tmVar/train.PubTator.txt": (
                    f"1|t|{SECRET}\n1|a|{SECRET}.\n{SECRET}\t{SECRET}\t{SECRET}\n"
                )
            },
            "tmVar/x/corpora/original/tmVar/train.PubTator.txt",
            3,
            "tmvar",
        ),
        (
            "stsb-score-nan",
            {"STS-B/x/data/stsbenchmark/sts-train.csv": f"main\tx\t2012\t1\tnan\t{SECRET}\tok\n"},
            "STS-B/x/data/stsbenchmark/sts-train.csv",
            1,
            "stsb",
        ),
        (
            "pubmed-article-not-strings",
            {
                "PubMed-summarization/x/pubmed-dataset/train.txt": json.dumps(
                    {"article_id": "a", "article_text": [SECRET, 4], "abstract_text": ["<S> ok </S>"]}
                )
                + "\n"
            },
            "PubMed-summarization/x/pubmed-dataset/train.txt",
            1,
            "pubmed_summ",
        ),
        (
            "smoking-status-holds-text",
            {
                "i2b2-2006-smoking/x/smokers_surrogate_train_all_version2.xml": (
                    f'<ROOT>\n<RECORD ID="1">\n<SMOKING STATUS="{SECRET}"/>\n<TEXT>{SECRET}</TEXT>\n'
                    "</RECORD>\n</ROOT>\n"
                )
            },
            "i2b2-2006-smoking/x/smokers_surrogate_train_all_version2.xml",
            2,
            "i2b2_2006_smoking",
        ),
    ]
    + [
        (
            f"clinical-ie-status-{name}",
            {
                "ClinicalIE/x/medication_status/test.csv": (
                    "snippet,active_medications,discontinued_medications,neither_medications\n"
                    f'"{SECRET}.",[],[],"{names}"\n'
                )
            },
            "ClinicalIE/x/medication_status/test.csv",
            2,
            "clinical_ie",
        )
        for name, names in (("5000-digit-integer", f"[{'9' * 5000}]"), ("nested-50k-deep", "[" * 50_000 + "]" * 50_000))
    ]
    + [
        (
            "clinical-ie-annotations-a-set-of-lists",
            {
                "ClinicalIE/x/medication_attr/test.csv": (
                    f'snippet,annotations\n"{SECRET}.","{{[0, 9, \'Medication1\']}}"\n'
                )
            },
            "ClinicalIE/x/medication_attr/test.csv",
            2,
            "clinical_ie",
        ),
    ]
)


@pytest.mark.parametrize("files, named, at, source", [pytest.param(*case[1:], id=case[0]) for case in INSTRUCT_CASES])
def test_build_instruct_names_a_malformed_source(tmp_path, capsys, files, named, at, source):
    raw, out = write_tree(tmp_path / "raw", files), tmp_path / "out"
    before = checksums(raw)
    result = run_in_process(["build-instruct", "--raw-dir", raw, "--out", out], capsys)
    assert_clean_failure(
        result, "data_builders build-instruct", names=[place(raw, named, at)], secrets=[SECRET, "Zumbrota"]
    )
    assert checksums(raw) == before and not hidden_leftovers(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())  # the other sources are built; this one has no file
    assert manifest[source]["error"] and not (out / f"{source}.jsonl").exists()


@pytest.mark.parametrize(
    "files, named, at, source",
    [pytest.param(*case[1:], id=case[0]) for case in INSTRUCT_CASES if case[0] not in IN_A_LABEL_COLUMN],
)
def test_build_instruct_never_shows_even_a_short_text(tmp_path, capsys, files, named, at, source):
    raw, out = write_tree(tmp_path / "raw", with_short_secret(files)), tmp_path / "out"
    result = run_in_process(["build-instruct", "--raw-dir", raw, "--out", out], capsys)
    assert_clean_failure(result, "data_builders build-instruct", names=[place(raw, named, at)], secrets=[SHORT])
    assert SHORT not in (out / "manifest.json").read_text()


SNLI = {
    "SNLI/x/snli_1.0/snli_1.0_train.jsonl": json.dumps(
        {"sentence1": "A dog runs.", "sentence2": "An animal moves.", "gold_label": "entailment"}
    )
    + "\n"
}


@pytest.mark.parametrize("out", ["file", "foreign", "raw", "above-raw"])
def test_build_instruct_never_replaces_what_it_did_not_make(tmp_path, capsys, out):
    raw = write_tree(tmp_path / "raw", SNLI)
    write_tree(tmp_path, {"file": "my notes\n", "foreign/snli.jsonl": "my own records\n"})
    target = {"raw": raw, "above-raw": tmp_path}.get(out, tmp_path / out)
    before = checksums(tmp_path)
    result = run_in_process(["build-instruct", "--raw-dir", raw, "--out", target], capsys)
    assert_clean_failure(result, "data_builders build-instruct", names=[f"--out {target}"])
    assert checksums(tmp_path) == before and not hidden_leftovers(tmp_path)


def test_build_instruct_reports_an_instance_the_format_refuses(tmp_path, capsys):
    """A BRAT entity over white space passes the reader, but no record can ask for an empty span."""
    raw = write_tree(
        tmp_path / "raw",
        {
            "n2c2-2018-ade/x/train/100.txt": f" {SHORT} took quorvexan.\n",
            "n2c2-2018-ade/x/train/100.ann": "T1\tDrug 0 1\t \n",
        },
    )
    result = run_in_process(["build-instruct", "--raw-dir", raw, "--out", tmp_path / "out"], capsys)
    assert_clean_failure(
        result,
        "data_builders build-instruct",
        secrets=[SHORT],
        names=["n2c2_2018_ade instance 'n2c2_2018_ade-100-0': spans[0] is empty (white space only)"],
    )
    assert written_by(tmp_path / "out") == instruct_build.TOOL


def test_a_source_reader_bug_is_a_traceback_and_stored_nowhere(tmp_path, capsys, monkeypatch):
    """A reader's ValueError (a bug) quoting the release must neither pass for bad input nor reach manifest.json."""

    def buggy(source, paths):
        raise ValueError(f"invalid literal for int() with base 10: '{SECRET}'")
        yield

    raw = write_tree(tmp_path / "raw", SNLI)
    monkeypatch.setitem(SOURCES, "snli", SOURCES["snli"]._replace(build=buggy))
    with pytest.raises(ValueError, match="invalid literal for int"):
        main(["build-instruct", "--raw-dir", str(raw), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists() and not hidden_leftovers(tmp_path)


def test_build_instruct_with_no_release_file_writes_nothing(tmp_path, capsys):
    raw = write_tree(tmp_path / "raw", {"SNLI/readme.txt": "downloads go here\n"})
    result = run_in_process(["build-instruct", "--raw-dir", raw, "--out", tmp_path / "out"], capsys)
    assert_clean_failure(result, "data_builders build-instruct", names=[f"--raw-dir {raw}"])
    assert not (tmp_path / "out").exists()


def test_build_instruct_on_a_full_disk_leaves_nothing(tmp_path, capsys, monkeypatch):
    raw = write_tree(tmp_path / "raw", SNLI)
    fail_writes(monkeypatch)
    result = run_in_process(["build-instruct", "--raw-dir", raw, "--out", tmp_path / "out"], capsys)
    assert_clean_failure(result, "data_builders build-instruct", names=["No space left on device"])
    assert not (tmp_path / "out").exists() and not hidden_leftovers(tmp_path)


# ---------------------------------------------------------------------------------------------
# mix


@pytest.fixture
def inputs(tmp_path):
    """A built folder (one NLI source), a recipe and a built evaluation folder: a mix's three inputs."""
    built = tmp_path / "built"
    records = [
        make_record(
            "nli",
            id=f"snli-{k}",
            dataset="snli",
            split="train",
            premise=f"Premise {k}.",
            hypothesis="A claim.",
            options=["entailment", "contradiction"],
            answer="entailment",
        )
        for k in range(4)
    ]
    write_records(built / "snli.jsonl", records)
    write_tree(
        tmp_path,
        {
            "built/manifest.json": json.dumps({"snli": {"domain": "general", "counts": {"nli": 4}}}),
            "recipe.toml": "[groups.nli]\ntasks = ['nli']\n",
            "eval/gad/dev.jsonl": "",
        },
    )
    write_records(tmp_path / "eval" / "gad" / "dev.jsonl", records[:1])
    return tmp_path


def mix_args(root, **options):
    """`mix` of the inputs below `root`; `options` (out=..., total=...) replace or add arguments."""
    args = {
        "built": root / "built",
        "recipe": root / "recipe.toml",
        "out": root / "mix.jsonl",
        "exclude_eval": root / "eval",
    }
    return ["mix", *[x for key, value in {**args, **options}.items() for x in (f"--{key.replace('_', '-')}", value)]]


@pytest.mark.parametrize(
    "out, named",
    [
        ("recipe.toml", "--out"),
        ("built/snli.jsonl", "--out"),
        ("built/mix.jsonl", "--out"),
        ("eval/gad/dev.jsonl", "--out"),
        ("eval/mix.jsonl", "--out"),
        ("built", "--out"),
    ],
)
def test_mix_never_writes_over_or_into_its_inputs(inputs, capsys, out, named):
    before = checksums(inputs)
    result = run_in_process(mix_args(inputs, out=inputs / out), capsys)
    assert_clean_failure(result, "data_builders mix", names=[f"{named} {inputs / out}"])
    assert checksums(inputs) == before and not hidden_leftovers(inputs)


def test_mix_replaces_its_own_earlier_mix_but_not_a_users_file(inputs, capsys):
    assert run_in_process(mix_args(inputs), capsys).returncode == 0
    assert run_in_process(mix_args(inputs, seed=7), capsys).returncode == 0  # its own: FILE.counts.json beside it
    (inputs / "notes.jsonl").write_text("my notes\n")
    before = checksums(inputs)
    result = run_in_process(mix_args(inputs, out=inputs / "notes.jsonl"), capsys)
    assert_clean_failure(result, "data_builders mix", names=[f"--out {inputs / 'notes.jsonl'}", "not an earlier mix"])
    assert checksums(inputs) == before and not hidden_leftovers(inputs)


@pytest.mark.parametrize(
    "change, named",
    [
        ({"built/manifest.json": '{"snli": '}, "built/manifest.json:"),
        ({"built/manifest.json": '{"snli": {"domain": "space"}}'}, "built/manifest.json:"),
        ({"built/snli.jsonl": f'{{"id": "{SECRET}"}}\n'}, "built/snli.jsonl:1:"),
        ({"recipe.toml": "[groups]\nnli = 3\n"}, "recipe.toml:"),
        ({"recipe.toml": "[groups.nli]\ntasks = 'nli'\n"}, "recipe.toml:"),
        ({"recipe.toml": "caps = 3\n[groups.nli]\ntasks = ['nli']\n"}, "recipe.toml:"),
        ({"recipe.toml": b"[groups.nli]\ntasks = ['nli\xff']\n"}, "recipe.toml:"),
        ({"recipe.toml": "[groups.nli]\ntasks = ['ner']\n"}, "recipe.toml:"),
        ({"eval/gad/dev.jsonl": "not json\n"}, "eval/gad/dev.jsonl:1:"),
        (
            {"built/manifest.json": '{"snli": {"domain": "general", "counts": {"nli": ' + "9" * 5000 + "}}}"},
            "built/manifest.json:",
        ),
        ({"built/manifest.json": "[" * 100_000 + "]" * 100_000}, "built/manifest.json:"),
        ({"built/manifest.json": b'{"snli": {"domain": "g\xe9n\xe9ral"}}'}, "built/manifest.json:"),
        ({"recipe.toml": "[groups.nli]\ntasks = ['nli']\nx = " + "[" * 100_000 + "]" * 100_000 + "\n"}, "recipe.toml:"),
        ({"recipe.toml": "[groups.nli]\ntasks = ['nli']\nx = " + "9" * 5000 + "\n"}, "recipe.toml:"),
    ],
)
def test_mix_names_a_malformed_input(inputs, capsys, change, named):
    write_tree(inputs, change)
    before = checksums(inputs)
    result = run_in_process(mix_args(inputs), capsys)
    assert_clean_failure(result, "data_builders mix", names=[f"{inputs / named}"], secrets=[SECRET])
    assert checksums(inputs) == before and not (inputs / "mix.jsonl").exists()


@pytest.mark.parametrize(
    "option, value, named",
    [
        ("total", 0, "--total 0"),
        ("total", -3, "--total -3"),
        ("exclude_eval", "empty", "--exclude-eval"),
        ("built", "eval", "--built"),
        ("recipe", "no-such-recipe", "--recipe"),
    ],
)
def test_mix_refuses_arguments_that_would_mix_nothing_or_the_wrong_thing(inputs, capsys, option, value, named):
    (inputs / "empty").mkdir()
    result = run_in_process(mix_args(inputs, **{option: value if option == "total" else inputs / value}), capsys)
    assert_clean_failure(result, "data_builders mix", names=[named])
    assert not (inputs / "mix.jsonl").exists()


def test_mix_on_a_full_disk_leaves_nothing(inputs, capsys, monkeypatch):
    fail_writes(monkeypatch)
    result = run_in_process(mix_args(inputs), capsys)
    assert_clean_failure(result, "data_builders mix", names=["No space left on device"])
    assert not (inputs / "mix.jsonl").exists() and not hidden_leftovers(inputs)


def test_demo_corpus_never_replaces_a_file(tmp_path, capsys):
    write_tree(tmp_path, {"raw": "my notes\n"})
    result = run_in_process(["--out", tmp_path / "raw"], capsys, demo.corpus.main)
    assert_clean_failure(result, "demo.corpus", names=[f"--out {tmp_path / 'raw'}"])
    assert (tmp_path / "raw").read_text() == "my notes\n" and not hidden_leftovers(tmp_path)


@pytest.mark.parametrize(
    "cli, argv, script",
    [
        (main, ["build", "--raw-dir", "RAW", "--out", "OUT", "--only", "nope"], "data_builders build"),
        (main, ["build-instruct", "--raw-dir", "RAW"], "data_builders build-instruct"),
        (main, ["mix", "--built", "B", "--recipe", "full", "--out", "M", "--seed", "x"], "data_builders mix"),
        (main, ["mix", "--built", "B", "--recipe", "full", "--out", "M", "--total", "x"], "data_builders mix"),
        (demo.corpus.main, ["--out", "RAW", "--seed", "x"], "demo.corpus"),
    ],
)
def test_argument_errors_start_like_every_other_error_of_the_command(capsys, cli, argv, script):
    """argparse's usage errors and the command's own errors share one prefix, so one grep finds both."""
    with pytest.raises(SystemExit) as e:
        cli(argv)
    result = SimpleNamespace(returncode=e.value.code, stdout="", stderr=capsys.readouterr().err)
    assert_clean_failure(result, script, names=["argument"])


# ---------------------------------------------------------------------------------------------
# the real command lines


def test_the_command_lines_fail_the_same_way(tmp_path):
    """One run of each command as a user types it (the in-process cases above cover the rest)."""
    raw = write_tree(
        tmp_path / "raw",
        {
            "biosses/dev.tsv": f"pair_id\tsent1\tsent2\tscore\n1\tok\tok\t3\n2\t{SECRET}\tok\tnan\n",
            **SNLI,
            "SNLI/x/snli_1.0/snli_1.0_train.jsonl": f'{{"sentence1": "{SECRET}"}}\n',
        },
    )
    write_tree(tmp_path, {"instruct": "my notes\n"})
    before = checksums(raw, tmp_path / "instruct")
    build = run_command(["-m", "data_builders", "build", "--raw-dir", raw, "--out", tmp_path / "eval"])
    assert_clean_failure(build, "data_builders build", names=[f"{raw / 'biosses/dev.tsv'}:3:"], secrets=[SECRET])
    instruct = run_command(["-m", "data_builders", "build-instruct", "--raw-dir", raw, "--out", tmp_path / "instruct"])
    assert_clean_failure(instruct, "data_builders build-instruct", names=[f"--out {tmp_path / 'instruct'}"])
    instruct = run_command(["-m", "data_builders", "build-instruct", "--raw-dir", raw, "--out", tmp_path / "built"])
    assert_clean_failure(
        instruct,
        "data_builders build-instruct",
        names=[f"{raw / 'SNLI/x/snli_1.0/snli_1.0_train.jsonl'}:1:"],
        secrets=[SECRET],
    )
    manifest = (tmp_path / "built" / "manifest.json").read_bytes()
    mix = run_command(
        [
            "-m",
            "data_builders",
            "mix",
            "--built",
            tmp_path / "built",
            "--recipe",
            "full",
            "--out",
            tmp_path / "built" / "manifest.json",
        ]
    )
    assert_clean_failure(mix, "data_builders mix", names=[f"--out {tmp_path / 'built' / 'manifest.json'}"])
    assert (tmp_path / "built" / "manifest.json").read_bytes() == manifest
    assert checksums(raw, tmp_path / "instruct") == before
    assert not (tmp_path / "eval").exists() and not hidden_leftovers(tmp_path)
