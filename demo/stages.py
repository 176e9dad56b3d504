"""The stage runner shared by `python -m demo` and scripts/reproduce_small.py, and the stages they share.

Each stage is a documented command line, printed as a user would type it, skipped when its
output exists (so a killed run resumes where it stopped), and timed with its peak memory. The
timings are kept in a JSON file beside the outputs, so a resumed run still reports every stage.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from demo.model import ROOT
from mnlu.fileio import atomic_write

PYTHON, TORCHRUN = sys.executable, str(Path(sys.executable).with_name("torchrun"))  # this environment's


class Stages:
    """Runs the stages and keeps the name, seconds and peak RSS (MiB) of each one run, in `log`.

    A stage run again (a resumed infer.py, a failed stage fixed) adds its seconds to its record.
    """

    def __init__(self, tool: str, log: Path):
        self.tool, self.log = tool, log
        self.done = json.loads(log.read_text(encoding="utf-8")) if log.exists() else []
        self.commands = []  # every stage's command of this invocation, run or skipped, in order

    def run(self, name: str, command: list, done: Path | None = None, partial_ok: bool = False) -> None:
        """Run `command` unless `done` exists; record its wall time and its largest process's peak RSS.

        `partial_ok`: a failure that still wrote `done` (build-instruct with one malformed source) is a warning.
        """
        print(f"\n=== {name}: {shell(command)}", flush=True)
        self.commands.append(command)
        if done is not None and done.exists():
            print(f"    done already ({done})")
            return
        start = time.monotonic()
        process = subprocess.Popen(list(map(str, command)), cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)  # usage covers the children it waited for (torchrun's ranks)
        exit_code = os.waitstatus_to_exitcode(status)
        if exit_code != 0 and partial_ok and done.exists():
            print(f"{self.tool}: stage '{name}' reported the errors above; going on with what it built", flush=True)
        elif exit_code != 0:
            print(
                f"{self.tool}: stage '{name}' failed (exit status {exit_code}); "
                "fix the cause and run it again: finished stages are kept",
                file=sys.stderr,
            )
            sys.exit(exit_code)
        seconds, peak = time.monotonic() - start, usage.ru_maxrss / 1024
        earlier = next((d for d in self.done if d["name"] == name), None)  # a resumed stage adds to its record
        if earlier:
            earlier.update(seconds=earlier["seconds"] + seconds, peak_mib=max(earlier["peak_mib"], peak))
        else:
            self.done.append({"name": name, "seconds": seconds, "peak_mib": peak})
        with atomic_write(self.log) as f:
            json.dump(self.done, f, indent=1)

    def table(self) -> str:
        rows = [f"| {d['name']} | {d['seconds'] / 60:.1f} | {d['peak_mib']:,.0f} |" for d in self.done]
        total = sum(d["seconds"] for d in self.done)
        return "\n".join(
            [
                "| stage | minutes | peak RSS of its largest process (MiB) |",
                "|---|---:|---:|",
                *rows,
                f"| total | {total / 60:.1f} | |",
            ]
        )


def shell(command: list) -> str:
    """The command as a user would type it in the repository root."""
    shown = {PYTHON: "python", TORCHRUN: "torchrun"}
    return " ".join(shown.get(str(c)) or (os.path.relpath(c, ROOT) if isinstance(c, Path) else str(c)) for c in command)


def build_mix(stages: Stages, raw: Path, data: Path, recipe: str) -> None:
    """MNLU-Instruct from the release files in `raw`, then the mix of `recipe` without the texts of `data`/eval."""
    builders = [PYTHON, "-m", "data_builders"]
    stages.run(
        "build MNLU-Instruct",
        [*builders, "build-instruct", "--raw-dir", raw, "--out", data / "instruct"],
        data / "instruct" / "manifest.json",
        partial_ok=True,
    )
    stages.run(
        "mix",
        [*builders, "mix", "--built", data / "instruct", "--recipe", recipe, "--out", data / "mix.jsonl"]
        + ["--exclude-eval", data / "eval"],
        data / "mix.jsonl",
    )
