"""MNLU-Instruct from the command line: build the sources, then mix them by a recipe.

    python -m data_builders.instruct build --raw-dir ../shared/data/raw --out built/instruct
    python -m data_builders.instruct mix --built built/instruct --recipe full --out mnlu_instruct.jsonl

`add_build_command`/`add_mix_command` and `run_build`/`run_mix` let another CLI offer the same
commands (`python -m data_builders mix ...`).
"""

import argparse
import sys
from pathlib import Path

from data_builders.instruct.build import build
from data_builders.instruct.registry import SOURCES
from data_builders.mix import RecipeError, mix

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def add_build_command(commands, name="build"):
    b = commands.add_parser(name, help="build every MNLU-Instruct source whose release files are under --raw-dir")
    b.add_argument("--raw-dir", required=True, type=Path, help="folder holding the releases (like shared/data/raw)")
    b.add_argument("--out", required=True, type=Path, help="output folder: <source>.jsonl and manifest.json")
    b.add_argument("--sources", nargs="+", choices=sorted(SOURCES), metavar="SOURCE",
                   help="build only these (default: all); --out is replaced as a whole")


def add_mix_command(commands, name="mix"):
    m = commands.add_parser(name, help="mix built MNLU-Instruct sources by a recipe")
    m.add_argument("--built", required=True, type=Path, help="a folder of built MNLU-Instruct sources (written by the instruct build)")
    m.add_argument("--recipe", required=True, type=Path,
                   help=f"recipe TOML file or shipped name ({', '.join(p.stem for p in sorted(RECIPES.glob('*.toml')))})")
    m.add_argument("--out", required=True, type=Path, help="output JSONL; counts go to <out>.counts.json")
    m.add_argument("--seed", type=int, default=42, help="sampling seed (default 42, the paper's)")
    m.add_argument("--total", type=int, help="override the recipe's total")
    m.add_argument("--exclude-eval", nargs="*", default=[], type=Path, metavar="PATH",
                   help="built evaluation records (files or folders): instances overlapping them are dropped")


def run_build(args):
    """Build, print one line per source; 1 if a source failed (its error is printed above)."""
    if not args.raw_dir.is_dir():
        print(f"error: --raw-dir {args.raw_dir} is not a folder", file=sys.stderr)
        return 1
    manifest = build(args.raw_dir, args.out, args.sources)
    for name, entry in manifest.items():
        counts = ", ".join(f"{t} {n}" for t, n in entry["counts"].items())
        counts = counts or ("0 instances" if entry["files"] else "no release files found")
        print(f"{name:20s} {entry['domain']:10s} {'FAILED' if entry['error'] else counts}")
    return 1 if any(e["error"] for e in manifest.values()) else 0


def run_mix(args):
    """Mix, print the recipe and the per-task and per-source counts; 1 on a recipe or input error."""
    recipe = args.recipe if args.recipe.exists() else RECIPES / f"{args.recipe}.toml"
    if not recipe.exists():
        print(f"error: recipe {args.recipe} is neither a file nor a shipped recipe name", file=sys.stderr)
        return 1
    try:
        counts = mix(args.built, recipe, args.out, args.seed, args.total, args.exclude_eval)
    except (RecipeError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
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
    parser = argparse.ArgumentParser(prog="python -m data_builders.instruct", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add_build_command(commands)
    add_mix_command(commands)
    args = parser.parse_args(argv)
    return run_build(args) if args.command == "build" else run_mix(args)


if __name__ == "__main__":
    sys.exit(main())
