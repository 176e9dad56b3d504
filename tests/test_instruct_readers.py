"""Release-format readers on malformed files: a `file:line` error, no text quoted, nothing written."""

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_builders.instruct.bioc import read_bioc
from data_builders.instruct.instances import line_window, note_pieces
from data_builders.instruct.pubtator import read_pubtator
from data_builders.instruct.tables import csv_rows
from data_builders.readers import ReleaseError, read_conll, read_jsonl
from helpers import build_edited

RAW = Path(__file__).parent / "fixtures" / "instruct" / "raw"
SECRET = "Zebediah Quist"  # stands for clinical text: it must never reach an error message


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def raises_at(location, call):
    with pytest.raises(ReleaseError) as e:
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
    path = write(
        tmp_path,
        "m.xml",
        "<collection>\n<document><id>1</id>\n<passage><offset>0</offset>"
        f"<text>{SECRET} had a fever.</text>\n<annotation id='A'>\n<infon key='type'>Disease</infon>"
        f"<location offset='3' length='5'/><text>fever</text></annotation></passage></document></collection>\n",
    )
    assert "annotation 'A'" in raises_at(f"{path}:4:", lambda: read_bioc(path))


def test_iob_bad_tag(tmp_path):
    path = write(tmp_path, "train.tsv", "a\tO\nb\tSpecies\n")
    with pytest.raises(ReleaseError, match=f"^{path}:2: tag 'Species'"):
        read_conll(path)


def test_json_lines_and_csv(tmp_path):
    path = write(tmp_path, "x.jsonl", '{"a": 1}\n{"a": \n')
    raises_at(f"{path}:2:", lambda: read_jsonl(path))
    path = write(tmp_path, "x.csv", "wrong,header\n")
    raises_at(f"{path}:1:", lambda: csv_rows(path, ("dataset", "encounter_id")))
    path = write(tmp_path, "y.csv", f'dataset,encounter_id\nvirtassist,D1\nvirtassist,"{SECRET}",extra\n')
    raises_at(f"{path}:3:", lambda: csv_rows(path, ("dataset", "encounter_id")))


def test_a_malformed_source_gets_no_file_while_the_others_build(tmp_path):
    entities, manifest = build_edited(
        tmp_path,
        "DrugProt",
        "fx/training/drugprot_training_entities.tsv",
        "\t25\t32\t",
        "\t26\t33\t",
        also=["MTSamples"],
    )  # Aspirin one character right
    assert manifest["drugprot"]["error"] == f"{entities}:3: entity 'T3' does not match the abstract text"
    assert not (tmp_path / "out" / "drugprot.jsonl").exists()
    assert (tmp_path / "out" / "mtsamples.jsonl").exists() and manifest["mtsamples"]["counts"] == {"dc": 1}


def test_undeclared_labels_are_errors_not_silently_dropped(tmp_path):
    path, manifest = build_edited(
        tmp_path,
        "TrialStop",
        "fx/data/stopped_predictions_fixture.tsv",
        "Business_Administrative",
        "Budget",
        ["trialstop"],
    )
    assert manifest["trialstop"]["error"].startswith(f"{path}:3:")
    assert not (tmp_path / "out" / "trialstop.jsonl").exists()


def test_brat_entity_off_its_offsets_and_dangling_reference(tmp_path):
    from data_builders.instruct.brat import read_brat

    write(tmp_path, "n.txt", f"{SECRET} started aspirin.\n")
    ann = write(tmp_path, "n.ann", "T1\tDrug 0 7\taspirin\n")
    assert "entity 'T1' does not match" in raises_at(f"{ann}:1:", lambda: read_brat(ann))
    ann = write(
        tmp_path, "n.ann", f"T1\tDrug {len(SECRET) + 9} {len(SECRET) + 16}\taspirin\nR1\tADE-Drug Arg1:T9 Arg2:T1\n"
    )
    raises_at(f"{ann}:2:", lambda: read_brat(ann))
    ann = write(tmp_path, "n.ann", "T1\tDrug zero 7\taspirin\n")
    raises_at(f"{ann}:1:", lambda: read_brat(ann))


def test_brat_offsets_count_a_crlf_as_two_characters(tmp_path):
    from data_builders.instruct.brat import read_brat

    write(tmp_path, "c.txt", "Patient took aspirin.\r\nThen ibuprofen daily.\r\n")
    ann = write(tmp_path, "c.ann", "T1\tDrug 13 20\taspirin\nT2\tDrug 28 37\tibuprofen\n")
    entities = read_brat(ann).entities
    assert [(e.start, e.end, e.text) for e in entities.values()] == [(13, 20, "aspirin"), (28, 37, "ibuprofen")]


def test_brat_discontinuous_entity_spans_its_fragments(tmp_path):
    from data_builders.instruct.brat import read_brat

    write(tmp_path, "d.txt", "pain in left and right knee\n")
    ann = write(tmp_path, "d.ann", "T1\tProblem 0 12;23 27\tpain in left knee\n")
    entity = read_brat(ann).entities["T1"]
    assert (entity.start, entity.end, entity.text) == (0, 27, "pain in left and right knee")


def test_concept_file_offsets_must_name_the_mention(tmp_path):
    from data_builders.instruct.i2b2_formats import TokenIndex, concept_lines

    con = write(tmp_path, "c.txt.con", 'c="fever" 1:2 1:2||t="problem"\nc="broken\n')
    index = TokenIndex(f"{SECRET} has fever\nand cough")
    assert index.span(con, 1, "1:3", "1:3", "fever") == (len(SECRET) + 5, len(SECRET) + 10)
    assert index.span(con, 1, "2:0", "2:1", "and cough") == (len(SECRET) + 11, len(SECRET) + 20)
    assert "not the annotated mention" in raises_at(f"{con}:1:", lambda: [index.span(con, 1, "1:2", "1:2", "fever")])
    raises_at(f"{con}:1:", lambda: [index.span(con, 1, "3:0", "3:0", "fever")])
    raises_at(f"{con}:2:", lambda: concept_lines(con))


def test_standoff_xml_tag_off_its_offsets(tmp_path):
    from data_builders.instruct.i2b2_formats import standoff_xml

    path = write(
        tmp_path,
        "s.xml",
        f"<deIdi2b2>\n<TEXT><![CDATA[{SECRET} is 64]]></TEXT>\n<TAGS>\n"
        f'<AGE id="P0" start="0" end="2" text="64" TYPE="AGE"/>\n</TAGS>\n</deIdi2b2>\n',
    )
    assert "<AGE id='P0'> does not match" in raises_at(f"{path}:4:", lambda: standoff_xml(path))


def test_quoted_multiline_tsv_errors_name_the_line_the_row_starts_on(tmp_path):
    path, manifest = build_edited(
        tmp_path, "CZI-DRSM", "fx/final_data.tsv", "1.3. THERAPEUTICS IN THE CLINIC", "9.9. UNKNOWN", ["czi_drsm"]
    )
    assert manifest["czi_drsm"]["error"].startswith(f"{path}:7: expected declared CATEGORIES")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["ab", "c d", "\n", " ", "efg\n"]), max_size=60), st.data(), st.integers(3, 15))
def test_note_pieces_never_cut_a_span_and_map_back_to_the_text(parts, data, max_chars):
    text = "".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    spans = [{"start": a, "end": b} for a, b in zip(cuts[::2], cuts[1::2]) if text[a:b].strip()]
    pieces = list(note_pieces(text, spans, max_chars))
    for offset, piece in pieces:
        assert text[offset : offset + len(piece)] == piece and piece.strip()
    for span in spans:  # each span lies inside exactly one piece
        assert sum(o <= span["start"] and span["end"] <= o + len(p) for o, p in pieces) == 1
    assert all(o + len(p) < o2 for (o, p), (o2, _) in zip(pieces, pieces[1:]))  # in order, disjoint
    assert "".join(text.split()) == "".join("".join(p.split()) for _, p in pieces)  # nothing lost but space


def test_line_window_covers_whole_lines():
    text = "one\ntwo three\nfour\nfive"
    assert line_window(text, [(4, 7), (14, 18)]) == (4, "two three\nfour")
    assert line_window(text, [(20, 24)]) == (19, "five")


def test_cli_build_exits_2_and_names_the_failed_source(tmp_path, capsys):
    from data_builders.__main__ import main

    raw = tmp_path / "raw"
    shutil.copytree(RAW / "tmVar", raw / "tmVar")
    assert main(["build-instruct", "--raw-dir", str(raw), "--out", str(tmp_path / "ok")]) == 0
    assert "tmvar" in capsys.readouterr().out
    path = raw / "tmVar/fx/corpora/original/tmVar/train.PubTator.txt"
    path.write_text(path.read_text().replace("\t21\t29\t", "\t22\t30\t"))
    assert main(["build-instruct", "--raw-dir", str(raw), "--out", str(tmp_path / "bad")]) == 2
    out, err = capsys.readouterr()
    assert "FAILED" in out
    assert err.endswith(
        f"data_builders build-instruct: error: {path}:3: mention at 22-30 does not match the document text\n"
    )


def test_inline_xml_with_an_undeclared_phi_type(tmp_path):
    path, manifest = build_edited(
        tmp_path,
        "i2b2-2006-deid",
        "fx/deid_surrogate_train_all_version2.xml",
        'TYPE="PATIENT"',
        'TYPE="PERSON"',
        ["i2b2_2006_deid"],
    )
    assert manifest["i2b2_2006_deid"]["error"] == f"{path}:7: undeclared <PHI> TYPE 'PERSON'"
    assert "Lovelace" not in manifest["i2b2_2006_deid"]["error"]


def test_json_statement_missing_its_label(tmp_path):
    path, manifest = build_edited(
        tmp_path,
        "NLI4CT-SemEval2024",
        "fx/training_data/train.json",
        '"Label": "Contradiction"',
        '"Labels": "Contradiction"',
        ["nli4ct"],
    )
    assert manifest["nli4ct"]["error"].startswith(f"{path}: statement 'u2': needs Type, Section_id")
