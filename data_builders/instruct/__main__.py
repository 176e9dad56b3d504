"""MNLU-Instruct from the command line: build the sources, then mix them by a recipe.

    python -m data_builders.instruct build --raw-dir /path/to/releases/raw --out built/instruct
    python -m data_builders.instruct mix --built built/instruct --recipe full --out mnlu_instruct.jsonl

`add_build_command`/`add_mix_command` and `run_build`/`run_mix` let another CLI offer the same
commands (`python -m data_builders mix ...`).
"""

import argparse
import sys
from pathlib import Path

from data_builders.instruct.build import TOOL, build
from data_builders.instruct.registry import SOURCES
from data_builders.mix import mix
from mnlu.cli import InputError, run_main
from mnlu.fileio import check_output_folder

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def add_build_command(commands, name="build"):
    b = commands.add_parser(name, help="build every MNLU-Instruct source whose release files are under --raw-dir")
    b.add_argument("--raw-dir", required=True, type=Path, help="folder holding the releases (like shared/data/raw)")
    b.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output folder: <source>.jsonl and manifest.json (new, empty, or written by an earlier build)",
    )
    b.add_argument(
        "--sources",
        nargs="+",
        choices=sorted(SOURCES),
        metavar="SOURCE",
        help="build only these (default: all); --out is replaced as a whole",
    )
    b.set_defaults(run=run_build, script=b.prog)


def add_mix_command(commands, name="mix"):
    m = commands.add_parser(name, help="mix built MNLU-Instruct sources by a recipe")
    m.add_argument(
        "--built",
        required=True,
        type=Path,
        help="a folder of built MNLU-Instruct sources (written by the instruct build)",
    )
    m.add_argument(
        "--recipe",
        required=True,
        type=Path,
        help=f"recipe TOML file or shipped name ({', '.join(p.stem for p in sorted(RECIPES.glob('*.toml')))})",
    )
    m.add_argument(
        "--out", required=True, type=Path, help="output JSONL, outside every input; counts go to <out>.counts.json"
    )
    m.add_argument("--seed", type=int, default=42, help="sampling seed (default 42, the paper's)")
    m.add_argument("--total", type=int, help="override the recipe's total")
    m.add_argument(
        "--exclude-eval",
        nargs="*",
        default=[],
        type=Path,
        metavar="PATH",
        help="built evaluation records (files or folders): instances overlapping them are dropped",
    )
    m.set_defaults(run=run_mix, script=m.prog)


def run_build(args):
    """Build, print one line per source; 2 if a source failed (one error line each, after the table)."""
    if not args.raw_dir.is_dir():
        raise InputError(f"--raw-dir {args.raw_dir} is not a folder")
    check_output_folder(args.out, TOOL, inputs=[args.raw_dir])
    manifest = build(args.raw_dir, args.out, args.sources)
    for name, entry in manifest.items():
        counts = ", ".join(f"{t} {n}" for t, n in entry["counts"].items()) or "no release files found"
        print(f"{name:20s} {entry['domain']:10s} {'FAILED' if entry['error'] else counts}")
    failed = [entry["error"] for entry in manifest.values() if entry["error"]]
    for message in failed:
        print(f"{args.script}: error: {message}", file=sys.stderr)
    return 2 if failed else 0


def run_mix(args):
    """Mix, print the recipe and the per-task and per-source counts."""
    recipe = args.recipe if args.recipe.is_file() else RECIPES / f"{args.recipe}.toml"
    if not recipe.is_file():
        raise InputError(f"--recipe {args.recipe} is neither a file nor a shipped recipe name")
    counts = mix(args.built, recipe, args.out, args.seed, args.total, args.exclude_eval)
    print(counts["description"])
    for title, table in (("per task", counts["per_task"]), ("per source", counts["per_source"])):
        print(title + ":")
        for key, n in table.items():
            print(f"  {key:20s} {n:8d}")
    print(f"total {counts['total']} -> {args.out} (counts in {args.out}.counts.json)")
    if counts["dropped_for_eval_overlap"]:
        print(f"dropped for overlap with evaluation texts: {counts['dropped_for_eval_overlap']}")
    if counts["sources_not_built"]:
        print(f"sources with no built records: {', '.join(counts['sources_not_built'])}")
    return 0


def main(argv=None):
    """Run one command; bad input ends it with one `data_builders.instruct <command>: error:` line and
    exit status 2, the prefix of argparse's own errors too (the parser's prog is the module name)."""
    parser = argparse.ArgumentParser(prog="data_builders.instruct", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_build_command(commands)
    add_mix_command(commands)
    args = parser.parse_args(argv)
    return run_main(args.script, args.run, args)


if __name__ == "__main__":
    sys.exit(main())
