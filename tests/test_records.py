"""The record contract: what a valid record is, and errors that name file:line."""

import json

import pytest

from mnlu.records import RecordError, check_record, read_records, write_records
from mnlu.tasks import ner_record, nli_record


def valid_record():
    return nli_record(
        id="r1",
        dataset="mednli",
        split="dev",
        premise="p",
        hypothesis="h",
        options=["entailment", "neutral", "contradiction"],
        answer="neutral",
    )


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda r: r.pop("id"), "'id' must be a non-empty string"),
        (lambda r: r.update(task="ocr"), "unknown task 'ocr'"),
        (lambda r: r.update(messages=[]), "'messages' must be a non-empty list"),
        (lambda r: r["messages"].pop(0), "no user turn"),
        (lambda r: r["messages"][0].update(role="doctor"), r"messages\[0\]"),
        (lambda r: r["gold"].update(letters=["A"]), "do not name the same options"),
        (lambda r: r["gold"].update(letters=["Q"]), "do not name the same options"),
        (lambda r: r.update(gold=[]), "'gold' must be an object"),
    ],
)
def test_broken_records_are_refused_with_the_reason(breakage, message):
    record = valid_record()
    breakage(record)
    with pytest.raises(RecordError, match=message):
        check_record(record, "x.jsonl:7")


def test_span_gold_must_use_listed_labels():
    record = ner_record(
        id="n",
        dataset="d",
        split="dev",
        text="fever",
        labels=["Disease"],
        spans=[{"label": "Disease", "text": "fever", "start": 0, "end": 5}],
    )
    record["gold"]["spans"][0]["label"] = "Gene"
    with pytest.raises(RecordError, match=r"gold.spans\[0\].label 'Gene'"):
        check_record(record)


def test_extra_keys_such_as_predictions_are_kept():
    record = {**valid_record(), "prediction": "(B) neutral", "run": {"model": "m"}}
    assert check_record(record)["prediction"] == "(B) neutral"


def test_write_then_read_gives_the_same_records(tmp_path):
    records = [valid_record(), {**valid_record(), "id": "r2", "note": "ünïcode"}]
    assert write_records(tmp_path / "a" / "dev.jsonl", records) == 2
    assert list(read_records(tmp_path / "a" / "dev.jsonl")) == records


def test_read_errors_name_file_and_line(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text(json.dumps(valid_record()) + "\n\n{not json\n")
    with pytest.raises(RecordError, match=rf"^{path}:3: not valid JSON"):
        list(read_records(path))
    path.write_text(json.dumps(valid_record()) + "\n" + json.dumps({**valid_record(), "split": ""}) + "\n")
    with pytest.raises(RecordError, match=rf"^{path}:2: 'split' must be a non-empty string"):
        list(read_records(path))


def test_a_failed_write_leaves_the_previous_file_untouched(tmp_path):
    path = tmp_path / "dev.jsonl"
    write_records(path, [valid_record()])
    before = path.read_bytes()

    def records_then_crash():
        yield valid_record()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_records(path, records_then_crash())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["dev.jsonl"]
