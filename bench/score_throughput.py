"""How fast evaluate.py scores predictions: a million by default, against reading them as JSON.

Writes a synthetic prediction folder with the 15 evaluation datasets in the proportions of the
paper's test sets (distinct texts and spans per instance; right, wrong and unparseable answers),
then runs, each in its own process and interleaved `--repeats` times: the reference (a Python
that reads every line of the folder with json.loads) and `evaluate.py` on the folder as a user
runs it (reading, checking, scoring, 1000 bootstrap resamples, the report). Prints the median
wall seconds, CPU seconds (all processes, workers included) and peak resident memory (the sum
over the process and its workers, sampled every 10 ms) of each, and evaluate.py's ratios to
the reference.

    python bench/score_throughput.py [--n 1000000] [--repeats 3] [--dir /tmp/mnlu-bench-preds]
"""

import argparse
import contextlib
import csv
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from mnlu.benchmarks import EVAL_DATASETS
from mnlu.report import PAPER_TABLE
from mnlu.tasks import dc_record, ner_record, nli_record, qa_record, re_record, sts_record

ROOT = Path(__file__).resolve().parent.parent
HOC = [
    "sustaining proliferative signaling",
    "resisting cell death",
    "inducing angiogenesis",
    "genomic instability",
    "tumor promoting inflammation",
    "evading growth suppressors",
]


def prediction_record(dataset, i):
    """One instance of `dataset` with a model answer: right, half right, wrong or unparseable by turn."""
    task, kind, rid = EVAL_DATASETS[dataset].task, i % 4, f"{dataset}-{i}"
    if task == "ner":
        labels = ["Participants", "Interventions", "Outcomes"] if dataset == "ebm_pico" else ["Entity"]
        words = [f"term{i}x{j}" for j in range(6)]
        text = f"In study {i} the {words[0]} {words[1]} group was given {words[2]} and showed {words[3]} {words[4]}."
        spans = [
            {"label": labels[j % len(labels)], "text": w, "start": text.index(w), "end": text.index(w) + len(w)}
            for j, w in enumerate(words[:5])
        ]
        record = ner_record(id=rid, dataset=dataset, split="test", text=text, labels=labels, spans=spans)
        answer = record["messages"][1]["content"]
        prediction = [answer, answer.replace(words[1], f"{words[1]} group"), f"{labels[0]}: {words[5]}", "no idea"][
            kind
        ]
    elif task == "re":
        options = ["upregulator", "downregulator", "agonist", "no relation"]
        record = re_record(
            id=rid,
            dataset=dataset,
            split="test",
            text=f"Chem{i} inhibits gene{i}.",
            type_1="Chemical",
            span_1=f"Chem{i}",
            type_2="Gene",
            span_2=f"gene{i}",
            options=options,
            answer=options[i % 4],
            negative="no relation",
        )
        prediction = [record["messages"][1]["content"], "(A)", "(D) no relation", "unsure"][kind]
    elif task == "dc":
        record = dc_record(
            id=rid,
            dataset=dataset,
            split="test",
            text=f"Abstract {i} about tumours.",
            what="the cancer hallmark",
            options=HOC,
            answers=HOC[i % 3 : i % 3 + 2],
            multi_label=True,
        )
        prediction = [record["messages"][1]["content"], "(A)\n(B)", "None", "???"][kind]
    elif task == "sts":
        record = sts_record(
            id=rid,
            dataset=dataset,
            split="test",
            sentence_1=f"Sentence {i}.",
            sentence_2="Another.",
            criteria=[(v, f"similarity {v}") for v in range(5)],
            score=(i * 0.37) % 4,
        )
        prediction = [record["messages"][1]["content"], "(B)", "(E) similarity 4", "similar"][kind]
    else:
        maker = qa_record if task == "qa" else nli_record
        fields = (
            {"question": f"Does treatment {i} work?", "text": f"Trial {i} found a benefit."}
            if task == "qa"
            else {"premise": f"Patient {i} has a fever", "hypothesis": "The patient is febrile."}
        )
        record = maker(id=rid, dataset=dataset, split="test", options=["yes", "no", "maybe"], answer="yes", **fields)
        prediction = [record["messages"][1]["content"], "(A)", "(B)", "maybe not"][kind]
    return {**record, "prediction": prediction}


def write_folder(folder, n):
    """n prediction records spread over the datasets like the paper's test-set sizes."""
    table = [line for line in PAPER_TABLE.read_text().splitlines() if not line.startswith("#")]
    counts = {
        row["dataset"]: int(row["num_instances"]) for row in csv.DictReader(table) if row["dataset"] in EVAL_DATASETS
    }
    total = sum(counts.values())
    for dataset in EVAL_DATASETS:
        with open(folder / f"{dataset}.jsonl", "w", encoding="utf-8") as f:
            for i in range(max(1, round(n * counts[dataset] / total))):
                f.write(json.dumps(prediction_record(dataset, i)) + "\n")


REFERENCE = """
import json, sys
from pathlib import Path
paths = sorted(Path(sys.argv[1]).glob("*.jsonl"))
print(sum(1 for path in paths for line in open(path, encoding="utf-8") if json.loads(line)))
"""  # the least any scorer does: every line read as JSON


def measured(argv):
    """Run `argv`; its wall seconds and the peak of its and its children's summed RSS, in GiB."""
    start = time.perf_counter()
    process = psutil.Popen(argv, stdout=subprocess.DEVNULL)
    peak = 0
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):  # a worker may end between listing and reading it
            peak = max(peak, sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]))
        time.sleep(0.01)
    wall = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"{' '.join(map(str, argv))} failed with exit status {process.returncode}")
    return wall, peak / 2**30


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of predictions (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, interleaved (default 3)")
    parser.add_argument("--dir", type=Path, help="where to write the synthetic predictions (default: a temp folder)")
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="mnlu-bench-"))
    folder = root / "bench_system"
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    write_folder(folder, args.n)
    print(f"wrote {args.n:,} predictions to {folder} in {time.perf_counter() - start:.1f}s")

    commands = {
        "reference: json.loads every line": [sys.executable, "-c", REFERENCE, folder],
        "evaluate.py": [sys.executable, ROOT / "evaluate.py", folder, "--out", root / "report"],
    }
    runs = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, peak = measured(argv)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            runs[name].append((wall, cpu, peak))
    medians = {name: [statistics.median(column) for column in zip(*rows)] for name, rows in runs.items()}
    print(f"{f'median of {args.repeats} runs':<40}{'wall s':>9}{'CPU s':>9}{'peak RSS GiB':>13}{'records/s':>12}")
    for name, (wall, cpu, peak) in medians.items():
        print(f"{name:<40}{wall:9.1f}{cpu:9.1f}{peak:13.2f}{args.n / wall:12,.0f}")
    (wall, cpu, peak), (ref_wall, ref_cpu, ref_peak) = medians["evaluate.py"], medians[next(iter(commands))]
    print(f"{'evaluate.py / reference':<40}{wall / ref_wall:9.2f}{cpu / ref_cpu:9.2f}{peak / ref_peak:13.2f}")
    if args.dir is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
