"""scripts/join_predictions.py: the shares of one run, answered by one engine per GPU, made one folder."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnlu.scoring import completeness

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"model": "m", "backend": "vllm", "dtype": "bfloat16", "shots": 0, "seed": 0, "sampling": {"max_tokens": 8}}


def share(folder, datasets, **changed):
    """An infer.py folder over `datasets` ({dataset: number of records}), every record answered."""
    folder.mkdir(parents=True)
    for dataset, n in datasets.items():
        lines = [json.dumps({"id": f"{dataset}-{i}", "prediction": "(A)"}) for i in range(n)]
        (folder / f"{dataset}.jsonl").write_text("\n".join(lines) + "\n")
    run = {**SETTINGS, **changed, "data": [f"eval/{d}/test.jsonl" for d in datasets], "instances": datasets}
    (folder / "run.json").write_text(json.dumps(run))
    return folder


def join(*args):
    command = [sys.executable, ROOT / "scripts" / "join_predictions.py", *args]
    return subprocess.run(command, capture_output=True, text=True)


def test_shares_join_into_one_run_over_all_their_datasets(tmp_path):
    a = share(tmp_path / "engine-0", {"hoc": 3, "gad": 2})
    b = share(tmp_path / "engine-1", {"ddi": 4})
    assert join(a, b, "--out", tmp_path / "joined").returncode == 0
    joined = tmp_path / "joined"
    run = json.loads((joined / "run.json").read_text())
    assert run["instances"] == {"hoc": 3, "gad": 2, "ddi": 4}
    assert run["data"] == ["eval/hoc/test.jsonl", "eval/gad/test.jsonl", "eval/ddi/test.jsonl"]
    assert {k: run[k] for k in SETTINGS} == SETTINGS
    for dataset, folder in (("hoc", a), ("gad", a), ("ddi", b)):
        assert (joined / f"{dataset}.jsonl").read_bytes() == (folder / f"{dataset}.jsonl").read_bytes()


def test_the_joined_folder_is_complete_for_evaluate(tmp_path):
    a = share(tmp_path / "engine-0", {"hoc": 3})
    b = share(tmp_path / "engine-1", {"gad": 2})
    assert join(a, b, "--out", tmp_path / "joined").returncode == 0
    counts = {d: len((tmp_path / "joined" / f"{d}.jsonl").read_text().splitlines()) for d in ("hoc", "gad")}
    assert counts == {"hoc": 3, "gad": 2}
    found = completeness(tmp_path / "joined", counts)
    assert found["checked"] and not found["incomplete"]


@pytest.mark.parametrize(
    "second, error",
    [
        ({"datasets": {"hoc": 1}}, "hoc was answered in"),
        ({"datasets": {"ddi": 1}, "seed": 1}, "seed differs from"),
        ({"datasets": {"ddi": 1}, "model": "other"}, "model differs from"),
    ],
)
def test_shares_of_two_runs_or_one_dataset_twice_are_refused(tmp_path, second, error):
    a = share(tmp_path / "engine-0", {"hoc": 3})
    b = share(tmp_path / "engine-1", second.pop("datasets"), **second)
    result = join(a, b, "--out", tmp_path / "joined")
    assert result.returncode == 2 and error in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "joined").exists()
