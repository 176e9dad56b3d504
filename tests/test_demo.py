"""The demo (`python -m demo`) end to end on a tiny random model: every stage runs, connects and resumes.

The real demo (SmolLM2-135M, ~12 minutes) is `make demo`; this runs the same script, stages and
scale constants with `--model` pointing at a tiny Llama, so the wiring is checked on every test run.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import byte_tokenizer, tiny_model

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    "write the demo corpus",
    "build evaluation sets",
    "build MNLU-Instruct",
    "mix",
    "baseline inference",
    "fine-tune",
    "merge",
    "fine-tuned inference",
    "merged inference",
    "evaluate",
]


def run_demo(model, out):
    env = {**os.environ, "MNLU_RAW": ""}  # the bundled corpus, whatever the caller's environment
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--model", str(model), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_the_demo_runs_every_stage_and_a_second_run_skips_the_finished_ones(tmp_path):
    model = tmp_path / "tiny"
    tok = byte_tokenizer()
    tiny_model("llama", len(tok)).save_pretrained(model)
    tok.save_pretrained(model)
    out = tmp_path / "demo"

    first = run_demo(model, out)
    assert [line.split(": ")[0][4:] for line in first.splitlines() if line.startswith("=== ")] == STAGES
    assert stage_rows(first) == STAGES  # time and memory of each
    report = (out / "report" / "report.md").read_text()
    assert report in first and "| base | fine-tuned | merged |" in report
    for system in ("base", "fine-tuned", "merged"):  # each answered the first 64 of each of the six dev sets
        for dataset in ("ncbi_disease", "bc5cdr_chem", "gad", "hoc", "bioasq", "biosses"):
            lines = (out / "preds" / system / f"{dataset}.jsonl").read_text().splitlines()
            assert len(lines) == 64 and all(json.loads(line)["split"] == "dev" for line in lines)
    assert json.loads((out / "preds" / "base" / "run.json").read_text())["shots"] == "paper"
    assert json.loads((out / "preds" / "merged" / "run.json").read_text())["shots"] == 0
    mix = (out / "data" / "mix.jsonl").read_text().splitlines()
    metrics = (out / "train" / "metrics.jsonl").read_text().splitlines()
    assert len(mix) == 480 and len(metrics) == 60  # one epoch of the demo recipe, global batch 8
    merge_config = json.loads((out / "merged" / "merge_config.json").read_text())
    assert (merge_config["drop_rate"], merge_config["weights"]) == (0.2, [0.5])

    second = run_demo(model, out)  # finished stages are skipped; infer.py finds nothing left to answer
    assert sum(line.startswith("    done already") for line in second.splitlines()) == 6
    assert report in second and (out / "train" / "metrics.jsonl").read_text().splitlines() == metrics
    assert stage_rows(second) == STAGES  # the earlier run's stages are still reported, from --out/stages.json


def stage_rows(stdout):
    table = stdout[stdout.index("| stage |") :]
    return [row.split(" | ")[0][2:] for row in table.splitlines()[2:-1]]
