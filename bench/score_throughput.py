"""How fast evaluate.py scores predictions: a million by default, against reading them as JSON.

Writes a synthetic prediction folder with the 15 evaluation datasets in the proportions of the
paper's test sets (distinct texts and spans per instance; right, wrong and unparseable answers),
then times, in this process: the reference (reading every line with json.loads), reading and
checking the records (mnlu.scoring.read_system), and parsing plus scoring every dataset
(mnlu.scoring.score_dataset), in both scoring modes. Ratios are to the reference.

    python bench/score_throughput.py [--n 1000000] [--dir /tmp/mnlu-bench-preds]
"""

import argparse
import csv
import json
import shutil
import tempfile
import time
from pathlib import Path

from mnlu.benchmarks import EVAL_DATASETS
from mnlu.report import PAPER_TABLE
from mnlu.scoring import long_lived, read_system, score_dataset
from mnlu.tasks import dc_record, ner_record, nli_record, qa_record, re_record, sts_record

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


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of predictions (default 1,000,000)")
    parser.add_argument("--dir", type=Path, help="where to write the synthetic predictions (default: a temp folder)")
    args = parser.parse_args()

    root = args.dir or Path(tempfile.mkdtemp(prefix="mnlu-bench-"))
    folder = root / "bench_system"
    folder.mkdir(parents=True, exist_ok=True)
    _, seconds = timed(lambda: write_folder(folder, args.n))
    print(f"wrote {args.n:,} predictions to {folder} in {seconds:.1f}s")

    def read_json_only():
        return sum(1 for path in folder.glob("*.jsonl") for line in open(path, encoding="utf-8") if json.loads(line))

    n, reference = timed(read_json_only)
    with long_lived():  # as evaluate.py reads and scores them
        datasets, read_s = timed(lambda: read_system(folder))
        print(f"{'step':<40}{'seconds':>9}{'records/s':>12}{'x json.loads':>14}")
        print(f"{'reference: json.loads every line':<40}{reference:9.1f}{n / reference:12,.0f}{1:14.2f}")
        print(f"{'read and check records':<40}{read_s:9.1f}{n / read_s:12,.0f}{read_s / reference:14.2f}")
        for mode in (None, "released"):
            _, score_s = timed(lambda mode=mode: [score_dataset(d, records, mode) for d, records in datasets.items()])
            label = f"parse + score ({mode or 'benchmark'} metrics)"
            print(f"{label:<40}{score_s:9.1f}{n / score_s:12,.0f}{score_s / reference:14.2f}")
    if args.dir is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
