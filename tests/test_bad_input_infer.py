"""infer.py on bad input: one line naming the file (and line), exit status 2, nothing changed.

Every case runs the real command line (`python infer.py ...`) and checks the promise of
tests/clichecks.py: no traceback, no record text in what is printed (every record and text
holds SECRET), every file below the case's folder and the model folders byte for byte as it
was, and nothing new anywhere: no --out, no run.json, no prediction file, no temporary.
"""

import json
import shutil

import pytest

from clichecks import assert_clean_failure, checksums, hidden_leftovers, run_command
from mnlu.fileio import MARKER
from mnlu.tasks import ner_record

SECRET = "Mrs Quillfeather's glowing fingernails after zorbamycin"


def record(i, dataset="demo", split="test"):
    """A valid span record whose text holds SECRET (every record has the same answer)."""
    return ner_record(
        id=f"r{i}",
        dataset=dataset,
        split=split,
        text=f"{SECRET}, case {i}.",
        labels=["Disease", "Drug"],
        spans=[{"label": "Disease", "text": "glowing fingernails"}],
    )


def jsonl(path, records):
    """Write `records` (dicts as JSON, bytes as they are) one a line; return `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records))
    return path


def infer_folder(out, run=None, **predictions):
    """An earlier infer.py --out: the marker, a run.json (text, or a dict) and prediction files (raw text)."""
    out.mkdir(parents=True)
    (out / MARKER).write_text(json.dumps({"written_by": "infer.py"}) + "\n")
    if run is not None:
        (out / "run.json").write_text(run if isinstance(run, str) else json.dumps(run))
    for dataset, text in predictions.items():
        (out / f"{dataset}.jsonl").write_text(text)
    return out


def damaged_model(tmp, model, change):
    """A copy of the tiny model folder with `change(folder)` applied."""
    folder = tmp / "model"
    shutil.copytree(model, folder)
    change(folder)
    return folder


def truncate(file):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def remove_tokenizer(folder):
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)


def good(tmp):
    """The good test file: three records of dataset demo."""
    return jsonl(tmp / "data" / "demo" / "test.jsonl", [record(i) for i in range(3)])


# Each case: (tmp, model folder) -> (infer.py arguments, what its error line must name). Without
# --model the tiny model is added, and without --out (or --task) tmp/a/b/preds.
CASES = {}


def case(setup):
    CASES[setup.__name__.replace("_", " ")] = setup
    return setup


@case
def dataset_that_is_a_path(tmp, model):
    data = jsonl(tmp / "d" / "test.jsonl", [record(0), record(1, dataset="../../evil")])
    return ["--data", data], [f"{data}:2:", "'dataset'"]


@case
def record_not_utf8(tmp, model):
    data = jsonl(tmp / "d" / "test.jsonl", [record(0), f"{SECRET} \xe9".encode("latin-1")])
    return ["--data", data], [f"{data}:2: not UTF-8"]


@case
def dataset_in_two_files(tmp, model):
    other = jsonl(tmp / "other" / "test.jsonl", [record(7)])
    return ["--data", good(tmp), other], [f"{other}:1: dataset 'demo' is also in {good(tmp)}"]


@case
def id_repeated_past_the_limit(tmp, model):
    data = jsonl(tmp / "d" / "test.jsonl", [record(0), record(1), record(0)])
    return ["--data", data, "--limit", "1"], [f"{data}:3: id 'r0' appears twice in dataset demo (first on line 1)"]


@case
def data_file_empty(tmp, model):
    empty = jsonl(tmp / "empty" / "test.jsonl", [])
    return ["--data", good(tmp), empty], [f"{empty}: no records"]


@case
def data_file_missing(tmp, model):
    return ["--data", good(tmp), tmp / "missing.jsonl"], [tmp / "missing.jsonl"]


@case
def shots_without_a_train_split(tmp, model):
    return ["--data", good(tmp), "--shots", "2"], [f"{tmp / 'data' / 'demo' / 'train.jsonl'}: no such file"]


@case
def shots_from_a_train_split_too_small(tmp, model):
    train = jsonl(tmp / "data" / "demo" / "train.jsonl", [record(i, split="train") for i in (8, 9)])  # one answer
    return ["--data", good(tmp), "--shots", "2"], [f"{train}: dataset demo: the train split has fewer than 2"]


@case
def out_a_users_folder(tmp, model):
    jsonl(tmp / "built" / "hoc" / "test.jsonl", [record(5)])
    return ["--data", good(tmp), "--out", tmp / "built"], [f"--out {tmp / 'built'} is a folder that infer.py did not"]


@case
def out_a_file(tmp, model):
    (tmp / "notes.txt").write_text("mine\n")
    return ["--data", good(tmp), "--out", tmp / "notes.txt"], [f"--out {tmp / 'notes.txt'} is an existing file"]


@case
def out_above_an_input(tmp, model):
    return ["--data", good(tmp), "--out", tmp / "data"], [f"--out {tmp / 'data'} holds the input {good(tmp)}"]


@case
def out_the_model_folder(tmp, model):
    return ["--data", good(tmp), "--out", model], [f"--out {model} holds the input {model}"]


@case
def earlier_predictions_corrupt(tmp, model):
    done = json.dumps({**record(0), "prediction": SECRET})
    out = infer_folder(tmp / "p", demo=f'{done}\n{{"prediction": "{SECRET}"}}\n')
    return ["--data", good(tmp), "--out", out], [f"{out / 'demo.jsonl'}:2: not a prediction record"]


@case
def earlier_predictions_a_link_out_of_the_folder(tmp, model):  # appending would write outside --out
    out = infer_folder(tmp / "p")
    (out / "demo.jsonl").symlink_to(jsonl(tmp / "elsewhere.jsonl", [record(0)]))
    return ["--data", good(tmp), "--out", out], [f"{out / 'demo.jsonl'}: a symbolic link"]


@case
def earlier_run_json_not_json(tmp, model):
    out = infer_folder(tmp / "p", run='{"model": ')
    return ["--data", good(tmp), "--out", out], [f"{out / 'run.json'}: not valid JSON"]


@case
def earlier_run_of_other_settings(tmp, model):
    run = {
        "model": str(model),
        "backend": "hf",
        "dtype": "float32",
        "shots": 0,
        "seed": 99,
        "data": [],
        "instances": {"demo": 3},
    }
    out = infer_folder(tmp / "p", run=run, demo=json.dumps({**record(0), "prediction": SECRET}) + "\n")
    return ["--data", good(tmp), "--out", out], [
        f"{out / 'run.json'}: this folder holds predictions made with seed=99, this run has seed=0"
    ]


@case
def model_weights_truncated(tmp, model):
    folder = damaged_model(tmp, model, lambda f: truncate(f / "model.safetensors"))
    return ["--data", good(tmp), "--model", folder], [f"{folder / 'model.safetensors'}: not a readable safetensors"]


@case
def model_without_tokenizer(tmp, model):
    folder = damaged_model(tmp, model, remove_tokenizer)
    return ["--data", good(tmp), "--model", folder], [f"{folder}: no tokenizer"]


@case
def model_without_config(tmp, model):
    folder = damaged_model(tmp, model, lambda f: (f / "config.json").unlink())
    return ["--data", good(tmp), "--model", folder], [f"{folder}: no config.json"]


@case
def model_config_transformers_cannot_read(tmp, model):  # found only by the load itself: still nothing written
    folder = damaged_model(tmp, model, lambda f: (f / "config.json").write_text("{}"))
    return ["--data", good(tmp), "--model", folder], [f"{folder}: the model could not be loaded"]


@case
def model_config_dtype_unknown(tmp, model):  # transformers asks torch for it by name
    def odd_dtype(folder):
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "dtype": "float33"}))

    folder = damaged_model(tmp, model, odd_dtype)
    return ["--data", good(tmp), "--model", folder], [
        f"{folder / 'config.json'}: 'dtype' is 'float33', not a torch dtype"
    ]


@case
def model_folder_missing(tmp, model):
    return ["--data", good(tmp), "--model", tmp / "no-model"], [f"{tmp / 'no-model'}: no such model folder"]


@case
def own_text_input_missing(tmp, model):
    return ["--task", "ner", "--labels", "Disease", "--input", tmp / "texts.txt"], [tmp / "texts.txt"]


@case
def own_text_input_blank(tmp, model):
    texts = jsonl(tmp / "texts.txt", [b"", b"  "])
    return ["--task", "ner", "--labels", "Disease", "--input", texts], [f"{texts}: no text in it"]


@case
def own_text_input_not_utf8(tmp, model):
    texts = jsonl(tmp / "texts.txt", [{"id": "a", "text": SECRET}, f"{SECRET} \xe9".encode("latin-1")])
    return ["--task", "ner", "--labels", "Disease", "--input", texts], [f"{texts}:2: not UTF-8 text"]


@case
def own_text_input_a_plain_text_line(tmp, model):  # --input is JSON lines, not one document a line
    texts = jsonl(tmp / "texts.txt", [b"", SECRET.encode()])
    return ["--task", "ner", "--labels", "Disease", "--input", texts], [f"{texts}:2: not valid JSON"]


@case
def own_text_input_line_without_id(tmp, model):
    texts = jsonl(tmp / "texts.jsonl", [{"id": "a", "text": SECRET}, b"", {"text": f"{SECRET}\nline 2"}])
    return ["--task", "ner", "--labels", "Disease", "--input", texts], [f"{texts}:3: 'id' is missing"]


@case
def own_text_input_id_repeated(tmp, model):
    texts = jsonl(tmp / "texts.jsonl", [{"id": "a", "text": SECRET}, {"id": "a", "text": SECRET}])
    return ["--task", "ner", "--labels", "Disease", "--input", texts], [f"{texts}:2: 'id' is the same as on line 1"]


@case
def own_text_ner_without_labels(tmp, model):
    return ["--task", "ner", "--text", SECRET], ["--task ner needs --labels"]


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_bad_input_fails_cleanly_and_changes_nothing(name, tmp_path, tiny_checkpoint):  # noqa: F811
    args, names = CASES[name](tmp_path, tiny_checkpoint)
    if "--model" not in args:
        args += ["--model", tiny_checkpoint]
    if "--task" not in args and "--out" not in args:
        args += ["--out", tmp_path / "a" / "b" / "preds"]  # a dataset "../../evil" would land in tmp_path/a
    before = checksums(tmp_path, tiny_checkpoint)

    result = run_command(["infer.py", *args, "--max-tokens", "2"], env={"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})

    assert_clean_failure(result, "infer.py", names=names, secrets=[SECRET])
    assert checksums(tmp_path, tiny_checkpoint) == before  # inputs as they were, nothing new
    assert hidden_leftovers(tmp_path, tiny_checkpoint) == []
