"""Every command line's --help documents itself: each option and sub-command has a help text, and each
option with a default (anything but None, False or hidden) says it, with the word "default", in its help.

merge.py's parser is built in-process (merge.build_parser). The other commands build theirs inside
their entry point, so one subprocess runs them all, each as `python SCRIPT` / `python -m MODULE` would,
with ArgumentParser.parse_args replaced by a probe that describes the parser instead of parsing: the
parsers are the ones the users get, sub-commands included, and nothing past the parsing runs.
"""

import argparse
import json
import os
import runpy
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import merge

ROOT = Path(__file__).resolve().parent.parent

# What the probe runs: a script path (as `python PATH`) or a module (as `python -m NAME`).
# Left out: scripts/baseline_files.py (no options: it reads its paths from sys.argv).
COMMANDS = (
    "infer.py",
    "evaluate.py",
    "train.py",
    "-m data_builders",
    "-m scripts.reproduce_small",
    "scripts/plot_ablation.py",
    "scripts/check_vllm.py",
    "scripts/link_raw.py",
    "scripts/join_predictions.py",
    "-m demo",
    "bench/infer_throughput.py",
    "bench/merge_vs_mergekit.py",
    "bench/score_throughput.py",
    "bench/train_throughput.py",
)
# Defaults read from the environment (--raw: $MNLU_RAW) are set, so that they too must be documented.
PROBE_ENV = {"MNLU_RAW": "/nonexistent/mnlu-raw"}


def needs_documented_default(action):
    default = action.default
    return not (default is None or default is False or (isinstance(default, str) and default == argparse.SUPPRESS))


def describe(parser):
    """{prog: {"options": [...], "commands": [...]}} for `parser` and each of its sub-commands' parsers:
    every visible option as its names, expanded help (as --help shows it) and default, and every
    sub-command as its name, help and description."""
    parser.format_help()  # the whole --help renders (a stray % in a help text fails here)
    formatter = parser._get_formatter()
    found = {parser.prog: {"description": parser.description, "options": [], "commands": []}}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                found[parser.prog]["commands"].append(
                    {"name": name, "help": helps.get(name), "description": sub.description}
                )
                found.update(describe(sub))
        elif action.help != argparse.SUPPRESS:  # hidden options (internal worker flags) show no help at all
            found[parser.prog]["options"].append(
                {
                    "names": action.option_strings or [action.dest],
                    "help": formatter._expand_help(action) if action.help else "",
                    "default": repr(action.default),
                    "needs_default": needs_documented_default(action),
                }
            )
    return found


class Parsed(BaseException):
    """Raised by the probe in place of parsing; a BaseException, so no `except Exception` in a script holds it."""

    def __init__(self, parser):
        super().__init__(parser.prog)
        self.parser = parser


def probe(command):
    """Run `command` as its command line would, up to its first parse_args; its parsers, described."""
    real = argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args

    def stop(parser, *args, **kwargs):
        raise Parsed(parser)

    argparse.ArgumentParser.parse_args = argparse.ArgumentParser.parse_known_args = stop
    saved_path, saved_argv = sys.path[:], sys.argv[:]
    try:
        if command.startswith("-m "):
            sys.path.insert(0, str(ROOT))  # as `python -m` puts the working directory first
            runpy.run_module(command[3:], run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, str((ROOT / command).parent))  # as `python PATH` puts the script's folder first
            sys.argv = [command]
            runpy.run_path(str(ROOT / command), run_name="__main__")
    except Parsed as parsed:
        return describe(parsed.parser)
    finally:
        argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args = real
        sys.path[:], sys.argv[:] = saved_path, saved_argv
    raise AssertionError(f"{command} ended without parsing its arguments")


def probe_all():
    """Subprocess side: print {command: parsers or the error} for every command, as one JSON object."""
    results = {}
    for command in COMMANDS:
        try:
            results[command] = {"parsers": probe(command)}
        except BaseException as e:  # noqa: BLE001 - any failure, SystemExit included, is that command's result
            results[command] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(results))


@cache
def probed():
    """Every command's parsers, from one subprocess (the scripts share their imports: torch once)."""
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); import test_cli_help; test_cli_help.probe_all()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **PROBE_ENV},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def parsers_of(command):
    if command == "merge.py":
        return describe(merge.build_parser())
    found = probed()[command]
    assert "error" not in found, f"{command}: {found.get('error')}"
    return found["parsers"]


def problems(parsers):
    """What --help fails to document, one line each."""
    found = []
    for prog, parser in parsers.items():
        for option in parser["options"]:
            name = f"{prog} {'/'.join(option['names'])}"
            if not option["help"].strip():
                found.append(f"{name}: no help text")
            elif option["needs_default"] and "default" not in option["help"].lower():
                found.append(f"{name}: default {option['default']} not shown in its help: {option['help']!r}")
        for command in parser["commands"]:
            if not (command["help"] or "").strip():
                found.append(f"{prog} {command['name']}: sub-command without a help text")
            if not (command["description"] or "").strip():
                found.append(f"{prog} {command['name']}: sub-command without a description")
    return found


@pytest.mark.parametrize("command", ("merge.py", *COMMANDS))
def test_every_option_has_help_and_shows_its_default(command):
    parsers = parsers_of(command)
    assert any(parser["options"] for parser in parsers.values()), f"{command}: no options found"
    assert problems(parsers) == []


def test_data_builders_has_its_three_documented_sub_commands():
    parsers = parsers_of("-m data_builders")
    assert [c["name"] for c in parsers["data_builders"]["commands"]] == ["build", "build-instruct", "mix"]
    assert {"data_builders build", "data_builders build-instruct", "data_builders mix"} <= set(parsers)


def test_the_probe_sees_defaults_from_the_environment():
    options = parsers_of("-m scripts.reproduce_small")["python -m scripts.reproduce_small"]["options"]
    raw = next(option for option in options if option["names"] == ["--raw"])
    assert raw["needs_default"] and raw["default"] == repr(PROBE_ENV["MNLU_RAW"])


def test_an_undocumented_default_or_help_is_caught():
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--shown", type=int, default=3, help="a number (default: %(default)s)")
    parser.add_argument("--hidden-default", type=int, default=3, help="a number")
    parser.add_argument("--empty", default=[], nargs="*", help="some paths")
    parser.add_argument("--bare", type=int)
    parser.add_argument("--flag", action="store_true", help="a switch")
    parser.add_argument("--internal", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run it", description="Run it.")
    commands.add_parser("quiet")
    found = problems(describe(parser))
    assert [line.split(":")[0] for line in found] == [
        "tool --hidden-default",
        "tool --empty",
        "tool --bare",
        "tool quiet",
        "tool quiet",
    ]
    assert "default 3 not shown" in found[0]
