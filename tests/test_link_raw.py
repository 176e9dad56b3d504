"""scripts/link_raw.py: a copy of the releases organised its own way, laid out for both builders."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data_builders.__main__ import main as builders
from mnlu.cli import InputError
from mnlu.fileio import MARKER

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(ROOT / "scripts"))
from link_raw import link_raw  # noqa: E402


@pytest.fixture
def staged(tmp_path):
    """A staging like ../shared/data: raw/<Corpus>/<origin>/... and eval_release_dirs.json beside raw/."""
    raw = tmp_path / "data" / "raw"
    shutil.copytree(
        FIXTURES / "release" / "ncbi_disease", raw / "NCBI-disease" / "someone_BLURB" / "data" / "NCBI-disease"
    )
    shutil.copytree(FIXTURES / "release" / "ddi", raw / "DDI-2013" / "someone_BLURB" / "data" / "DDI")
    shutil.copytree(FIXTURES / "instruct" / "raw" / "LINNAEUS", raw / "LINNAEUS")
    (raw / "_licenses").mkdir()
    (tmp_path / "data" / "eval_release_dirs.json").write_text(
        json.dumps(
            {
                "_doc": "dataset id -> folder",
                "ncbi_disease": "raw/NCBI-disease/someone_BLURB/data/NCBI-disease",
                "ddi": "raw/DDI-2013/someone_BLURB/data/DDI",
            }
        )
    )
    return raw


def test_links_evaluation_ids_and_corpus_folders_and_both_builders_read_them(staged, tmp_path):
    out = tmp_path / "links"
    link_raw(staged, staged.parent / "eval_release_dirs.json", out)
    links = [p for p in out.iterdir() if p.name != MARKER]
    assert sorted(p.name for p in links) == ["DDI-2013", "LINNAEUS", "NCBI-disease", "ddi", "ncbi_disease"]
    assert all(p.is_symlink() for p in links)
    assert (out / "ncbi_disease").resolve() == (staged / "NCBI-disease/someone_BLURB/data/NCBI-disease").resolve()
    assert (out / "ddi").resolve() == (staged / "DDI-2013").resolve()  # the whole copy: the XML lies below it too

    assert (
        builders(["build", "--raw-dir", str(out), "--out", str(tmp_path / "eval"), "--only", "ncbi_disease", "ddi"])
        == 0
    )
    assert (tmp_path / "eval" / "ncbi_disease" / "dev.jsonl").exists() and (
        tmp_path / "eval" / "ddi" / "dev.jsonl"
    ).exists()
    builders(["build-instruct", "--raw-dir", str(out), "--out", str(tmp_path / "instruct")])
    manifest = json.loads((tmp_path / "instruct" / "manifest.json").read_text())
    assert manifest["linnaeus"]["counts"] == {"ner": 2}  # the fixture's two sentences


def test_running_again_replaces_links_and_never_touches_a_real_folder(staged, tmp_path):
    out = tmp_path / "links"
    link_raw(staged, staged.parent / "eval_release_dirs.json", out)
    link_raw(staged, staged.parent / "eval_release_dirs.json", out)  # idempotent
    os.unlink(out / "LINNAEUS")
    (out / "LINNAEUS").mkdir()
    with pytest.raises(InputError, match="LINNAEUS: exists and is not a link"):
        link_raw(staged, staged.parent / "eval_release_dirs.json", out)


def test_a_mapping_to_a_missing_folder_is_an_error_naming_it(staged, tmp_path):
    mapping = staged.parent / "eval_release_dirs.json"
    mapping.write_text(json.dumps({"bc2gm": "raw/BC2GM/nowhere"}))
    command = [sys.executable, str(ROOT / "scripts" / "link_raw.py"), str(staged), "--out", str(tmp_path / "links")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and "bc2gm -> " in result.stderr and "do not exist" in result.stderr
    assert not (tmp_path / "links").exists()


@pytest.mark.parametrize("dataset", ["../outside", "/tmp/abs", "a/b"])
def test_a_dataset_id_that_is_a_path_is_refused(staged, tmp_path, dataset):
    """Each id becomes a link's name in --out: `../outside` would place (and later unlink) links elsewhere."""
    mapping = staged.parent / "eval_release_dirs.json"
    mapping.write_text(json.dumps({dataset: "raw/LINNAEUS"}))
    with pytest.raises(InputError, match="dataset ids must be plain names"):
        link_raw(staged, mapping, tmp_path / "links")
    assert not (tmp_path / "links").exists() and not (tmp_path / "outside").exists()


def test_a_raw_folder_already_named_by_dataset_ids_needs_no_mapping(tmp_path):
    raw = tmp_path / "raw"  # RAW/<dataset id>/ as docs/DATA.md describes, corpora beside them
    shutil.copytree(FIXTURES / "release" / "ncbi_disease", raw / "ncbi_disease")
    shutil.copytree(FIXTURES / "instruct" / "raw" / "LINNAEUS", raw / "LINNAEUS")
    command = [sys.executable, str(ROOT / "scripts" / "link_raw.py"), str(raw), "--out", str(tmp_path / "links")]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    out = tmp_path / "links"
    assert sorted(p.name for p in out.iterdir() if p.name != MARKER) == ["LINNAEUS", "ncbi_disease"]
    assert builders(["build", "--raw-dir", str(out), "--out", str(tmp_path / "eval"), "--only", "ncbi_disease"]) == 0
    assert (tmp_path / "eval" / "ncbi_disease" / "dev.jsonl").exists()


def test_a_raw_folder_with_neither_layout_is_refused(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURES / "instruct" / "raw" / "LINNAEUS", raw / "LINNAEUS")
    command = [sys.executable, str(ROOT / "scripts" / "link_raw.py"), str(raw), "--out", str(tmp_path / "links")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and "no folder named by an evaluation dataset id" in result.stderr
    assert not (tmp_path / "links").exists()
