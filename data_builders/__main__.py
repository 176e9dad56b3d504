"""Build the evaluation datasets and MNLU-Instruct from their release files, and mix MNLU-Instruct.

    python -m data_builders build --raw-dir RAW --out OUT [--only ID ...] [--split SPLIT ...]
    python -m data_builders build-instruct --raw-dir RAW --out BUILT [--sources NAME ...]
    python -m data_builders mix --built BUILT --recipe full --out mnlu_instruct.jsonl --exclude-eval OUT

`build` writes the 15 evaluation datasets (data_builders/eval/) as OUT/<id>/<split>.jsonl,
`build-instruct` the 33 MNLU-Instruct sources (data_builders/instruct/) as BUILT/<source>.jsonl,
and `mix` samples a training file from BUILT by a recipe (data_builders/instruct/recipes/). A
malformed release file ends its dataset or source with `data_builders <command>: error: file:line:
what is wrong` and exit status 2; the others are still built. Each output folder is one the
command made (or a new or empty one), never a raw folder or a folder holding one.
"""

import argparse
import sys
from pathlib import Path

from data_builders.eval import EVAL_BUILDERS, I2B2_PAIRS
from data_builders.eval.build import SPLITS, run_eval_build
from data_builders.eval.versions import VERSIONS
from data_builders.instruct.build import run_instruct_build
from data_builders.instruct.mix import RECIPES, run_mix
from data_builders.instruct.registry import SOURCES
from mnlu.cli import run_main


def main(argv=None):
    """Run one command; bad input ends it with one `data_builders <command>: error:` line and exit
    status 2, the prefix of argparse's own errors too (the parser's prog is the module name)."""
    args = parse_args(argv)
    return run_main(args.script, args.run, args)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="data_builders", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_eval_build(commands)
    add_instruct_build(commands)
    add_mix(commands)
    return parser.parse_args(argv)


def add_eval_build(commands):
    build = commands.add_parser(
        "build",
        help="build evaluation datasets from their release files",
        description="Build OUT/<id>/<split>.jsonl from the release files below RAW/<id>/.",
    )
    build.add_argument(
        "--raw-dir",
        type=Path,
        required=True,
        metavar="RAW",
        help="folder with one sub-folder per dataset id, holding its release files",
    )
    build.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder: OUT/<id>/<split>.jsonl (new, empty, or written by an earlier build)",
    )
    build.add_argument(
        "--only",
        nargs="+",
        choices=list(EVAL_BUILDERS),
        metavar="ID",
        help=f"build only these datasets (default: all): {', '.join(EVAL_BUILDERS)}",
    )
    build.add_argument(
        "--split",
        nargs="+",
        choices=SPLITS,
        default=list(SPLITS),
        help="splits to build (default: all three; absent ones are skipped)",
    )
    build.add_argument(
        "--i2b2-pairs",
        choices=list(I2B2_PAIRS),
        default="blue",
        help="i2b2-2010 instances: blue, every concept pair of a sentence with the 8 relations + none (as BLUE "
        "built the paper's test set); guideline, only the type pairs the guideline lets relate (default: %(default)s)",
    )
    build.add_argument(
        "--version",
        choices=list(VERSIONS),
        help="HoC, DDI and ChemProt, in both benchmarks: the release to build, checked against the files "
        "(BLUE's, the paper's Table 5 sets, begin with a header line; default: the release the files are)",
    )
    build.set_defaults(run=run_eval_build, script=build.prog)


def add_instruct_build(commands):
    b = commands.add_parser(
        "build-instruct",
        help="build every MNLU-Instruct source whose release files are under --raw-dir",
        description="Build <source>.jsonl for each MNLU-Instruct source, and manifest.json, in --out from the "
        "release files below --raw-dir.",
    )
    b.add_argument(
        "--raw-dir", required=True, type=Path, help="folder holding the releases, one sub-folder per release"
    )
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
    b.set_defaults(run=run_instruct_build, script=b.prog)


def add_mix(commands):
    m = commands.add_parser(
        "mix",
        help="mix built MNLU-Instruct sources by a recipe",
        description="Sample a training file (JSONL) from the built MNLU-Instruct sources by a recipe; instances "
        "overlapping --exclude-eval are dropped.",
    )
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
    m.add_argument("--seed", type=int, default=42, help="sampling seed (default %(default)s, the paper's)")
    m.add_argument(
        "--total",
        type=int,
        help="instances to sample, overriding the recipe's total (default: the recipe's total, or every selected "
        "instance when it sets none)",
    )
    m.add_argument(
        "--exclude-eval",
        nargs="*",
        default=[],
        type=Path,
        metavar="PATH",
        help="built evaluation records (files or folders): instances overlapping them are dropped (default: none)",
    )
    m.set_defaults(run=run_mix, script=m.prog)


if __name__ == "__main__":
    sys.exit(main())
