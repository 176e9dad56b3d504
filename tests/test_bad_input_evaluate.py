"""evaluate.py on bad input: one line naming the file, exit 2, nothing touched, nothing leaked.

Every case runs the real command line on a small hand-made prediction folder whose records all
hold SECRET in their text; the promise (tests/clichecks.py) is checked for each. Then what must
work: --allow-partial, run.json completeness, re-running into the same --out, strict JSON.
"""

import json
import os
import re
from pathlib import Path

import pytest

from clichecks import assert_clean_failure, checksums, hidden_leftovers, run_command
from mnlu.tasks import ner_record, qa_record, re_record, sts_record

ROOT = Path(__file__).resolve().parent.parent
EVALUATE = ROOT / "evaluate.py"
SECRET = "Quorplex hepatitis in patient 7741"  # the clinical text no message may show
CRITERIA = [(v, f"similarity {v}") for v in range(5)]


def qa(i, answer="yes", prediction="(A)"):
    record = qa_record(
        id=f"pubmedqa-{i}",
        dataset="pubmedqa",
        split="test",
        question="Does it work?",
        text=f"{SECRET}, study {i}.",
        options=["yes", "no", "maybe"],
        answer=answer,
        shuffle=False,
    )
    return {**record, "prediction": prediction}


def sts(i, score, prediction):
    record = sts_record(
        id=f"biosses-{i}",
        dataset="biosses",
        split="test",
        sentence_1=f"{SECRET} {i}.",
        sentence_2="It is well.",
        criteria=CRITERIA,
        score=score,
        shuffle=False,
    )
    return {**record, "prediction": prediction}


def ner(i):
    record = ner_record(
        id=f"bc5cdr_chem-{i}",
        dataset="bc5cdr_chem",
        split="test",
        text=f"Aspirin. {SECRET}.",
        labels=["Chemical"],
        spans=[{"label": "Chemical", "text": "Aspirin", "start": 0, "end": 7}],
        shuffle=False,
    )
    return {**record, "prediction": "Chemical: Aspirin"}


def ddi(i):
    record = re_record(
        id=f"ddi-{i}",
        dataset="ddi",
        split="test",
        text=f"A raises B. {SECRET}.",
        type_1="Drug",
        span_1="A",
        type_2="Drug",
        span_2="B",
        options=["effect", "no interaction"],
        answer="effect",
        negative="no interaction",
        shuffle=False,
    )
    return {**record, "prediction": "(A)"}


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def system(root, name="sys", n=4, run=None):
    """A prediction folder: `n` pubmedqa predictions (3 in 4 right), and run.json when `run` is given
    (its text, or an object to write as JSON)."""
    folder = root / "preds" / name
    write_jsonl(folder / "pubmedqa.jsonl", [qa(i, prediction="(A)" if i % 4 else "(B)") for i in range(n)])
    if run is not None:
        text = run if isinstance(run, (str, bytes)) else json.dumps(run)
        (folder / "run.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def with_gold(record, **gold):
    return {**record, "gold": {**record["gold"], **gold}}


def bad_file(root, name, lines):
    """A system whose file `name` holds `lines` (bytes, str or records), one a line."""
    folder = system(root)
    content = b""
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        content += (line if isinstance(line, bytes) else line.encode()) + b"\n"
    (folder / name).write_bytes(content)
    return folder, folder / name


# ---------------------------------------------------------------------------------------------
# each case: build(root) -> (evaluate.py arguments, what the error line must name)


def out_is_input(root):
    folder = system(root)
    return [folder, "--out", folder], [folder]


def out_above_input(root):
    folder = system(root)
    return [folder, "--out", root / "preds"], [root / "preds"]


def out_foreign_folder(root):
    (root / "work").mkdir()
    (root / "work" / "notes.txt").write_text("the user's own notes\n")
    return [system(root), "--out", root / "work"], [root / "work"]


def out_dot(root):
    return [system(root), "--out", "."], ["--out ."]


def out_is_file(root):
    (root / "results.txt").write_text("kept\n")
    return [system(root), "--out", root / "results.txt"], [root / "results.txt"]


def out_link_loop(root):
    (root / "loop").symlink_to("loop")
    return [system(root), "--out", root / "loop"], [root / "loop"]


def missing_folder(root):
    system(root)
    return [root / "preds" / "nope", "--out", root / "out"], [root / "preds" / "nope"]


def folder_link_loop(root):
    (root / "preds").mkdir()
    (root / "preds" / "loop").symlink_to("loop")
    return [root / "preds" / "loop", "--out", root / "out"], [root / "preds" / "loop"]


def same_names(root):
    a, b = system(root / "a"), system(root / "b")
    return [a, b, "--out", root / "out"], [a, b]


def empty_folder(root):
    (root / "preds" / "sys").mkdir(parents=True)
    return [root / "preds" / "sys", "--out", root / "out"], [root / "preds" / "sys"]


def prediction_file_case(name, lines, line_number):
    """A case: `name` in the system folder holds `lines`; the error names `file:line_number`."""

    def build(root):
        folder, path = bad_file(root, name, lines)
        return [folder, "--out", root / "out"], [f"{path}:{line_number}" if line_number else path]

    return build


def folder_named_like_a_file(root):
    folder = system(root)
    (folder / "gad.jsonl").mkdir()
    return [folder, "--out", root / "out"], [folder / "gad.jsonl"]


def file_link_loop(root):
    folder = system(root)
    (folder / "gad.jsonl").symlink_to("gad.jsonl")
    return [folder, "--out", root / "out"], [folder / "gad.jsonl"]


def released_without_answer(root):
    record = qa(0)
    folder, path = bad_file(root, "pubmedqa.jsonl", [{**record, "messages": record["messages"][:1]}])
    return [folder, "--out", root / "out", "--compat", "released"], [f"{path}:1"]


def run_json_case(run):
    def build(root):
        folder = system(root, run=run)
        return [folder, "--out", root / "out"], [folder / "run.json"]

    return build


def run_json_made(make):
    def build(root):
        folder = system(root)
        make(folder / "run.json")
        return [folder, "--out", root / "out"], [folder / "run.json"]

    return build


def more_than_expected(root):
    folder = system(root, n=4, run={"instances": {"pubmedqa": 3}})
    return [folder, "--out", root / "out"], [folder / "pubmedqa.jsonl", "4", "3"]


def incomplete(root):
    folder = system(root, n=4, run={"instances": {"pubmedqa": 6, "mednli": 2}})
    return [folder, "--out", root / "out"], [
        f"{folder / 'pubmedqa.jsonl'} has 4 of 6",
        f"{folder / 'mednli.jsonl'} has 0 of 2",
        "--allow-partial",
    ]


BAD_INPUTS = {
    "out is the prediction folder": out_is_input,
    "out holds the prediction folder": out_above_input,
    "out is a folder evaluate.py did not write": out_foreign_folder,
    "out is the working folder": out_dot,
    "out is a file": out_is_file,
    "out is a loop of links": out_link_loop,
    "prediction folder missing": missing_folder,
    "prediction folder is a loop of links": folder_link_loop,
    "two systems of one name": same_names,
    "no prediction files": empty_folder,
    "a folder named gad.jsonl": folder_named_like_a_file,
    "a prediction file linked to itself": file_link_loop,
    "not UTF-8": prediction_file_case("pubmedqa.jsonl", [qa(0), SECRET.encode("latin-1") + b"\xe9\xff"], 2),
    "UTF-16": prediction_file_case("pubmedqa.jsonl", [json.dumps(qa(0)).encode("utf-16")], 1),
    "nesting 100,000 deep": prediction_file_case("pubmedqa.jsonl", [qa(0), "[" * 100_000 + "]" * 100_000], 2),
    "an integer of 5,000 digits": prediction_file_case(
        "biosses.jsonl", [json.dumps(sts(0, 1.0, "(B)"))[:-1] + ', "n": ' + "7" * 5000 + "}"], 1
    ),
    "string option_scores": prediction_file_case(
        "biosses.jsonl", [with_gold(sts(0, 1.0, "(B)"), option_scores="01234")], 1
    ),
    "numeric option_scores": prediction_file_case("biosses.jsonl", [with_gold(sts(0, 1.0, "(B)"), option_scores=4)], 1),
    "NaN gold score": prediction_file_case(
        "biosses.jsonl", [sts(0, 1.0, "(B)"), with_gold(sts(1, 2.0, "(C)"), score=float("nan"))], 2
    ),
    "infinite gold score": prediction_file_case(
        "biosses.jsonl", [with_gold(sts(0, 1.0, "(B)"), score=float("inf"))], 1
    ),
    "gold score past float range": prediction_file_case(
        "biosses.jsonl", [json.dumps(sts(0, 1.0, "(B)")).replace('"score": 1.0', '"score": 1e400')], 1
    ),
    "gold score of 400 digits": prediction_file_case(
        "biosses.jsonl", [json.dumps(sts(0, 1.0, "(B)")).replace('"score": 1.0', '"score": 1' + "0" * 400)], 1
    ),
    "NaN option score": prediction_file_case(
        "biosses.jsonl", [with_gold(sts(0, 1.0, "(B)"), option_scores=[0, 1, float("nan"), 3, 4])], 1
    ),
    "string span offset": prediction_file_case(
        "bc5cdr_chem.jsonl",
        [ner(0), with_gold(ner(1), spans=[{"label": "Chemical", "text": "Aspirin", "start": "0", "end": 7}])],
        2,
    ),
    "span offset past the text": prediction_file_case(
        "bc5cdr_chem.jsonl",
        [with_gold(ner(0), spans=[{"label": "Chemical", "text": "Aspirin", "start": 0, "end": 700}])],
        1,
    ),
    "letters not strings": prediction_file_case("pubmedqa.jsonl", [with_gold(qa(0), letters=[["A"]])], 1),
    "no answer for a relation": prediction_file_case("ddi.jsonl", [with_gold(ddi(0), letters=[], answers=[])], 1),
    "multi_label not a boolean": prediction_file_case("pubmedqa.jsonl", [with_gold(qa(0), multi_label="no")], 1),
    "negative not a string": prediction_file_case("ddi.jsonl", [with_gold(ddi(0), negative=["no interaction"])], 1),
    "negative not an option": prediction_file_case("ddi.jsonl", [with_gold(ddi(0), negative="none")], 1),
    "dataset named like an average": prediction_file_case("BLURB.jsonl", [{**qa(0), "dataset": "BLURB"}], None),
    "released scorer without the gold answer": released_without_answer,
    "run.json not JSON": run_json_case('{"instances": {"pubmedqa": 4'),
    "run.json a list": run_json_case([1, 2]),
    "run.json not UTF-8": run_json_case(b'{"instances": {"pubmedqa": 4}, "model": "caf\xe9"}'),
    "run.json a folder": run_json_made(Path.mkdir),
    "run.json a loop of links": run_json_made(lambda path: path.symlink_to("run.json")),
    "run.json instances a number": run_json_case({"instances": 4}),
    "run.json count a string": run_json_case({"instances": {"pubmedqa": "4"}}),
    "run.json count negative": run_json_case({"instances": {"pubmedqa": -1}}),
    "run.json dataset a path": run_json_case({"instances": {"../pubmedqa": 4}}),
    "more predictions than run.json expects": more_than_expected,
    "fewer predictions than run.json expects": incomplete,
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_fails_cleanly(tmp_path, case):
    argv, names = BAD_INPUTS[case](tmp_path)
    before = checksums(tmp_path)
    result = run_command([EVALUATE, *argv], cwd=tmp_path)
    assert_clean_failure(result, "evaluate.py", names=names, secrets=[SECRET])
    assert checksums(tmp_path) == before, "an input or an existing folder was changed"
    assert hidden_leftovers(tmp_path) == []
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# what must work


def strict_json(path):
    """scores.json parsed the way any strict JSON reader would: NaN or Infinity is an error."""

    def refuse(constant):
        raise AssertionError(f"{path} holds {constant}, which is not JSON")

    return json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=refuse)


def evaluate(*argv, cwd=ROOT):
    result = run_command([EVALUATE, *argv], cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    assert SECRET not in result.stdout + result.stderr
    return result


def test_allow_partial_writes_a_report_marked_incomplete(tmp_path):
    folder = system(tmp_path, n=4, run={"instances": {"pubmedqa": 6, "mednli": 2}})
    result = evaluate(folder, "--out", tmp_path / "out", "--allow-partial")
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert any(f"{folder / 'pubmedqa.jsonl'} has 4 of 6" in line for line in warnings), result.stderr
    assert any(f"{folder / 'mednli.jsonl'} has 0 of 2" in line for line in warnings), result.stderr

    document = strict_json(tmp_path / "out" / "scores.json")
    pubmedqa = document["systems"]["sys"]["pubmedqa"]
    assert (pubmedqa["score"], pubmedqa["n"], pubmedqa["expected"], pubmedqa["complete"]) == (75.0, 4, 6, False)
    assert document["completeness"]["sys"] == {
        "checked": True,
        "source": str(folder / "run.json"),
        "incomplete": {"pubmedqa": {"n": 4, "expected": 6}, "mednli": {"n": 0, "expected": 2}},
    }
    report = (tmp_path / "out" / "report.md").read_text()
    # 3 of 4 right: an interval this wide (4 instances) is flagged
    assert re.search(r"\| pubmedqa \| BLURB \| 4 \| 75\.0 \[\d+\.\d, 100\.0\]‡ \(n=4 of 6, incomplete\) \|", report)
    assert "| mednli | BLUE | - | - (n=0 of 2, incomplete) |" in report
    assert "INCOMPLETE" in report
    assert "n=4 of 6, incomplete" in (tmp_path / "out" / "scores.csv").read_text()


def test_complete_and_unchecked_folders_say_so(tmp_path):
    checked = system(tmp_path, name="checked", n=4, run={"instances": {"pubmedqa": 4}, "model": "m"})
    unchecked = system(tmp_path, name="handmade", n=4)
    evaluate(checked, unchecked, "--out", tmp_path / "out")
    document = strict_json(tmp_path / "out" / "scores.json")
    assert document["systems"]["checked"]["pubmedqa"]["complete"] is True
    assert document["systems"]["handmade"]["pubmedqa"]["complete"] is None
    assert document["completeness"]["handmade"]["checked"] is False
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"- `checked`: checked against `{checked / 'run.json'}`: every listed dataset complete." in report
    assert "- `handmade`: completeness not checked: no run.json" in report


def test_undefined_pearson_scores_0_with_its_reason_never_nan(tmp_path):
    folder = tmp_path / "preds" / "sys"
    write_jsonl(folder / "biosses.jsonl", [sts(i, score, "(C)") for i, score in enumerate([0.2, 1.8, 3.9])])
    write_jsonl(folder / "pubmedqa.jsonl", [qa(0), qa(1, prediction="(B)")])
    evaluate(folder, "--out", tmp_path / "out", "--plot" if _has_matplotlib() else "--paper")
    systems = strict_json(tmp_path / "out" / "scores.json")["systems"]["sys"]
    assert systems["biosses"]["score"] == 0.0
    assert systems["biosses"]["note"] == "the predicted scores are constant: Pearson is undefined, scored 0"
    assert systems["pubmedqa"]["score"] == 50.0 and systems["BLURB"] == 25.0  # (0 + 50) / 2, never a NaN mean
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| sts | Pearson | biosses | BLURB+BLUE | 3 | 0.0 [0.0, 0.0] |" in report  # every resample too
    assert "biosses, `sys` (the predicted scores are constant: Pearson is undefined, scored 0):" in report


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# evaluate.py run with `import matplotlib` failing, as in the vLLM environment, whether or not it is installed here
WITHOUT_MATPLOTLIB = (
    "import runpy, sys; sys.modules['matplotlib'] = None; sys.argv.pop(0); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def test_plot_without_matplotlib_writes_the_report_and_warns(tmp_path):
    out = tmp_path / "out"
    result = run_command(["-c", WITHOUT_MATPLOTLIB, EVALUATE, system(tmp_path), "--out", out, "--plot"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == [".mnlu-output.json", "report.md", "scores.csv", "scores.json"]
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]  # the rest: tqdm's progress
    assert warnings == [
        "evaluate.py: warning: --plot needs matplotlib (pip install -e '.[plot]' from the checkout); "
        "wrote the report without report.png"
    ]
    assert result.stderr.rstrip().endswith("without report.png")  # after the report was written
    assert result.stdout.splitlines()[-1] == f"wrote {out}/report.md, scores.json, scores.csv"
    assert strict_json(out / "scores.json")["systems"]["sys"]["pubmedqa"]["score"] == 75.0


def test_rerun_replaces_its_own_report_and_nothing_else(tmp_path):
    first, second = system(tmp_path, name="first"), system(tmp_path, name="second", n=2)
    out = tmp_path / "reports" / "run"
    (tmp_path / "reports" / "keep.txt").parent.mkdir(parents=True)
    (tmp_path / "reports" / "keep.txt").write_text("beside the report\n")
    evaluate(first, "--out", out)
    inputs = checksums(tmp_path / "preds", tmp_path / "reports" / "keep.txt")
    evaluate(second, "--out", out)
    assert set(strict_json(out / "scores.json")["systems"]) == {"second"}
    assert sorted(p.name for p in out.iterdir()) == [".mnlu-output.json", "report.md", "scores.csv", "scores.json"]
    assert checksums(tmp_path / "preds", tmp_path / "reports" / "keep.txt") == inputs
    assert hidden_leftovers(tmp_path) == []


def test_an_empty_out_folder_is_used(tmp_path):
    (tmp_path / "out").mkdir()
    evaluate(system(tmp_path), "--out", "out", cwd=tmp_path)
    assert (tmp_path / "out" / "report.md").is_file()
    assert set(os.listdir(tmp_path)) == {"out", "preds"}
