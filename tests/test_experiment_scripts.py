"""The experiment scripts (scripts/*.sh) run end to end at --tiny scale, and plot_ablation.py's table.

Each script runs once per module on a random 2-layer Llama and the fixture releases, then again
to show that a finished run skips every step. What a script reports is checked against the
scores.json that evaluate.py wrote, read here on its own.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnlu.cli import InputError
from mnlu.fileio import MARKER

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

RE_DATASETS = ["chemprot", "ddi", "gad"]
NER_DATASETS = ["bc5cdr_chem", "bc5cdr_disease", "ncbi_disease", "bc2gm", "jnlpba", "ebm_pico"]
TASK_MIXES = {
    "tasks_re": 10,
    "tasks_re_nli_ner": 10,
    "tasks_re_nli_ner_ee_sts": 10,
    "tasks_dc": 10,
    "tasks_dc_nli_ner": 10,
    "tasks_dc_nli_ner_ee_sts": 10,
}  # mix -> --tiny instances
DOMAIN_MIXES = {
    "domain_biomed_25k": 5,
    "domain_clinical_25k": 5,
    "domain_both_25k": 5,
    "domain_biomed_50k": 10,
    "domain_clinical_50k": 10,
    "domain_both_50k": 10,
}
ABLATIONS = {
    "ablation_task_diversity.sh": ("task_diversity", TASK_MIXES, RE_DATASETS),
    "ablation_domain.sh": ("domain", DOMAIN_MIXES, NER_DATASETS),
}
SCRIPTS = ["run_biomistral_nlu.sh", *ABLATIONS]


def script_command(name, *args):
    """bash scripts/NAME ARGS, with this interpreter's python and torchrun first on PATH."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "OMP_NUM_THREADS": "1",
    }
    return {"args": ["bash", str(ROOT / "scripts" / name), *map(str, args)], "cwd": ROOT, "env": env, "text": True}


def run_script(name, *args):
    return subprocess.run(**script_command(name, *args), capture_output=True, timeout=400)


def table_row(cells):
    return "| " + " | ".join(cells) + " |"


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """One RAW folder as the scripts expect it: evaluation releases and instruction sources side by side."""
    folder = tmp_path_factory.mktemp("raw")
    for release in [*(FIXTURES / "release").iterdir(), *(FIXTURES / "instruct" / "raw").iterdir()]:
        (folder / release.name).symlink_to(release, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def runs(raw, tiny_checkpoint, tmp_path_factory):
    """script -> (OUT, first run, second run): the three scripts run to the end with --tiny side by
    side (their single-process steps then share the two cores), then each again, one at a time."""
    outs = {script: tmp_path_factory.mktemp(script.removesuffix(".sh")) for script in SCRIPTS}
    logs = {script: (out.with_suffix(".stdout"), out.with_suffix(".stderr")) for script, out in outs.items()}
    jobs = {}
    for script, out in outs.items():  # files, not pipes: a full pipe would stall a job nobody reads yet
        with open(logs[script][0], "w") as stdout, open(logs[script][1], "w") as stderr:
            jobs[script] = subprocess.Popen(
                **script_command(script, tiny_checkpoint, raw, out, "--tiny"), stdout=stdout, stderr=stderr
            )
    first = {
        script: subprocess.CompletedProcess(
            job.args, job.wait(timeout=400), logs[script][0].read_text(), logs[script][1].read_text()
        )
        for script, job in jobs.items()
    }
    for script, result in first.items():
        assert result.returncode == 0, f"{script}:\n" + result.stdout[-3000:] + result.stderr[-3000:]
    return {
        script: (outs[script], first[script], run_script(script, tiny_checkpoint, raw, outs[script], "--tiny"))
        for script in SCRIPTS
    }


def step_lines(output, prefix):
    return [line for line in output.splitlines() if line.startswith(prefix)]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_finished_run_skips_every_step_and_prints_its_result_again(runs, script):
    out, first, second = runs[script]
    ran = step_lines(first.stdout, "+ ")
    assert len(ran) >= 6  # builds, then at least mix, train, infer and evaluate
    assert second.returncode == 0, second.stderr[-3000:]
    assert step_lines(second.stdout, "+ ") == []
    skipped = step_lines(second.stdout, "skip (")
    assert [line.split("): ", 1)[1] for line in skipped] == [line[2:] for line in ran]  # same commands, in order
    last_result = first.stdout[first.stdout.rindex("\n# ") :]  # the report or table the script ends with
    assert second.stdout.endswith(last_result)


@pytest.mark.slow
def test_the_full_run_reports_the_merged_model_zero_shot(runs, tiny_checkpoint):
    out, first, _ = runs["run_biomistral_nlu.sh"]
    preds = out / "preds" / "biomistral-nlu"
    run = json.loads((preds / "run.json").read_text())
    assert Path(run["model"]) == out / "merged" / "biomistral-nlu"
    assert run["shots"] == 0 and run["backend"] == "hf"
    assert json.loads((out / "runs" / "biomistral-nlu" / "settings.json").read_text())["preset"] == "paper"
    assert sorted(Path(d).parent.name for d in run["data"]) == sorted(
        p.name for p in (out / "eval").iterdir() if p.is_dir()
    )

    fine_tuned = json.loads((out / "preds" / "biomistral-nlu-ft" / "run.json").read_text())
    assert Path(fine_tuned["model"]) == out / "runs" / "biomistral-nlu" / "model" and fine_tuned["data"] == run["data"]
    base = json.loads((out / "preds" / "base" / "run.json").read_text())
    assert Path(base["model"]).resolve() == Path(tiny_checkpoint).resolve() and base["shots"] == "paper"
    scores = json.loads((out / "reports" / "biomistral-nlu" / "scores.json").read_text())
    assert list(scores["systems"]) == ["base", "biomistral-nlu-ft", "biomistral-nlu"]  # Table 5's three rows
    system = scores["systems"]["biomistral-nlu"]
    datasets = [d for d, s in system.items() if isinstance(s, dict)]
    assert len(datasets) == 14  # the fixtures hold every dataset but i2b2-2010 in their dev splits
    report = first.stdout[first.stdout.rindex("# Evaluation report") :]
    rows = {}  # dataset -> its first row: Task | Metric | Dataset | Benchmark | Instances | ours x 3 | paper...
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 5 and cells[2] in datasets:
            rows.setdefault(cells[2], cells)
    shown = {d: rows[d][7].removesuffix("‡") for d in datasets}  # ‡: an interval wider than 20 points
    assert shown == {d: "{:.1f} [{:.1f}, {:.1f}]".format(system[d]["score"], *system[d]["ci"]) for d in datasets}
    assert (
        "| Task | Metric | Dataset | Benchmark | Instances | base | biomistral-nlu-ft | biomistral-nlu | ChatGPT |"
        in report
    )
    assert "BioMistral-NLU" in report  # the paper's columns beside ours
    assert (out / "reports" / "biomistral-nlu" / "report.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.slow
@pytest.mark.parametrize("script", ABLATIONS)
def test_an_ablation_reports_its_six_fine_tuned_systems(runs, script):
    out, first, _ = runs[script]
    experiment, mixes, datasets = ABLATIONS[script]
    for mix, total in mixes.items():
        assert len((out / "mixes" / f"{mix}.jsonl").read_text().splitlines()) == total
        assert len((out / "runs" / mix / "metrics.jsonl").read_text().splitlines()) == 2  # --max-steps 2
        run = json.loads((out / "preds" / mix / "run.json").read_text())
        assert Path(run["model"]) == out / "runs" / mix / "model"  # the fine-tuned model, not merged
        assert sorted(Path(d).parent.name for d in run["data"]) == sorted(datasets)  # joined from 2 engines' shares

    scores = json.loads((out / "reports" / experiment / "scores.json").read_text())["systems"]
    # the base model's 2-shot answers: the RE sets are choice tasks; the NER fixtures have no train split
    assert sorted(scores) == sorted([*mixes, *(["base"] if experiment == "task_diversity" else [])])
    table = (out / "figures" / experiment / "table.md").read_text()
    assert first.stdout.endswith(table)
    for mix in mixes:
        values = [scores[mix][d]["score"] for d in datasets]
        expected = [f"{v:.1f}" for v in values] + [f"{sum(values) / len(values):.1f}"]
        assert any(line.startswith(f"| {mix} |") and line.endswith(table_row(expected)) for line in table.splitlines())
    assert (out / "figures" / experiment / "figure.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_missing_argument_exits_with_the_usage_line(script, tmp_path):
    result = run_script(script, tmp_path, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(f"usage: scripts/{script} MODEL RAW OUT")
    assert result.stderr.splitlines()[1] == "error: expected MODEL RAW OUT, got 2 argument(s)"
    assert result.stdout == ""


# ---------------------------------------------------------------------------------------------
# plot_ablation.py on hand-written scores


def load_plot_ablation():
    spec = importlib.util.spec_from_file_location("plot_ablation", ROOT / "scripts" / "plot_ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scores_json(path, systems):
    """A scores.json shaped like evaluate.py's: per system, dataset dicts plus benchmark averages."""
    document = {
        "mode": "benchmark",
        "systems": {
            name: {
                **{
                    d: {"task": "re", "metric": "micro F1", "score": s, "n": 10, "unparseable": 0}
                    for d, s in scores.items()
                },
                "BLURB": 99.0,
                "BLURB_present": list(scores),
                "BLURB_missing": [],
            }
            for name, scores in systems.items()
        },
    }
    path.write_text(json.dumps(document))
    return path


TASK_SCORES = {  # chemprot, ddi, gad; hoc is not an RE dataset and must not enter the mean
    "tasks_re": {"chemprot": 10.0, "ddi": 20.0, "gad": 60.0, "hoc": 0.0},  # mean 30.0
    "tasks_re_nli_ner": {"chemprot": 12.5, "ddi": 25.0, "gad": 50.0},  # mean 29.1666.. -> 29.2
    "tasks_re_nli_ner_ee_sts": {"chemprot": 40.0, "ddi": 41.0, "gad": 42.0},  # mean 41.0
    "tasks_dc": {"chemprot": 0.0, "ddi": 0.0, "gad": 3.0},  # mean 1.0
    "tasks_dc_nli_ner": {"chemprot": 1.5, "ddi": 2.5, "gad": 3.5},  # mean 2.5
    "tasks_dc_nli_ner_ee_sts": {"chemprot": 100.0, "ddi": 0.0, "gad": 50.0},  # mean 50.0
}


def test_the_table_gives_each_systems_scores_and_their_hand_computed_mean(tmp_path, capsys):
    plot_ablation = load_plot_ablation()
    scores = scores_json(tmp_path / "scores.json", TASK_SCORES)
    plot_ablation.main([str(scores), "--experiment", "task_diversity", "--out", str(tmp_path / "fig")])
    table = (tmp_path / "fig" / "table.md").read_text()
    assert (
        table
        == "\n".join(
            [
                "# Task diversity (Figure 2)",
                "",
                "| system | mix | task types | chemprot | ddi | gad | mean RE micro F1 |",
                "|---|---|---|---|---|---|---|",
                "| tasks_re | w/ RE | 1 | 10.0 | 20.0 | 60.0 | 30.0 |",
                "| tasks_re_nli_ner | w/ RE | 3 | 12.5 | 25.0 | 50.0 | 29.2 |",
                "| tasks_re_nli_ner_ee_sts | w/ RE | 5 | 40.0 | 41.0 | 42.0 | 41.0 |",
                "| tasks_dc | w/o RE | 1 | 0.0 | 0.0 | 3.0 | 1.0 |",
                "| tasks_dc_nli_ner | w/o RE | 3 | 1.5 | 2.5 | 3.5 | 2.5 |",
                "| tasks_dc_nli_ner_ee_sts | w/o RE | 5 | 100.0 | 0.0 | 50.0 | 50.0 |",
                "",
                "Not in any system's scores, so left out of every mean: i2b2_2010.",
            ]
        )
        + "\n"
    )
    assert capsys.readouterr().out == table
    assert (tmp_path / "fig" / "figure.png").read_bytes().startswith(PNG_SIGNATURE)


def test_the_domain_figure_groups_the_six_systems_by_size(tmp_path):
    plot_ablation = load_plot_ablation()
    systems = {
        f"domain_{domain}_{size}": {d: 10.0 * i + j for j, d in enumerate(NER_DATASETS)}  # mean 10 i + 2.5
        for i, (domain, size) in enumerate((d, s) for s in ("25k", "50k") for d in ("biomed", "clinical", "both"))
    }
    scores = scores_json(tmp_path / "scores.json", systems)
    plot_ablation.main([str(scores), "--experiment", "domain", "--out", str(tmp_path / "fig")])
    rows = (tmp_path / "fig" / "table.md").read_text().splitlines()[4:]
    assert rows[0] == "| domain_biomed_25k | biomedical | 25k | 0.0 | 1.0 | 2.0 | 3.0 | 4.0 | 5.0 | 2.5 |"
    assert rows[5] == "| domain_both_50k | both | 50k | 50.0 | 51.0 | 52.0 | 53.0 | 54.0 | 55.0 | 52.5 |"
    assert (tmp_path / "fig" / "figure.png").read_bytes().startswith(PNG_SIGNATURE)


def test_the_base_models_2_shot_scores_are_a_baseline_row_and_line(tmp_path):
    plot_ablation = load_plot_ablation()
    with_i2b2 = {name: {**scores, "i2b2_2010": 8.0} for name, scores in TASK_SCORES.items()}
    base = {"chemprot": 1.0, "ddi": 2.0, "gad": 3.0, "i2b2_2010": 6.0}  # mean 3.0
    scores = scores_json(tmp_path / "scores.json", {**with_i2b2, "base": base})
    plot_ablation.main([str(scores), "--experiment", "task_diversity", "--out", str(tmp_path / "fig")])
    lines = (tmp_path / "fig" / "table.md").read_text().splitlines()
    assert lines[2] == "| system | mix | task types | chemprot | ddi | gad | i2b2_2010 | mean RE micro F1 |"
    assert lines[4] == "| tasks_re | w/ RE | 1 | 10.0 | 20.0 | 60.0 | 8.0 | 24.5 |"  # (10 + 20 + 60 + 8) / 4
    assert lines[-1] == "| base | baseline, 2-shot | - | 1.0 | 2.0 | 3.0 | 6.0 | 3.0 |"
    assert (tmp_path / "fig" / "figure.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_baseline_without_some_dataset_shows_no_mean_and_says_why(tmp_path):
    plot_ablation = load_plot_ablation()
    base = {"chemprot": 1.0, "gad": 3.0}  # no ddi
    scores = scores_json(tmp_path / "scores.json", {**TASK_SCORES, "base": base})
    plot_ablation.main([str(scores), "--experiment", "task_diversity", "--out", str(tmp_path / "fig")])
    lines = (tmp_path / "fig" / "table.md").read_text().splitlines()
    assert "| base | baseline, 2-shot | - | 1.0 | - | 3.0 | - |" in lines
    assert lines[-1] == "`base` has no 2-shot score for ddi (no train split), so no mean."


def test_a_dataset_some_systems_have_and_others_lack_is_an_error(tmp_path):
    plot_ablation = load_plot_ablation()
    uneven = {**TASK_SCORES, "tasks_re": {**TASK_SCORES["tasks_re"], "i2b2_2010": 8.0}}
    scores = scores_json(tmp_path / "scores.json", uneven)
    with pytest.raises(InputError, match="system 'tasks_re_nli_ner' has no score for i2b2_2010"):
        plot_ablation.main([str(scores), "--experiment", "task_diversity", "--out", str(tmp_path / "fig")])


def test_a_missing_score_is_an_error_naming_the_system_and_dataset(tmp_path):
    plot_ablation = load_plot_ablation()
    incomplete = {**TASK_SCORES, "tasks_dc": {"chemprot": 0.0, "gad": 3.0}}
    scores = scores_json(tmp_path / "scores.json", incomplete)
    with pytest.raises(InputError) as error:
        plot_ablation.main([str(scores), "--experiment", "task_diversity", "--out", str(tmp_path / "fig")])
    assert str(error.value) == f"{scores}: system 'tasks_dc' has no score for ddi"
    assert not (tmp_path / "fig").exists()


def test_a_dataset_scored_on_part_of_its_test_set_is_an_error(tmp_path):
    plot_ablation = load_plot_ablation()
    scores = scores_json(tmp_path / "scores.json", TASK_SCORES)
    document = json.loads(scores.read_text())
    document["systems"]["tasks_dc"]["ddi"]["complete"] = False  # evaluate.py --allow-partial on a killed run
    scores.write_text(json.dumps(document))
    with pytest.raises(InputError, match="system 'tasks_dc' was scored on part of the test set of ddi"):
        plot_ablation.main([str(scores), "--experiment", "task_diversity", "--out", str(tmp_path / "fig")])
    assert not (tmp_path / "fig").exists()


def test_without_matplotlib_the_table_is_still_written(tmp_path, monkeypatch, capsys):
    plot_ablation = load_plot_ablation()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    scores = scores_json(tmp_path / "scores.json", TASK_SCORES)
    plot_ablation.main([str(scores), "--experiment", "task_diversity", "--out", str(tmp_path / "fig")])
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == [MARKER, "table.md"]
    captured = capsys.readouterr()
    assert "| tasks_re | w/ RE | 1 | 10.0 | 20.0 | 60.0 | 30.0 |" in captured.out
    assert captured.err.strip() == (
        "plot_ablation.py: matplotlib is not installed (pip install -e '.[plot]' from the checkout); "
        "wrote the table only"
    )
