"""Score prediction folders with each benchmark's own metric and write the paper's Table 5.

    python evaluate.py preds/NAME/ [preds/OTHER/ ...] --out reports/NAME [--paper] [--plot] [--allow-partial]

Each folder is one system (named after the folder) holding `<dataset id>.jsonl` files written
by infer.py: input records plus the raw model output in `prediction`. For every dataset the
answers are parsed (mnlu.parse) and scored with its benchmark's metric (mnlu.metrics): entity
F1 for NER, token-level macro F1 for EBM PICO, positive-class micro F1 for relations, micro F1
for HoC, accuracy for QA/NLI, Pearson for BIOSSES. The BLURB and BLUE averages are the paper's
plain means over datasets. `--compat released` scores the same files the way the released
BioMistral-NLU code did, quirks included (docs/evaluate.md), to compare with published numbers.

A prediction file with fewer records than infer.py was asked for (its folder's run.json) is a
killed run: evaluate.py refuses it unless --allow-partial, which marks it incomplete in the report.

Every score comes with its 95% bootstrap interval and the number of instances behind it, and
every system after the first with its paired difference to the first on the same instances
(mnlu.bootstrap); an interval wider than 20 points is flagged as too few instances to tell.
Exit status: 0 done, 2 bad input (one line on stderr naming the file), 1 a bug in mnlu.
"""

import argparse
import contextlib
import functools
import importlib
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from mnlu.bootstrap import report_intervals
from mnlu.cli import AT_LEAST_0, AT_LEAST_1, SEED, InputError, run_main
from mnlu.fileio import check_output_folder
from mnlu.report import BENCHMARK_DATASETS, SYSTEM_KEYS, read_paper_table, write_report
from mnlu.scoring import completeness, long_lived, prediction_files, score_file

TOOL = "evaluate.py"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="prediction folders, one system each (preds/NAME/)")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="report folder: scores.json, scores.csv, report.md (replaced as a whole; "
        "only a folder that evaluate.py wrote, or a new or empty one)",
    )
    parser.add_argument(
        "--paper",
        action="store_true",
        help="add the paper's Table 5 columns (ChatGPT, GPT-4, LLaMA-3.1-8B, BioMistral-7B, BioMistral-NLU)",
    )
    parser.add_argument(
        "--plot",
        action="store_true",
        help="also write report.png (needs matplotlib; without it: a warning, no report.png)",
    )
    parser.add_argument(
        "--compat",
        choices=["released"],
        help="score like the released BioMistral-NLU evaluation.py instead of the benchmarks' metrics",
    )
    parser.add_argument(
        "--bootstrap",
        type=AT_LEAST_0,
        default=1000,
        metavar="N",
        help="resamples behind each 95%% interval and paired difference (default %(default)s; 0: no intervals)",
    )
    parser.add_argument("--seed", type=SEED, default=0, help="seed of the bootstrap draws (default %(default)s)")
    parser.add_argument(
        "--workers",
        type=AT_LEAST_1,
        metavar="N",
        help="processes that read, score and resample the prediction files at once "
        "(default: one per CPU, at most one per file; 1: all in this process)",
    )
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="score prediction files that hold fewer records than run.json expects, "
        "marked incomplete in the report, instead of refusing them",
    )
    return parser.parse_args()


def main():
    args = parse_args()
    folders = prediction_folders(args.folders)
    check_output_folder(args.out, TOOL, inputs=args.folders)  # before any work: never replace an input
    plot = args.plot and can_import("matplotlib")  # without it, the report is still written (a warning after)

    files = {name: prediction_files(folder) for name, folder in folders.items()}
    workers = args.workers or min(os.cpu_count() or 1, max(1, sum(map(len, files.values()))))
    with long_lived(), ProcessPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        run = functools.partial(run_all, pool)
        # 1. read, check and score every prediction file, each in one pass; the record count of each
        # against run.json before any score is shown
        scores = score_systems(run, files, args.compat)
        checks = {name: completeness(folders[name], {d: s["n"] for d, s in scores[name].items()}) for name in folders}
        check_datasets(folders, scores, checks, args.allow_partial)

        # 2. the scores of each dataset of each system; a dataset without instances is missing, not 0
        for name, by_dataset in scores.items():
            for dataset, s in by_dataset.items():
                print(
                    f"{name:>20} {dataset:<16} {s['metric']:<38} {s['score']:6.1f}  "
                    f"n={s['n']} unparseable={s['unparseable']}" + (f" cut={s['cut']}" if s["cut"] else "")
                )
        # 3. intervals: each dataset's records resampled, the same draws for every system
        units = {
            name: {d: s["units"] for d, s in by_dataset.items() if "units" in s} for name, by_dataset in scores.items()
        }
        intervals = None
        if args.bootstrap and any(units.values()):
            intervals = report_intervals(units, BENCHMARK_DATASETS, args.bootstrap, args.seed, run)

    # 4. the report: per-dataset table with intervals, BLURB/BLUE averages, paired differences,
    # completeness, error analysis
    paper = read_paper_table() if args.paper else None
    document = write_report(
        args.out,
        scores,
        paper,
        plot=plot,
        mode=args.compat or "benchmark",
        completeness=checks,
        intervals=intervals,
    )
    for name, s in document["systems"].items():
        averages = "  ".join(
            f"{k}={'-' if s[k] is None else format(s[k], '.1f')}" for k in ("BLURB", "BLUE", "BLURB_task_macro")
        )
        print(f"{name:>20} {averages}")
    print(f"wrote {args.out}/report.md, scores.json, scores.csv" + (", report.png" if plot else ""))
    if args.plot and not plot:
        print(
            f"{TOOL}: warning: --plot needs matplotlib (pip install -e '.[plot]' from the checkout); "
            "wrote the report without report.png",
            file=sys.stderr,
        )


def score_systems(run, files, compat):
    """{system: {dataset: scores}} of every prediction file (files: {system: its files}); a file
    without records is left out. Errors come as reading in order would meet them: the first file's first."""
    jobs = [(path, compat) for paths in files.values() for path in paths]
    sizes = [path.stat().st_size if path.is_file() else 0 for path, _ in jobs]  # score_file says what else it is
    results = iter(run(score_file, jobs, sizes))
    scores = {name: {path.stem: next(results) for path in paths} for name, paths in files.items()}
    return {name: {d: s for d, s in by_dataset.items() if s} for name, by_dataset in scores.items()}


def run_all(pool, fn, jobs, sizes):
    """[fn(*job) for job in jobs]: on the pool's processes, largest job first so that they finish
    together, or in this process without a pool. The first job (in order) that fails raises."""
    if pool is None:
        return [fn(*job) for job in jobs]
    started = sorted(range(len(jobs)), key=lambda k: -sizes[k])
    futures = {k: pool.submit(fn, *jobs[k]) for k in started}
    try:
        return [futures[k].result() for k in range(len(jobs))]
    finally:
        for future in futures.values():  # after a failure, start no other job
            future.cancel()


def can_import(module):
    """Whether `module` imports: matplotlib is an optional extra, and the vLLM environment has none."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def prediction_folders(folders):
    """{system name: folder}: each an existing folder, no two of the same name (systems are named by folder)."""
    named = {}
    for folder in folders:
        name = Path(os.path.realpath(folder)).name  # realpath: no error on a loop of links
        if not folder.is_dir():
            raise InputError(f"{folder}: no such prediction folder" + (" (it is a file)" if folder.exists() else ""))
        if name in named:
            raise InputError(
                f"{named[name]} and {folder}: two prediction folders named {name!r}; "
                "systems are named by folder, rename one"
            )
        named[name] = folder
    return named


def check_datasets(folders, systems, checks, allow_partial):
    """Refuse a dataset id the report uses for itself, a system with nothing to score, and, unless
    `allow_partial`, any prediction file with fewer records than run.json expects (a killed infer.py)."""
    short = []
    for name, folder in folders.items():
        for dataset in systems[name]:
            if dataset in SYSTEM_KEYS:
                raise InputError(
                    f"{folder / dataset}.jsonl: {dataset!r} is a name the report uses for itself "
                    "(an average); rename the file and its records' dataset"
                )
        incomplete = checks[name].get("incomplete", {})
        if not systems[name] and not incomplete:
            raise InputError(f"{folder}: holds no <dataset id>.jsonl prediction files with records")
        short += [f"{folder / dataset}.jsonl has {c['n']} of {c['expected']}" for dataset, c in incomplete.items()]
    if short and not allow_partial:
        raise InputError(
            f"incomplete predictions (fewer records than run.json expects): {'; '.join(short)}. "
            "Finish them by running the same infer.py command again, or pass --allow-partial "
            "to score what is there, marked incomplete"
        )
    for line in short:
        print(f"{TOOL}: warning: {line} predictions: scored as incomplete (--allow-partial)", file=sys.stderr)


if __name__ == "__main__":
    run_main(TOOL, main)
