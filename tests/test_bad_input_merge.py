"""merge.py on bad input: one `merge.py: error:` line naming the file, exit 2, inputs untouched, nothing left.

Every case runs against tiny models in `world/models`; `world` is checksummed before and after,
so a case that deleted, replaced or created anything there (an output, a hidden temporary) fails.
Most cases call merge.py's main in this process through the same `run_main` as the script; the
ones marked `process` run the real command line, which costs seconds of imports each.
"""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file

from clichecks import ROOT, assert_clean_failure, checksums, hidden_leftovers, run_command
from mnlu.cli import run_main
from mnlu.fileio import written_by
from mnlu.shards import INDEX_FILE, SINGLE_FILE

_spec = importlib.util.spec_from_file_location("merge_script_bad_input", ROOT / "merge.py")
merge = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(merge)

OFFLINE = {"HF_HUB_OFFLINE": "1"}  # a hub id must fail at once, never wait on a network


def save_model(folder, tensors):
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, folder / SINGLE_FILE)
    (folder / "config.json").write_text('{"model_type": "llama"}')


@pytest.fixture
def world(tmp_path):
    """Paths of a base and a fine-tuned model under world/models, and a free --out beside them."""
    g = torch.Generator().manual_seed(0)
    base = {"embed.weight": torch.randn(8, 4, generator=g), "norm.weight": torch.ones(4)}
    save_model(tmp_path / "world" / "models" / "base", base)
    save_model(tmp_path / "world" / "models" / "ft", {k: v + 0.01 for k, v in base.items()})
    world, models = tmp_path / "world", tmp_path / "world" / "models"
    return SimpleNamespace(
        world=world, models=models, base=models / "base", ft=models / "ft", out=world / "out", hf_home=tmp_path / "hf"
    )


def argv(w, base="{base}", ft="{ft}", out="{out}", extra=()):
    return [a.format(**vars(w)) for a in ("--base", base, "--finetuned", ft, "--out", out, *extra)]


def run_in_process(capsys, args):
    """main through run_main, as the script runs it; the result shaped like subprocess.run's."""
    with pytest.raises(SystemExit) as stop:
        run_main("merge.py", merge.main, args)
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=stop.value.code, stdout=captured.out, stderr=captured.err)


# --- setups: each changes the world into the bad input of its case


def out_is_a_file(w):
    w.out.write_text("a user's notes\n")


def out_is_a_users_folder(w):
    w.out.mkdir()
    (w.out / "results.csv").write_text("a,b\n")


def out_is_a_link(w):
    (w.world / "elsewhere").mkdir()
    w.out.symlink_to(w.world / "elsewhere")


def out_holds_an_earlier_merge(w):
    merge.main(argv(w))


def nan_in_finetuned(w):
    save_model(w.ft, {"embed.weight": torch.full((8, 4), float("nan")), "norm.weight": torch.ones(4)})


def inf_in_base(w):
    save_model(w.base, {"embed.weight": torch.zeros(8, 4), "norm.weight": torch.tensor([1, float("inf"), 1, 1])})


def fp16_models_that_overflow(w):
    save_model(w.base, {"embed.weight": torch.zeros(8, 4, dtype=torch.float16)})
    save_model(w.ft, {"embed.weight": torch.full((8, 4), 1000, dtype=torch.float16)})  # x100 > fp16's 65504


def index(entry):
    def setup(w):
        shard = entry.format(**vars(w))
        mapping = f'"embed.weight": "{shard}", "norm.weight": "{SINGLE_FILE}"'
        (w.ft / INDEX_FILE).write_text(f'{{"weight_map": {{{mapping}}}}}')

    return setup


def truncated_weights(w):
    data = (w.ft / SINGLE_FILE).read_bytes()
    (w.ft / SINGLE_FILE).write_bytes(data[: len(data) - 16])


def garbage_header(w):
    (w.ft / SINGLE_FILE).write_bytes(b"\xff" * 64)


def pickled_weights_only(w):
    (w.ft / SINGLE_FILE).unlink()
    (w.ft / "pytorch_model.bin").write_bytes(b"a pickle")


def mismatched_shapes(w):
    save_model(w.ft, {"embed.weight": torch.zeros(8, 5), "norm.weight": torch.ones(4)})


def no_config(w):
    (w.ft / "config.json").unlink()


def case(name, setup=None, names=(), process=False, **argv_parts):
    return pytest.param(setup, argv_parts, names, process, id=name)


CASES = [
    # --out: never an input, a file, a link or a folder merge.py did not write, even with --overwrite
    case(
        "out-holds-the-inputs",
        names=["{models}", "holds the input"],
        process=True,
        out="{models}",
        extra=["--overwrite"],
    ),
    case(
        "out-holds-the-inputs-dry-run",
        names=["{models}", "holds the input"],
        out="{models}",
        extra=["--overwrite", "--dry-run"],
    ),
    case("out-is-the-finetuned-model", names=["{ft}", "holds the input"], out="{ft}", extra=["--overwrite"]),
    case("out-is-a-file", out_is_a_file, names=["{out}", "is an existing file"], extra=["--overwrite"]),
    case("out-is-a-users-folder", out_is_a_users_folder, names=["{out}", "did not write"], extra=["--overwrite"]),
    case("out-is-a-link", out_is_a_link, names=["{out}", "symbolic link"], extra=["--overwrite"]),
    case("out-holds-an-earlier-merge", out_holds_an_earlier_merge, names=["{out}", "pass --overwrite"]),
    # numbers: finite and bounded arguments, finite inputs, no overflow in the output dtype
    case(
        "weight-nan", names=["--weight", "expected a finite number, got 'nan'"], process=True, extra=["--weight", "nan"]
    ),
    case("weight-inf", names=["--weight", "'inf'"], extra=["--weight", "inf"]),
    case("weight-minus-inf", names=["--weight", "'-inf'"], extra=["--weight=-inf"]),
    case("weight-1e308", names=["--weight", "[-100, 100]"], extra=["--weight", "1e308"]),
    case("drop-rate-nan", names=["--drop-rate", "'nan'"], extra=["--drop-rate", "nan"]),
    case("drop-rate-inf", names=["--drop-rate", "'inf'"], extra=["--drop-rate", "inf"]),
    case("drop-rate-one", names=["--drop-rate 1.0 must be in [0, 1)"], extra=["--drop-rate", "1"]),
    case("nan-in-finetuned", nan_in_finetuned, names=["{ft}/model.safetensors", "'embed.weight'", "NaN"]),
    case("inf-in-base", inf_in_base, names=["{base}/model.safetensors", "'norm.weight'", "infinite"]),
    case(
        "weighted-delta-overflows-fp16",
        fp16_models_that_overflow,
        names=["--weight 100.0", "'embed.weight'", "overflows torch.float16"],
        extra=["--weight", "100", "--drop-rate", "0"],
    ),
    # model folders: where a name points, what an index may name, what a weights file must be
    case("missing-folder", names=["{world}/nope: no such model folder"], ft="{world}/nope"),
    case("relative-missing-folder", names=["./nope: no such model folder"], ft="./nope"),
    case(
        "hub-id-offline",
        names=["could not fetch mnlu-tests/no-such-model from the Hugging Face hub", "check the path"],
        process=True,
        base="mnlu-tests/no-such-model",
    ),
    case(
        "index-entry-in-another-model",
        index("../base/model.safetensors"),
        names=["{ft}/model.safetensors.index.json", "'../base/model.safetensors'", "not a plain file name"],
    ),
    case(
        "index-entry-absolute",
        index("{base}/model.safetensors"),
        names=["{ft}/model.safetensors.index.json", "not a plain file name"],
    ),
    case("index-not-json", index('"'), names=["{ft}/model.safetensors.index.json:1: not valid JSON"]),
    case(
        "truncated-weights",
        truncated_weights,
        process=True,
        names=["{ft}/model.safetensors: not a readable safetensors file"],
    ),
    case("garbage-header", garbage_header, names=["{ft}/model.safetensors: not a readable safetensors file"]),
    case(
        "pickled-weights-only",
        pickled_weights_only,
        names=["{ft}: neither", "found pytorch_model.bin; only safetensors weights are read"],
    ),
    case("mismatched-shapes", mismatched_shapes, names=["{ft} vs base {base}", "'embed.weight' has shape [8, 5]"]),
    case("no-config", no_config, names=["{ft}: no config.json"]),
]


@pytest.mark.parametrize("setup, argv_parts, names, process", CASES)
def test_bad_input_fails_cleanly_and_touches_nothing(world, capsys, monkeypatch, setup, argv_parts, names, process):
    if setup:
        setup(world)
        capsys.readouterr()  # what setting up printed (an earlier merge's progress) is not the failure's
    before = checksums(world.world)
    args = argv(world, **argv_parts)
    if process:
        result = run_command([ROOT / "merge.py", *args], env={**OFFLINE, "HF_HOME": str(world.hf_home)})
    else:
        monkeypatch.chdir(world.world)
        result = run_in_process(capsys, args)
    assert_clean_failure(result, "merge.py", names=[n.format(**vars(world)) for n in names])
    assert checksums(world.world) == before
    assert hidden_leftovers(world.world) == []


def test_overwrite_replaces_only_its_own_output_and_a_killed_merge_leaves_nothing_for_good(world):
    """A SIGKILLed merge leaves its temporary and the previous output; the next merge removes the former."""
    merge.main(argv(world, extra=["--seed", "1"]))
    earlier = checksums(world.out)
    script = (
        "import importlib.util, sys, time\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(ROOT / 'merge.py')!r})\n"
        "merge = importlib.util.module_from_spec(spec); spec.loader.exec_module(merge)\n"
        "merge.merge_entries = lambda *a, **k: time.sleep(600)  # stalls mid-merge, files open\n"
        "merge.run_main('merge.py', merge.main, sys.argv[1:])\n"
    )
    command = [sys.executable, "-c", script, *argv(world, extra=["--seed", "2", "--overwrite"])]
    writer = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(world.world.glob(f".out.{writer.pid}-*.tmp/{SINGLE_FILE}")):
            assert writer.poll() is None and time.monotonic() < deadline, "the merge never started writing"
            time.sleep(0.1)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
    assert [Path(p).name.startswith(f".out.{writer.pid}-") for p in hidden_leftovers(world.world)] == [True]
    assert checksums(world.out) == earlier  # the earlier merge is whole

    merge.main(argv(world, extra=["--seed", "3", "--overwrite"]))
    assert hidden_leftovers(world.world) == []
    assert written_by(world.out) == "merge.py" and checksums(world.out) != earlier
    assert '"seed": 3' in (world.out / "merge_config.json").read_text()
    assert sorted(p.name for p in world.world.iterdir()) == ["models", "out"]
