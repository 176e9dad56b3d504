"""scripts/gpu_check.sh runs every step of the GPU path; its --cpu mode checks the script itself here."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_runs_every_step_and_summarises_them(tmp_path):
    out = tmp_path / "check"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # torchrun
    result = subprocess.run(
        [ROOT / "scripts" / "gpu_check.sh", out, "--cpu"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = (out / "summary.md").read_text()
    steps = ["model", "plan", "train", "resume", "packed", "merge", "infer-hf", "infer-vllm"]
    assert [line.split(" | ")[0].strip("| ") for line in summary.splitlines() if " | ok | " in line] == steps
    assert "largest loss difference after the resume: 0.00e+00" in summary  # resumed bit for bit on the CPU
    assert "train: 2 steps" in summary and "packed: 2 steps" in summary


def test_a_failed_step_is_named_and_the_others_still_run(tmp_path):
    out = tmp_path / "check"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    # a PATH whose python cannot import the project: every step fails, and each is still tried
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text("#!/bin/sh\nexit 3\n")
    (fake / "python").chmod(0o755)
    env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [ROOT / "scripts" / "gpu_check.sh", out, "--cpu"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "| model | **failed** (exit 3, see model.log) |" in result.stdout
    assert "| merge | **failed** (exit 3, see merge.log) |" in result.stdout
