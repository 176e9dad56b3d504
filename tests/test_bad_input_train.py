"""train.py on bad input: one `train.py: error:` line naming the file, exit 2, inputs untouched, nothing left.

Every case runs against a tiny Llama and its records in `world`, and most against a copy of a
finished two-step run (`--max-steps 2 --save-every 1`, so `checkpoints/step-000002`); `world` is
checksummed before and after, so a case that changed, created or deleted anything there fails.
Most cases call train.py's `run` in this process (the script's entry point, without the seconds of
imports); the ones marked `process` run the real command line. Damaged and crafted checkpoints
are here too: resuming never runs code from a checkpoint, and falls back past a damaged one.
"""

import importlib
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file
from torch.distributed.checkpoint.filesystem import _StorageInfo

import train
from clichecks import ROOT, assert_clean_failure, checksums, hidden_leftovers, run_command
from helpers import make_model_dir, make_records, write_jsonl
from mnlu import checkpoints
from mnlu.checkpoints import _read_index, latest_checkpoint
from mnlu.checkpoints import checkpoints as checkpoint_folders

OFFLINE = {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}  # a hub id fails at once; 2 busy cores
RUN = [
    "--global-batch-size",
    "4",
    "--micro-batch-size",
    "4",
    "--max-steps",
    "2",
    "--save-every",
    "1",
    "--dtype",
    "fp32",
    "--export-dtype",
    "fp32",
]
SECRET = "SECRET-PATIENT-NOTE"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A tiny Llama, its records and a finished run of it; the cases copy what they change."""
    root = tmp_path_factory.mktemp("train-inputs")
    model, data = make_model_dir(root / "model", family="llama"), write_jsonl(root / "data.jsonl", make_records(40))
    train.run(["--model", str(model), "--data", str(data), "--out", str(root / "run"), *RUN])
    assert latest_checkpoint(root / "run").name == "step-000002"
    return SimpleNamespace(root=root, model=model, data=data, run=root / "run")


@pytest.fixture
def world(finished, tmp_path):
    """The case's files: `run`, a copy of the finished run (resumable), and a free `out`."""
    shutil.copytree(finished.run, tmp_path / "run")
    return SimpleNamespace(
        world=tmp_path,
        model=finished.model,
        data=finished.data,
        run=tmp_path / "run",
        step=tmp_path / "run" / "checkpoints" / "step-000002",
        out=tmp_path / "out",
    )


def run_in_process(capsys, argv):
    """train.run, the script's entry point; the result shaped like subprocess.run's."""
    with pytest.raises(SystemExit) as stop:
        train.run(argv)
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=stop.value.code, stdout=captured.out, stderr=captured.err)


def args_for(w, *extra, model="{model}", data="{data}", out="{out}", common=True):
    given = ["--model", model, "--data", data, "--out", out, *(RUN if common else ()), *extra]
    return [a.format(**vars(w)) for a in given]


# --- setups: each turns the world into the bad input of its case


def write(name, content):
    def setup(w):
        path = w.world / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    return setup


def remove(name):
    return lambda w: (w.step / name).unlink()


def cut(name, keep):
    def setup(w):
        path = w.step / name
        path.write_bytes(path.read_bytes()[:keep])

    return setup


def model_dtype_unknown(w):
    """A copy of the model whose config.json names a dtype torch does not have."""
    shutil.copytree(w.model, w.world / "odd-model")
    config = json.loads((w.world / "odd-model" / "config.json").read_text())
    (w.world / "odd-model" / "config.json").write_text(json.dumps({**config, "dtype": "float33"}))


def data_inside_out(w):
    (w.world / "out").mkdir()
    shutil.copy(w.data, w.world / "out" / "data.jsonl")


def crafted_metadata(w):
    """A `.metadata` whose unpickling runs a shell command (pickle calls os.system)."""
    (w.step / ".metadata").write_bytes(evil_pickle(w.world / "sentinel"))


def crafted_entry(w):
    """A valid index whose optimizer entry `lr` points at a torch.save'd payload that runs a command,
    appended to the checkpoint's data file; returns that file and the payload's offset."""
    index = _read_index(w.step)
    key = next(k for k in index.storage_data if k.fqn.endswith("param_groups.0.lr"))
    payload, data = io.BytesIO(), w.step / "__0_0.distcp"
    torch.save(Evil(w.world / "sentinel"), payload)
    offset = data.stat().st_size
    with open(data, "ab") as f:
        f.write(payload.getvalue())
    index.storage_data[key] = _StorageInfo(data.name, offset, len(payload.getvalue()))
    (w.step / ".metadata").write_bytes(pickle.dumps(index))
    return data, offset


def record(**fields):
    """An index whose first data record has `fields` changed (DCP's `_StorageInfo`)."""

    def setup(w):
        index = _read_index(w.step)
        info = next(iter(index.storage_data.values()))
        for name, value in fields.items():
            setattr(info, name, value)
        (w.step / ".metadata").write_bytes(pickle.dumps(index))

    return setup


def record_dropped(w):
    """An index that lists an entry but not the data record it reads from."""
    index = _read_index(w.step)
    del index.storage_data[next(iter(index.storage_data))]
    (w.step / ".metadata").write_bytes(pickle.dumps(index))


def build_on(module, name, attribute):
    """A pickle whose BUILD sets `attribute` of the global `module.name` itself to torch.Size.

    As slot state, which pickle sets with setattr; a class's own __dict__ cannot be written to.
    """
    key = attribute.encode()
    return (
        pickle.PROTO
        + b"\x02"
        + pickle.GLOBAL
        + f"{module}\n{name}\n".encode()
        + pickle.NONE
        + pickle.EMPTY_DICT
        + pickle.BINUNICODE
        + struct.pack("<I", len(key))
        + key
        + pickle.GLOBAL
        + b"torch\nSize\n"
        + pickle.SETITEM
        + pickle.TUPLE2
        + pickle.BUILD
        + pickle.STOP
    )


def users_model_folder(w):
    """The run's exported model replaced by a folder of the user's (no marker)."""
    shutil.rmtree(w.run / "model")
    (w.run / "model").mkdir()
    (w.run / "model" / "notes.txt").write_text("a user's notes\n")


def checkpoints_a_file(w):
    shutil.rmtree(w.run / "checkpoints")
    (w.run / "checkpoints").write_text("a user's notes\n")


def metrics_a_folder(w):
    (w.run / "metrics.jsonl").unlink()
    (w.run / "metrics.jsonl").mkdir()


class Evil:
    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return os.system, (f"touch {self.sentinel}",)


def evil_pickle(sentinel):
    return pickle.dumps(Evil(sentinel))


# (id, setup, argv given the world, names the error line must hold, run as a real process)
CASES = [
    ("max-steps-0", None, lambda w: args_for(w, "--max-steps", "0"), ["--max-steps"], True),
    ("save-every-0", None, lambda w: args_for(w, "--save-every", "0"), ["--save-every"], False),
    ("micro-batch-0", None, lambda w: args_for(w, "--micro-batch-size", "0"), ["--micro-batch-size"], False),
    ("global-batch-0", None, lambda w: args_for(w, "--global-batch-size", "0"), ["--global-batch-size"], False),
    ("lr-nan", None, lambda w: args_for(w, "--lr", "nan"), ["--lr", "'nan'"], False),
    ("lr-inf", None, lambda w: args_for(w, "--lr", "inf"), ["--lr", "'inf'"], False),
    ("lr-negative", None, lambda w: args_for(w, "--lr", "-0.0002"), ["--lr", "'-0.0002'"], False),
    ("epochs-0", None, lambda w: args_for(w, "--epochs", "0"), ["--epochs"], False),
    ("max-seq-len-0", None, lambda w: args_for(w, "--max-seq-len", "0"), ["--max-seq-len"], False),
    ("warmup-above-1", None, lambda w: args_for(w, "--warmup-ratio", "1.5"), ["--warmup-ratio"], False),
    ("grad-clip-negative", None, lambda w: args_for(w, "--grad-clip", "-1"), ["--grad-clip"], False),
    ("weight-decay-negative", None, lambda w: args_for(w, "--weight-decay", "-0.1"), ["--weight-decay"], False),
    ("seed-negative", None, lambda w: args_for(w, "--seed", "-1"), ["--seed"], False),
    ("eval-size-0", None, lambda w: args_for(w, "--eval-every", "1", "--eval-size", "0"), ["--eval-size"], False),
    ("world-size-without-dry-run", None, lambda w: args_for(w, "--world-size", "2"), ["--world-size"], False),
    (
        "batch-does-not-split",
        None,
        lambda w: args_for(w, "--dry-run", "--world-size", "3"),
        ["--global-batch-size"],
        False,
    ),
    ("no-model-folder", None, lambda w: args_for(w, model="{world}/nowhere"), ["nowhere"], False),
    (
        "model-without-weights",
        write("empty-model/config.json", b"{}"),
        lambda w: args_for(w, model="{world}/empty-model"),
        ["empty-model"],
        False,
    ),
    (
        "model-config-dtype-unknown",
        model_dtype_unknown,
        lambda w: args_for(w, model="{world}/odd-model"),
        ["odd-model/config.json", "float33", "not a torch dtype"],
        False,
    ),
    ("no-data-file", None, lambda w: args_for(w, data="{world}/none.jsonl"), ["none.jsonl"], False),
    (
        "data-not-utf8",
        write("bad.jsonl", json.dumps(make_records(1)[0]).encode() + b"\n\xff\xfe not text\n"),
        lambda w: args_for(w, data="{world}/bad.jsonl"),
        ["bad.jsonl:2", "UTF-8"],
        True,
    ),
    (
        "data-bad-json",
        write("bad.jsonl", b'{"id": "x1", "text": "' + SECRET.encode() + b'"\n'),
        lambda w: args_for(w, data="{world}/bad.jsonl"),
        ["bad.jsonl:1"],
        False,
    ),
    (
        "data-empty",
        write("empty.jsonl", b""),
        lambda w: args_for(w, data="{world}/empty.jsonl"),
        ["empty.jsonl", "fewer sequences than one global batch"],
        False,
    ),
    ("out-is-a-file", write("out", b"a user's notes\n"), lambda w: args_for(w), ["out", "file"], False),
    (
        "out-is-a-users-folder",
        write("out/results.csv", b"a,b\n"),
        lambda w: args_for(w),
        ["out", "did not write"],
        False,
    ),
    (
        "out-holds-the-data",
        data_inside_out,
        lambda w: args_for(w, data="{world}/out/data.jsonl"),
        ["holds the input", "data.jsonl"],
        False,
    ),
    (
        "out-holds-the-model",
        None,
        lambda w: args_for(w, "--resume", model="{run}/model", out="{run}"),
        ["holds the input", "model"],
        False,
    ),
    ("fresh-run-into-a-run", None, lambda w: args_for(w, out="{run}"), ["already holds a run", "step-000002"], False),
    (
        "fresh-run-into-a-finished-run",
        lambda w: shutil.rmtree(w.run / "checkpoints"),
        lambda w: args_for(w, out="{run}"),
        ["already holds a run", "(model)"],
        False,
    ),
    (
        "resume-changes-lr",
        None,
        lambda w: args_for(w, "--resume", "--lr", "1e-3", out="{run}"),
        ["step-000002", "--lr"],
        False,
    ),
    (
        "checkpoint-without-metadata",
        remove(".metadata"),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/.metadata", "missing", "no checkpoint"],
        False,
    ),
    (
        "checkpoint-state-cut",
        cut("state.json", 10),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/state.json"],
        False,
    ),
    (
        "checkpoint-without-data",
        remove("__0_0.distcp"),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/__0_0.distcp", "missing"],
        False,
    ),
    (
        "checkpoint-data-cut",
        cut("__0_0.distcp", 1000),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/__0_0.distcp", "cut short"],
        False,
    ),
    (
        "checkpoint-without-rng",
        remove("rng-rank00000.safetensors"),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["rng-rank00000.safetensors", "missing"],
        False,
    ),
    (
        "checkpoint-metadata-runs-code",
        crafted_metadata,
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/.metadata", "'posix.system'"],
        True,
    ),
    (
        "checkpoint-entry-runs-code",
        crafted_entry,
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002", "param_groups.0.lr", "not plain data"],
        False,
    ),
    (
        "checkpoint-offset-not-a-number",
        record(offset="a"),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/.metadata", "offset", "no checkpoint"],
        False,
    ),
    (
        "checkpoint-offset-negative",
        record(offset=-1),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/.metadata", "offset", "no checkpoint"],
        False,
    ),
    (
        "checkpoint-data-compressed",
        record(transform_descriptors=["zstd"]),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/.metadata", "transformed"],
        False,
    ),
    (
        "checkpoint-record-missing",
        record_dropped,
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/.metadata", "lacks a data record"],
        False,
    ),
    (
        "checkpoint-state-huge-integer",
        write("run/checkpoints/step-000002/state.json", b"[1" + b"0" * 5000 + b"]"),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/state.json", "too large"],
        False,
    ),
    (
        "checkpoint-state-deeply-nested",
        write("run/checkpoints/step-000002/state.json", b"[" * 100_000),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002/state.json", "too deeply nested"],
        False,
    ),
    (
        "checkpoint-entry-is-a-file",
        write("run/checkpoints/step-000009", b"a user's notes\n"),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000009", "not a checkpoint folder"],
        False,
    ),
    (
        "checkpoint-holds-a-users-file",
        write("run/checkpoints/step-000002/notes.txt", b"a user's notes\n"),
        lambda w: args_for(w, "--resume", out="{run}"),
        ["step-000002", "not a checkpoint folder"],
        False,
    ),
    (
        "checkpoints-is-a-file",
        checkpoints_a_file,
        lambda w: args_for(w, "--resume", out="{run}"),
        ["checkpoints", "not the folder"],
        False,
    ),
    (
        "metrics-is-a-folder",
        metrics_a_folder,
        lambda w: args_for(w, "--resume", out="{run}"),
        ["metrics.jsonl", "not the file"],
        False,
    ),
]


@pytest.mark.parametrize("setup, argv, names, process", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(finished, world, capsys, setup, argv, names, process):
    if setup:
        setup(world)
    before = checksums(finished.root, world.world)
    args = argv(world)
    result = run_command([ROOT / "train.py", *args], env=OFFLINE) if process else run_in_process(capsys, args)
    assert_clean_failure(result, "train.py", names=names, secrets=[SECRET])
    assert checksums(finished.root, world.world) == before
    assert not hidden_leftovers(finished.root, world.world)
    assert not (world.world / "sentinel").exists()


def test_the_crafted_checkpoints_would_run_code_if_unpickled(world):
    """The two payloads above are live: plain pickle and torch.load(weights_only=False), DCP's own
    readers, run their command."""
    data, offset = crafted_entry(world)
    torch.load(io.BytesIO(data.read_bytes()[offset:]), weights_only=False)
    assert (world.world / "sentinel").exists()
    (world.world / "sentinel").unlink()
    crafted_metadata(world)
    pickle.loads((world.step / ".metadata").read_bytes())
    assert (world.world / "sentinel").exists()


@pytest.mark.parametrize(
    "module, name, attribute", [("pathlib", "PosixPath", "__fspath__"), ("torch.serialization", "_get_layout", "cache")]
)
def test_an_index_cannot_change_a_class_or_function(world, capsys, module, name, attribute):
    """pickle's BUILD on an allowed class or function itself, rather than on a fresh instance, would
    set `attribute` for the whole process: after `PosixPath.__fspath__ = torch.Size`, every
    open(path) fails; `_get_layout.cache` is where torch looks layouts up."""
    target, missing = getattr(importlib.import_module(module), name), object()
    saved = vars(target).get(attribute, missing)
    (world.step / ".metadata").write_bytes(build_on(module, name, attribute))
    try:
        result = run_in_process(capsys, args_for(world, "--resume", out="{run}"))
        changed = vars(target).get(attribute, missing) is not saved
    finally:  # undo what a failing unpickler did, for the tests that follow
        if saved is not missing:
            setattr(target, attribute, saved)
        elif attribute in vars(target):
            delattr(target, attribute)
    assert not changed
    assert_clean_failure(result, "train.py", names=["step-000002/.metadata", name, "sets attributes"])


def test_resume_refuses_a_users_model_folder_before_the_ranks_meet(world, capsys, monkeypatch):
    """The export replaces OUT/model at the end, on rank 0 alone: a folder it must not replace is
    refused at the start, on every rank, before they meet (so none waits for a rank 0 that stopped)."""
    users_model_folder(world)
    monkeypatch.setattr(train, "init_distributed", lambda: pytest.fail("the ranks met before OUT/model was checked"))
    result = run_in_process(capsys, args_for(world, "--resume", out="{run}"))
    assert_clean_failure(result, "train.py", names=[str(world.run / "model"), "did not write"])
    assert (world.run / "model" / "notes.txt").read_text() == "a user's notes\n"


def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(finished, tmp_path, capsys, monkeypatch):
    """Both checkpoints kept (no deletion), the newest damaged: the resumed run redoes step 2 from
    step 1, bit for bit, and then holds one complete checkpoint again."""
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(checkpoints, "shutil", SimpleNamespace(rmtree=lambda path: None))
        train.run(args_for(finished, out=str(out)))
    assert [f.name for f, _ in checkpoint_folders(out)] == ["step-000002", "step-000001"]
    exported = out / "model" / "model.safetensors"
    first, weights = (out / "metrics.jsonl").read_text(), load_file(exported)
    (out / "checkpoints" / "step-000002" / ".metadata").unlink()
    capsys.readouterr()

    train.run(args_for(finished, "--resume", out=str(out)))
    printed = capsys.readouterr()
    assert (
        f"warning: {out}/checkpoints/step-000002/.metadata: missing; resuming from an earlier checkpoint" in printed.err
    )
    assert f"resumed from {out}/checkpoints/step-000001 at step 1" in printed.out
    again = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for key in ("step", "loss", "grad_norm", "lr"):
        assert [m[key] for m in again] == [json.loads(line)[key] for line in first.splitlines()], key
    resumed = load_file(exported)
    assert all(torch.equal(resumed[name], tensor) for name, tensor in weights.items())
    assert checkpoint_folders(out) == [(out / "checkpoints" / "step-000002", None)]


def test_what_killed_runs_left_is_removed_and_only_that(world, capsys):
    """Temporaries of dead writers go at the next start; a live process's stays."""
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid now names no process
    stale = [
        world.run / "checkpoints" / f".step-000001.{dead.pid}-0123456789ab.tmp",
        world.run / f".model.{dead.pid}-0123456789ab.tmp",
    ]
    live = world.run / "checkpoints" / f".step-000003.{os.getpid()}-0123456789ab.tmp"
    for folder in [*stale, live]:
        folder.mkdir()
        (folder / "part").write_bytes(b"half written")
    train.run(args_for(world, "--resume", out="{run}"))
    assert not any(p.exists() for p in stale) and live.exists()
    assert hidden_leftovers(world.run) == [str(live)]


@pytest.mark.slow
def test_under_torchrun_rank_0_says_it_once_and_the_launchers_summary_repeats_it(world):
    """torchrun always ends with its own traceback and failure summary; the summary's cause line
    is the one `train.py: error:` line, and rank 0 printed that line once before it."""
    missing = world.world / "none.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            ROOT / "train.py",
            *args_for(world, "--micro-batch-size", "2", data=str(missing)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **OFFLINE},
    )
    line = f"train.py: error: {missing}: No such file or directory"
    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr  # the launcher's own status, whatever its workers' were
    assert lines.count(line) == 1, result.stderr
    assert lines[-1].strip("=") == "" and lines[-2] == f"  traceback : {line}", result.stderr
    assert "exitcode  : 2" in result.stderr
    assert f'{ROOT / "train.py"}", line' not in result.stderr  # no worker printed a traceback
    assert not world.out.exists()
