"""evaluate.py on worker processes, reading each file once as it scores it: the same report as in
one process, errors at the same file and line, and a stream of records scored like their list."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bench.score_throughput import prediction_record
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.records import RecordError
from mnlu.scoring import score_dataset, score_file
from mnlu.tasks import qa_record

ROOT = Path(__file__).resolve().parent.parent


def write_jsonl(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def two_systems(root):
    """alpha answers 12 instances of each of the 15 datasets; beta misses some and swaps answers."""
    rng = random.Random(0)
    for dataset in EVAL_DATASETS:
        records = [prediction_record(dataset, i) for i in range(12)]
        write_jsonl(root / "alpha" / f"{dataset}.jsonl", [json.dumps(r) for r in records])
        beta = [{**r, "prediction": records[(i + 1) % 12]["prediction"]} for i, r in enumerate(records)]
        write_jsonl(root / "beta" / f"{dataset}.jsonl", [json.dumps(r) for r in beta if rng.random() < 0.8])
    return root / "alpha", root / "beta"


def evaluate(*argv):
    return subprocess.run([sys.executable, ROOT / "evaluate.py", *map(str, argv)], capture_output=True, text=True)


@pytest.mark.parametrize("compat", [[], ["--compat", "released"]])
def test_worker_processes_give_the_report_of_one_process(tmp_path, compat):
    alpha, beta = two_systems(tmp_path)
    runs = {}
    for workers in (1, 3):
        out = tmp_path / f"report-{workers}"
        result = evaluate(alpha, beta, "--out", out, "--workers", workers, "--bootstrap", 200, *compat)
        assert result.returncode == 0, result.stderr
        files = {name: (out / name).read_text() for name in ("scores.json", "scores.csv", "report.md")}
        runs[workers] = result.stdout.replace(str(out), "OUT"), files
    assert runs[3] == runs[1]
    scores = json.loads(runs[1][1]["scores.json"])
    assert set(scores["systems"]["alpha"]) >= set(EVAL_DATASETS)
    if not compat:  # the released scorer has no intervals
        assert all(scores["systems"]["alpha"][d]["ci"] for d in EVAL_DATASETS)
        assert {row["dataset"] for row in scores["differences"]} >= set(EVAL_DATASETS)  # each paired difference


def qa(i):
    record = qa_record(
        id=f"bioasq-{i}",
        dataset="bioasq",
        split="test",
        question="Does it work?",
        text=f"Study {i}.",
        options=["yes", "no"],
        answer="yes",
        shuffle=False,
    )
    return json.dumps({**record, "prediction": "(A)"})


def test_a_bad_line_is_named_by_its_number_blank_lines_counted(tmp_path):
    path = tmp_path / "bioasq.jsonl"
    write_jsonl(path, [qa(0), "", qa(1), "   ", "{not json", qa(2)])
    with pytest.raises(RecordError, match=r"bioasq\.jsonl:5: not valid JSON"):
        score_file(path)
    write_jsonl(path, [qa(i) for i in range(1500)] + [qa(7)])
    with pytest.raises(RecordError, match=r"bioasq\.jsonl:1501: id 'bioasq-7' repeats line 8"):
        score_file(path)


def test_with_workers_the_first_bad_file_in_order_is_the_one_named(tmp_path):
    folder = tmp_path / "sys"
    write_jsonl(folder / "bioasq.jsonl", [qa(0), qa(1), "[1, 2"])
    # a larger file, started first by the workers, bad from its second line
    write_jsonl(folder / "pubmedqa.jsonl", [qa(0).replace("bioasq", "pubmedqa")] + ["{"] * 3000)
    result = evaluate(folder, "--out", tmp_path / "out", "--workers", 2)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"evaluate.py: error: {folder / 'bioasq.jsonl'}:3: not valid JSON")
    )


@pytest.mark.parametrize("dataset", ["bc5cdr_chem", "ebm_pico", "chemprot", "hoc", "biosses", "pubmedqa"])
def test_a_stream_of_records_scores_like_the_list_of_them(dataset):
    records = [prediction_record(dataset, i) for i in range(40)]
    streamed, listed = score_dataset(dataset, iter(records)), score_dataset(dataset, records)
    assert streamed.pop("units").stats.tolist() == listed.pop("units").stats.tolist()
    assert streamed == listed and streamed["n"] == 40
    assert score_dataset(dataset, iter([])) is None
