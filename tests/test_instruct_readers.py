"""Release-format readers on malformed files: a `file:line` error, no text quoted, nothing written."""

import shutil
from pathlib import Path

import pytest

from data_builders.instruct.bioc import read_bioc
from data_builders.instruct.build import build
from data_builders.instruct.iob import read_iob
from data_builders.instruct.pubtator import read_pubtator
from data_builders.instruct.source import SourceError
from data_builders.instruct.tables import csv_rows, json_lines

RAW = Path(__file__).parent / "fixtures" / "instruct" / "raw"
SECRET = "Zebediah Quist"  # stands for clinical text: it must never reach an error message


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def raises_at(location, call):
    with pytest.raises(SourceError) as e:
        list(call())
    message = str(e.value)
    assert message.startswith(location), message
    assert SECRET not in message
    return message


def test_pubtator_mention_off_its_offsets(tmp_path):
    path = write(tmp_path, "x.PubTator", f"1|t|{SECRET} was seen.\n1|a|Fine.\n1\t0\t4\t{SECRET}\tDisease\tD1\n")
    assert "does not match" in raises_at(f"{path}:3:", lambda: read_pubtator(path))


def test_pubtator_annotation_before_title_and_short_line(tmp_path):
    path = write(tmp_path, "a.PubTator", "1\t0\t4\tword\tDisease\n")
    raises_at(f"{path}:1:", lambda: read_pubtator(path))
    path = write(tmp_path, "b.PubTator", "1|t|Title.\n1|a|Text.\n1\tAssociation\n")
    raises_at(f"{path}:3:", lambda: read_pubtator(path))


def test_bioc_truncated_xml_and_misplaced_annotation(tmp_path):
    path = write(tmp_path, "t.xml", "<collection>\n<document>\n<id>1</id>\n<passage>\n")
    assert "not well-formed" in raises_at(f"{path}:5:", lambda: read_bioc(path))
    path = write(tmp_path, "m.xml", "<collection>\n<document><id>1</id>\n<passage><offset>0</offset>"
                 f"<text>{SECRET} had a fever.</text>\n<annotation id='A'>\n<infon key='type'>Disease</infon>"
                 f"<location offset='3' length='5'/><text>fever</text></annotation></passage></document></collection>\n")
    assert "annotation A" in raises_at(f"{path}:4:", lambda: read_bioc(path))


def test_iob_bad_tag(tmp_path):
    path = write(tmp_path, "train.tsv", "a\tO\nb\tSpecies\n")
    raises_at(f"{path}:2:", lambda: read_iob(path))


def test_json_lines_and_csv(tmp_path):
    path = write(tmp_path, "x.jsonl", '{"a": 1}\n{"a": \n')
    raises_at(f"{path}:2:", lambda: json_lines(path))
    path = write(tmp_path, "x.csv", "wrong,header\n")
    raises_at(f"{path}:1:", lambda: csv_rows(path, ("dataset", "encounter_id")))
    path = write(tmp_path, "y.csv", f'dataset,encounter_id\nvirtassist,D1\nvirtassist,"{SECRET}",extra\n')
    raises_at(f"{path}:3:", lambda: csv_rows(path, ("dataset", "encounter_id")))


def test_a_malformed_source_gets_no_file_while_the_others_build(tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(RAW / "MTSamples", raw / "MTSamples")
    shutil.copytree(RAW / "DrugProt", raw / "DrugProt")
    entities = raw / "DrugProt/fx/training/drugprot_training_entities.tsv"
    lines = entities.read_text().splitlines()
    lines[2] = lines[2].replace("\t25\t32\t", "\t26\t33\t")  # Aspirin moved one character right
    entities.write_text("\n".join(lines) + "\n")
    manifest = build(raw, tmp_path / "out")
    assert manifest["drugprot"]["error"] == f"{entities}:3: entity T3 does not match the abstract text"
    assert not (tmp_path / "out" / "drugprot.jsonl").exists()
    assert (tmp_path / "out" / "mtsamples.jsonl").exists() and manifest["mtsamples"]["counts"] == {"dc": 1}
    assert f"{entities}:3:" in capsys.readouterr().err


def test_undeclared_labels_are_errors_not_silently_dropped(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(RAW / "TrialStop", raw / "TrialStop")
    path = raw / "TrialStop/fx/data/stopped_predictions_fixture.tsv"
    path.write_text(path.read_text().replace("Business_Administrative", "Budget"))
    manifest = build(raw, tmp_path / "out", ["trialstop"])
    assert manifest["trialstop"]["error"].startswith(f"{path}:3:")
    assert not (tmp_path / "out" / "trialstop.jsonl").exists()
