"""scripts/reproduce_small.py's own part: the results block it writes into docs/results.md.

Its stages are the demo's (tests/test_demo.py runs those end to end); what is new is that the
results land between markers in a hand-written document, which must keep its text around them.
"""

import json
from pathlib import Path

import pytest

from demo.model import ROOT
from demo.stages import Stages
from mnlu.cli import InputError
from mnlu.tasks import make_record
from scripts.reproduce_small import BEGIN, END, parse_args, rerun_command, write_results

FORMAT_FIXTURES = ROOT / "tests" / "fixtures" / "unified_format.json"
RAW = ROOT.parent / "releases" / "raw"  # shown in the commands as ../releases/raw
RERUN = "python -m scripts.reproduce_small --merge-weights 0.5 1.0"
REPORT = """# Evaluation report

| Task | Metric | Dataset | base | fine-tuned |
|---|---|---|---|---|
| ner | entity-level F1 | ncbi_disease | 7.4 [4.7, 10.3] | 24.3 [18.5, 30.6] |

## Paired differences

| Dataset | `fine-tuned` - `base` |
|---|---|
| ncbi_disease | +16.9 [+10.9, +23.1] (n=200) |

## Completeness

- `base`: every listed dataset complete.

## Unparseable answers

| Dataset | base | fine-tuned |
|---|---|---|
| ncbi_disease | 0 / 200 | 0 / 200 |

## Answers cut at the token limit

Answers that ended without a stop token.

| Dataset | base | fine-tuned |
|---|---|---|
| ncbi_disease | - | 3 / 200 |

## Error analysis

by dataset
"""


def make_report(folder: Path) -> Path:
    folder.mkdir()
    (folder / "report.md").write_text(REPORT)
    (folder / "report.png").write_bytes(b"\x89PNG figure")
    return folder


def stages_with_one_run(tmp_path: Path) -> Stages:
    log = tmp_path / "stages.json"
    runs = [
        {
            "name": "link",
            "command": "python scripts/link_raw.py ../releases/raw --out x",
            "seconds": 1.0,
            "peak_mib": 14.0,
        },
        {"name": "mix", "command": "python -m data_builders mix", "seconds": 90.0, "peak_mib": 450.0},
    ]
    log.write_text(json.dumps(runs))
    stages = Stages("reproduce_small", log)
    stages.commands = [["python", "scripts/link_raw.py", RAW, "--out", "x"], ["python", "-m", "data_builders", "mix"]]
    return stages


def dev_set(folder: Path, task: str, with_train: bool) -> Path:
    """A dev split of one record of `task` (the format fixture's), with a train split beside it or not."""
    fields = next(f["fields"] for f in json.loads(FORMAT_FIXTURES.read_text()) if f["task"] == task)
    folder.mkdir(parents=True)
    (folder / "dev.jsonl").write_text(json.dumps(make_record(task, **fields)) + "\n")
    if with_train:
        (folder / "train.jsonl").write_text((folder / "dev.jsonl").read_text())
    return folder / "dev.jsonl"


def test_the_block_replaces_only_what_is_between_the_markers(tmp_path):
    report, stages = make_report(tmp_path / "report"), stages_with_one_run(tmp_path)
    results = tmp_path / "results.md"
    results.write_text(f"# Results\n\nintro by hand\n\n{BEGIN}\nold scores\n{END}\n\n## Findings\n\nby hand too\n")

    dev_sets = [dev_set(tmp_path / "ncbi_disease", "ner", True), dev_set(tmp_path / "jnlpba", "ner", False)]
    dev_sets.append(dev_set(tmp_path / "gad", "re", False))  # a choice task needs no train split
    write_results(results, report, stages, dev_sets, RAW, RERUN)

    text = results.read_text()
    assert text.startswith("# Results\n\nintro by hand\n\n" + BEGIN)
    assert text.endswith(END + "\n\n## Findings\n\nby hand too\n") and "old scores" not in text
    block = text[text.index(BEGIN) : text.index(END)]
    assert "| ncbi_disease | 7.4 [4.7, 10.3] | 24.3 [18.5, 30.6] |" in block
    assert "+16.9 [+10.9, +23.1] (n=200)" in block and "\n### Paired differences\n" in block
    assert "so no `base-paper` score: jnlpba." in block  # JNLPBA: a span task without a train split
    assert "Completeness" not in block and "# Evaluation report" not in block
    assert "\n### Answers cut at the token limit\n" in block and "| ncbi_disease | - | 3 / 200 |" in block
    assert "Unparseable" not in block and "Error analysis" not in block
    assert "python -m data_builders mix" in block and "| mix | 1.5 | 450 |" in block
    assert "python scripts/link_raw.py $MNLU_RAW --out x\npython -m data_builders mix\n" in block
    assert f"(`{RERUN}` runs them all, with `MNLU_RAW` set)" in block
    assert "releases/raw" not in block  # where the user keeps the releases is theirs
    assert (tmp_path / "results.png").read_bytes() == b"\x89PNG figure"

    write_results(results, report, stages, dev_sets, RAW, RERUN)  # a rerun: the same file
    assert results.read_text() == text


def test_a_file_without_markers_gets_the_block_appended(tmp_path):
    report, stages = make_report(tmp_path / "report"), stages_with_one_run(tmp_path)
    results = tmp_path / "results.md"
    results.write_text("# Results\n\nwritten by hand\n")
    write_results(results, report, stages, [], RAW, RERUN)
    text = results.read_text()
    assert text.startswith("# Results\n\nwritten by hand\n\n" + BEGIN) and text.endswith(END + "\n")


@pytest.mark.parametrize("markers", [BEGIN, END, f"{END}\n{BEGIN}"])
def test_markers_that_are_not_a_pair_are_refused_and_the_file_kept(tmp_path, markers):
    report, stages = make_report(tmp_path / "report"), stages_with_one_run(tmp_path)
    results = tmp_path / "results.md"
    results.write_text(f"# Results\n\n{markers}\n\nwritten by hand\n")
    with pytest.raises(InputError, match="not a pair"):
        write_results(results, report, stages, [], RAW, RERUN)
    assert results.read_text() == f"# Results\n\n{markers}\n\nwritten by hand\n"


@pytest.mark.parametrize("weight", ["../../outside", "half", "nan", "0.5"])  # 0.5 again: a folder twice
def test_a_merge_weight_that_is_not_a_number_is_refused_before_it_names_a_folder(weight, monkeypatch, capsys):
    """Each weight names a folder (`merged-W`) under --out, so only numbers may get there."""
    monkeypatch.setattr("sys.argv", ["reproduce_small", "--raw", "r", "--merge-weights", "0.5", weight])
    with pytest.raises(SystemExit) as stop:
        parse_args()
    assert stop.value.code == 2
    assert "--merge-weights" in capsys.readouterr().err


def test_the_rerun_command_names_the_options_that_differ_from_the_defaults(monkeypatch):
    """The results say which command ran every listed stage, so a reader can rerun exactly that."""
    monkeypatch.setattr("sys.argv", ["reproduce_small", "--raw", "r"])
    assert rerun_command(parse_args()) == "python -m scripts.reproduce_small"
    monkeypatch.setattr("sys.argv", ["reproduce_small", "--raw", "r", "--out", "runs/elsewhere"])
    assert rerun_command(parse_args()) == "python -m scripts.reproduce_small --out runs/elsewhere"
    monkeypatch.setattr("sys.argv", ["reproduce_small", "--raw", "r", "--merge-weights", "0.5", "1"])
    args = parse_args()
    assert rerun_command(args) == "python -m scripts.reproduce_small --merge-weights 0.5 1.0"
    assert [f"merged-{w}" for w in args.merge_weights] == ["merged-0.5", "merged-1.0"]  # the folders' names
    monkeypatch.setattr("sys.argv", ["reproduce_small", "--raw", "r", "--datasets", "gad", "ddi"])
    assert rerun_command(parse_args()) == "python -m scripts.reproduce_small --datasets gad ddi"
