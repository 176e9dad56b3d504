"""Score prediction folders with each benchmark's own metric and write the paper's Table 5.

    python evaluate.py preds/NAME/ [preds/OTHER/ ...] --out reports/NAME [--paper] [--plot]

Each folder is one system (named after the folder) holding `<dataset id>.jsonl` files written
by infer.py: input records plus the raw model output in `prediction`. For every dataset the
answers are parsed (mnlu.parse) and scored with its benchmark's metric (mnlu.metrics): entity
F1 for NER, token-level macro F1 for EBM PICO, positive-class micro F1 for relations, micro F1
for HoC, accuracy for QA/NLI, Pearson for BIOSSES. The BLURB and BLUE averages are the paper's
plain means over datasets. `--compat released` scores the same files the way the released
BioMistral-NLU code did, quirks included (docs/evaluate.md), to compare with published numbers.
"""

import argparse
import sys
from pathlib import Path

from mnlu.records import RecordError
from mnlu.report import read_paper_table, write_report
from mnlu.scoring import long_lived, read_system, score_dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="prediction folders, one system each (preds/NAME/)")
    parser.add_argument("--out", type=Path, required=True,
                        help="report folder: scores.json, scores.csv, report.md (replaced as a whole)")
    parser.add_argument("--paper", action="store_true",
                        help="add the paper's Table 5 columns (ChatGPT, GPT-4, LLaMA-3.1-8B, BioMistral-7B, BioMistral-NLU)")
    parser.add_argument("--plot", action="store_true", help="also write report.png (needs matplotlib)")
    parser.add_argument("--compat", choices=["released"],
                        help="score like the released BioMistral-NLU evaluation.py instead of the benchmarks' metrics")
    args = parser.parse_args()

    names = [folder.resolve().name for folder in args.folders]
    if len(set(names)) != len(names):
        sys.exit(f"evaluate.py: two prediction folders share a name ({', '.join(names)}); systems are named by folder")

    with long_lived():  # millions of small objects, no reference cycles: keep the collector off them
        # 1. read and check every prediction file before scoring anything
        try:
            systems = {name: read_system(folder) for name, folder in zip(names, args.folders)}
        except (RecordError, FileNotFoundError) as e:
            sys.exit(f"evaluate.py: {e}")

        # 2. score each dataset of each system; a dataset without instances is missing, not 0
        scores = {}
        for name, datasets in systems.items():
            scores[name] = {dataset: score_dataset(dataset, records, args.compat) for dataset, records in datasets.items()}
            for dataset, s in scores[name].items():
                print(f"{name:>20} {dataset:<16} {s['metric']:<38} {s['score']:6.1f}  "
                      f"n={s['n']} unparseable={s['unparseable']}")

    # 3. the report: per-dataset table, BLURB/BLUE averages, error analysis
    paper = read_paper_table() if args.paper else None
    document = write_report(args.out, scores, paper, plot=args.plot, mode=args.compat or "benchmark")
    for name, s in document["systems"].items():
        averages = "  ".join(f"{k}={'-' if s[k] is None else format(s[k], '.1f')}"
                             for k in ("BLURB", "BLUE", "BLURB_task_macro"))
        print(f"{name:>20} {averages}")
    print(f"wrote {args.out}/report.md, scores.json, scores.csv" + (", report.png" if args.plot else ""))


if __name__ == "__main__":
    main()
