"""Zero-shot (or few-shot) generation over unified-format test files, or over your own text.

    python infer.py --model runs/merged --data data/eval/hoc/test.jsonl data/eval/gad/test.jsonl --out preds/merged/
    python infer.py --model runs/merged --task ner --labels "Disease,Chemical" --text "Cisplatin nephrotoxicity."

Each record's question is rendered with the tokenizer's chat template and its generation prompt
(mnlu.chat, as train.py renders it) and answered greedily by vLLM or plain transformers, which
share one set of sampling settings (mnlu.generate). Every record is appended with its
"prediction" (and "reached_max_tokens": the answer ended at the token limit, not at a stop token,
so it may be cut) to <out>/<dataset>.jsonl as soon as its batch is done; <out>/run.json says how the
predictions were made and how many each dataset should have. Running the same command again
skips the ids already done, so a killed run resumes with nothing lost and nothing twice.

Every input (records, train splits, model folder, an earlier run in --out) is checked before the
slow model load, and nothing is written until the model has loaded: bad input fails in seconds,
with one line and exit status 2, and leaves --out as it was.

With --task, the texts come from --text or --input (JSON lines: {"id": ..., "text": ...}) and
each answer is printed as one line of JSON on stdout, in input order: spans with their character
offsets in the text, or the chosen options (the keys: docs/infer.md, "Your own text").
"""

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from mnlu.chat import prompt_token_ids, render_prompt
from mnlu.cli import AT_LEAST_1, SEED, InputError, argument, excerpt, run_main
from mnlu.fileio import atomic_write, check_output_folder, claim_output_folder
from mnlu.generate import (
    check_model_folder,
    completion_text,
    greedy_generate,
    load_hf_model,
    load_tokenizer,
    sampling_settings,
    vllm_engine,
)
from mnlu.parse import locate_spans, parse_answer
from mnlu.records import SPAN_TASKS, numbered_json, numbered_records, read_records
from mnlu.resume import RUN_KEYS, append_line, finished_ids, joined_run, open_for_append
from mnlu.shards import local_model
from mnlu.shots import few_shot_messages, pick_demonstrations
from mnlu.tasks import dc_record, ner_record, qa_record

TOOL = "infer.py"  # the name in --out's marker file: a folder infer.py may append to
OWN_TEXT_TASKS = ("ner", "ete", "dc", "qa")
INPUT_LINE = 'each line of --input is an object like {"id": "a1", "text": "..."}'
SHARE = argument(float, lambda x: 0 < x <= 1, "a number above 0, at most 1")


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model folder or hub id (safetensors weights); required")
    p.add_argument(
        "--data",
        nargs="+",
        type=Path,
        help="unified-format test files, e.g. data/eval/<id>/test.jsonl; required unless --task is given",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="folder for <dataset>.jsonl predictions and run.json: new, empty, or an earlier infer.py --out to "
        "resume; required with --data",
    )
    p.add_argument(
        "--backend",
        choices=("auto", "vllm", "hf"),
        default="auto",
        help="auto: vLLM when it is installed and a GPU is present, else hf (transformers) (default: %(default)s)",
    )
    p.add_argument(
        "--shots",
        type=lambda x: int(x) if x.isdigit() else x,
        choices=(0, 2, "paper"),
        default=0,
        help="demonstrations from train.jsonl beside each test file; paper: 2 for span tasks and 0 for "
        "choice tasks, the paper's baseline setting (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=SEED,
        default=0,
        help="seeds the choice of demonstrations and the vLLM engine (default: %(default)s)",
    )
    add_generation_options(p.add_argument_group("generation"))
    add_own_text_options(
        p.add_argument_group("your own text (prints one JSON line per text on stdout instead of writing files)")
    )
    return p


def add_generation_options(g):
    """How answers are generated, and by which engine."""
    g.add_argument(
        "--max-tokens",
        type=AT_LEAST_1,
        default=1024,
        help="most tokens generated per answer; the longest gold answer (an EBM-PICO abstract's) needs about half "
        "(default: %(default)s)",
    )
    g.add_argument("--limit", type=AT_LEAST_1, help="only the first N records of each dataset (default: every record)")
    g.add_argument(
        "--dtype",
        choices=("auto", "float32", "bfloat16", "float16"),
        default="auto",
        help="auto: bfloat16 on a GPU, float32 on CPU (faster there than bfloat16) (default: %(default)s)",
    )
    g.add_argument(
        "--batch-size",
        type=AT_LEAST_1,
        default=64,
        help="hf: prompts decoded together, the longest first; more is faster, on CPU too (default: %(default)s)",
    )
    g.add_argument(
        "--tensor-parallel-size", type=AT_LEAST_1, default=1, help="vLLM: GPUs per model (default: %(default)s)"
    )
    g.add_argument(
        "--max-num-seqs",
        type=AT_LEAST_1,
        default=256,
        help="vLLM: sequences scheduled at once (default: %(default)s)",
    )
    g.add_argument(
        "--gpu-memory-utilization",
        type=SHARE,
        default=0.9,
        help="vLLM: share of GPU memory it may take (default: %(default)s)",
    )
    g.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="run model code shipped with the checkpoint (default: off, so such code is never run)",
    )


def add_own_text_options(own):
    """Answering the user's own texts instead of --data records."""
    own.add_argument(
        "--task",
        choices=OWN_TEXT_TASKS,
        help="the question to ask of each text; without it, infer.py answers --data records",
    )
    own.add_argument("--text", help="one text (its output's id is null); with --task, --text or --input is required")
    own.add_argument(
        "--input",
        type=Path,
        help='JSON lines, one object per text: {"id": "a1", "text": "..."}; blank lines are skipped; '
        "with --task, --text or --input is required",
    )
    own.add_argument(
        "--labels", help="ner/ete: comma-separated entity types, e.g. 'Disease,Chemical'; required for ner/ete"
    )
    own.add_argument(
        "--options", help="dc/qa: comma-separated options, e.g. 'yes,no,maybe'; at least two required for dc/qa"
    )
    own.add_argument("--question", help="qa: the question asked about each text; required for qa")
    own.add_argument("--what", default="the medical text", help="dc: what the options describe (default: %(default)r)")
    own.add_argument(
        "--multi-label",
        action="store_true",
        help="dc: any number of options may apply (default: off; exactly one option is chosen)",
    )


def parse_args():
    p = parser()
    args = p.parse_args()
    if args.task is None and not (args.data and args.out):
        p.error("give --data and --out, or --task with --text/--input")
    if args.task is not None and (args.text is None) == (args.input is None):
        p.error("--task needs exactly one of --text or --input")
    if args.task is not None and args.shots:
        p.error("--shots needs a train split; it is for --data runs only")
    return args


def main():
    args = parse_args()
    backend = chosen_backend(args.backend)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = args.dtype if args.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
    if args.task:
        answer_own_texts(args, backend, dtype, device)
    else:
        predict_datasets(args, backend, dtype, device)


def chosen_backend(backend):
    """--backend, with auto resolved: vLLM when it is installed and a GPU is present, else hf.

    On CPU, auto stays with hf even where vLLM's CPU build is installed: that build is not
    shown to be faster on the demo. Asking for vLLM where it is missing is an error.
    """
    installed = importlib.util.find_spec("vllm") is not None
    if backend == "auto":
        return "vllm" if installed and torch.cuda.is_available() else "hf"
    if backend == "vllm" and not installed:
        raise InputError(
            "--backend vllm: vLLM is not installed here (on a GPU: pip install vllm; "
            "without one, see `make test-vllm` in docs/infer.md)"
        )
    return backend


def answer_own_texts(args, backend, dtype, device):
    """Print one JSON answer per text of --text or --input, in input order; write no file."""
    texts = read_texts(args)
    own = own_records(args, [text for _, text in texts])
    model = model_folder(args.model)
    tokenizer = load_tokenizer(model, args.trust_remote_code)
    settings = sampling_settings(tokenizer, args.max_tokens, args.seed)
    generate, chunk_size = load_backend(args, model, backend, dtype, device, tokenizer, settings)
    jobs = [(r, render_prompt(tokenizer, r["messages"])) for r in own]
    generated = {
        r["id"]: (prediction, cut)
        for r, prediction, cut in run_generation(jobs, tokenizer, settings, generate, chunk_size, "texts")
    }
    for (text_id, text), record in zip(texts, own):  # in the order of the input, not of generation
        prediction, cut = generated[record["id"]]
        print(json.dumps(own_answer(text_id, text, record, prediction, cut), ensure_ascii=False))


def predict_datasets(args, backend, dtype, device):
    """Append predictions for every --data record not yet in --out, then say where they are.

    Everything that can be wrong with the inputs or --out is found before the model loads, and
    --out is claimed (and run.json written) only once it has: a failed start leaves nothing.
    """
    datasets, sources = read_datasets(args.data, args.limit)
    shots = {d: shots_for(args.shots, records[0]["task"]) for d, records in datasets.items()}
    trains = read_train_splits(sources, [d for d in shots if shots[d]])
    model = model_folder(args.model)
    inputs = [*args.data, *(path for path, _ in trains.values()), model]
    check_output_folder(args.out, TOOL, inputs)
    tokenizer = load_tokenizer(model, args.trust_remote_code)
    settings = sampling_settings(tokenizer, args.max_tokens, args.seed)
    jobs, instances = {}, {}
    for dataset, records in datasets.items():
        done = finished_ids(args.out / f"{dataset}.jsonl")
        todo = [r for r in records if r["id"] not in done]
        jobs[dataset] = [prompted(r, tokenizer, trains.get(dataset), shots[dataset], args.seed) for r in todo]
        instances[dataset] = len(done | {r["id"] for r in records})
    run = {
        "model": args.model,
        "backend": backend,
        "dtype": dtype,
        "shots": args.shots,
        "seed": args.seed,
        "sampling": settings,
        "data": [str(p) for p in args.data],
        "instances": instances,
        "versions": versions(backend),
        "batch_size": args.batch_size,
        "tensor_parallel_size": args.tensor_parallel_size,
        "max_num_seqs": args.max_num_seqs,
    }
    run = resumed_run(args.out / "run.json", run)

    generate, chunk_size = load_backend(args, model, backend, dtype, device, tokenizer, settings)
    claim_output_folder(args.out, TOOL, inputs)
    with atomic_write(args.out / "run.json") as f:
        f.write(json.dumps(run, indent=2) + "\n")
    for dataset, dataset_jobs in jobs.items():
        if not dataset_jobs:
            continue
        with open_for_append(args.out / f"{dataset}.jsonl") as f:
            for record, prediction, cut in run_generation(
                dataset_jobs,
                tokenizer,
                settings,
                generate,
                chunk_size,
                dataset,
                already_done=len(datasets[dataset]) - len(dataset_jobs),
            ):
                append_line(f, {**record, "prediction": prediction, "reached_max_tokens": cut})
    print(f"predictions in {args.out}/", file=sys.stderr)


def model_folder(name):
    """The folder of --model (a hub id is fetched first), checked before anything slow is loaded."""
    folder = local_model(name, weights=True)
    check_model_folder(folder)
    return folder


def prompted(record, tokenizer, train, shots, seed):
    """(record, prompt) for one record, with `shots` demonstrations from `train` (file, records) first."""
    if not shots:
        return record, render_prompt(tokenizer, record["messages"])
    try:
        demos = pick_demonstrations(record, train[1], shots, seed)
    except InputError as e:
        raise InputError(f"{train[0]}: {e}") from None
    record = {**record, "demonstrations": [d["id"] for d in demos]}
    return record, render_prompt(tokenizer, few_shot_messages(record, demos))


def load_backend(args, model, backend, dtype, device, tokenizer, settings):
    """(generate, chunk size): a function prompts -> generated ids, and how many prompts to give it at once."""
    print(f"{TOOL}: backend {backend}, {dtype}, sampling {json.dumps(settings)}", file=sys.stderr)
    if backend == "vllm":
        generate = vllm_engine(
            str(model),
            settings,
            dtype=dtype,
            tensor_parallel_size=args.tensor_parallel_size,
            max_num_seqs=args.max_num_seqs,
            gpu_memory_utilization=args.gpu_memory_utilization,
            trust_remote_code=args.trust_remote_code,
        )
        return generate, 4 * args.max_num_seqs  # vLLM schedules within a chunk; results are saved after each
    hf_model = load_hf_model(model, getattr(torch, dtype), device, args.trust_remote_code)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return (lambda prompts: greedy_generate(hf_model, prompts, settings, pad_id)), args.batch_size


def run_generation(jobs, tokenizer, settings, generate, chunk_size, desc, already_done=0):
    """Yield (record, prediction, cut) for (record, prompt) `jobs`, longest prompt first, chunk by chunk.

    `cut`: the answer ended without a stop token, at --max-tokens (or, with vLLM, at the model's
    context length), so it may be incomplete.
    Sorting by length keeps padding small; the order depends only on the prompts, so a resumed
    run writes the remaining records in the order the uninterrupted run would have.
    """
    encoded = [(record, prompt_token_ids(tokenizer, prompt)) for record, prompt in jobs]
    encoded.sort(key=lambda job: -len(job[1]))
    stops, tokens, start = set(settings["stop_token_ids"]), 0, time.perf_counter()
    with tqdm(total=already_done + len(jobs), initial=already_done, desc=desc, unit="rec") as bar:
        for i in range(0, len(encoded), chunk_size):
            chunk = encoded[i : i + chunk_size]
            outputs = generate([ids for _, ids in chunk])
            for (record, _), out_ids in zip(chunk, outputs):
                cut = not stops.intersection(out_ids)
                yield record, completion_text(tokenizer, out_ids, settings), cut
            tokens += sum(len(o) for o in outputs)
            bar.update(len(chunk))
            bar.set_postfix(tok_s=f"{tokens / (time.perf_counter() - start):.1f}")


# ---------------------------------------------------------------------------------------------
# inputs


def read_datasets(paths, limit):
    """({dataset: its first `limit` records}, {dataset: its file}) from test files.

    Every record of every file is checked, also past `limit`: each dataset comes from one file,
    and each id appears once in it.
    """
    datasets, sources, first_line = {}, {}, {}
    for path in dict.fromkeys(paths):  # a file given twice is read once
        count = 0
        for lineno, record in numbered_records(path):
            count += 1
            dataset, record_id = record["dataset"], record["id"]
            if sources.setdefault(dataset, path) != path:
                raise InputError(
                    f"{path}:{lineno}: dataset {dataset!r} is also in {sources[dataset]}; give each dataset once"
                )
            seen = first_line.setdefault(dataset, {})
            if record_id in seen:
                raise InputError(
                    f"{path}:{lineno}: id {excerpt(record_id)} appears twice in dataset {dataset} "
                    f"(first on line {seen[record_id]})"
                )
            seen[record_id] = lineno
            records = datasets.setdefault(dataset, [])
            if limit is None or len(records) < limit:
                records.append(record)
        if not count:
            raise InputError(f"{path}: no records in it")
    return datasets, sources


def shots_for(shots, task):
    """Demonstrations per question of `task`: the paper's baselines showed two for span tasks only."""
    return (2 if task in SPAN_TASKS else 0) if shots == "paper" else shots


def read_train_splits(sources, datasets):
    """{dataset: (train file, its train records)} for `datasets`, from the train.jsonl beside each test file."""
    trains = {}
    for dataset in datasets:
        path = sources[dataset].with_name("train.jsonl")
        if not path.is_file():
            raise InputError(
                f"{path}: no such file; --shots draws the demonstrations for {dataset} "
                "from the train split beside its test file"
            )
        records = [r for r in read_records(path) if r["dataset"] == dataset]
        if not records:
            raise InputError(
                f"{path}: no train records of dataset {dataset}; --shots draws its demonstrations from them"
            )
        trains[dataset] = path, records
    return trains


def read_texts(args):
    """[(id, text)] of the user's texts: --text (id None), or the objects of --input's JSON lines.

    Blank lines are skipped. Errors name `file:line` and the field, never the text.
    """
    if args.text is not None:
        if not args.text.strip():
            raise InputError("--text is empty")
        return [(None, args.text)]
    texts, first_line = [], {}
    for lineno, item in numbered_json(args.input):  # blank lines skipped, bad JSON named by its line
        where = f"{args.input}:{lineno}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: not a JSON object; {INPUT_LINE}")
        text_id, text = item.get("id"), item.get("text")
        if isinstance(text_id, bool) or not isinstance(text_id, (str, int)) or text_id == "":
            raise InputError(f"{where}: 'id' is missing or not a non-empty string or whole number; {INPUT_LINE}")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: 'text' is missing, not a string, or white space only; {INPUT_LINE}")
        if text_id in first_line:
            raise InputError(f"{where}: 'id' is the same as on line {first_line[text_id]}; give each text its own id")
        first_line[text_id] = lineno
        texts.append((text_id, text))
    if not texts:
        raise InputError(f"{args.input}: no text in it")
    return texts


def own_records(args, texts):
    """Records asking `args.task` of each of the user's `texts` (gold is a placeholder, never used)."""
    labels = [x.strip() for x in (args.labels or "").split(",") if x.strip()]
    options = [x.strip() for x in (args.options or "").split(",") if x.strip()]
    if args.task in SPAN_TASKS and not labels:
        raise InputError(f"--task {args.task} needs --labels, e.g. --labels 'Disease,Chemical'")
    if args.task in ("dc", "qa") and len(options) < 2:
        raise InputError(f"--task {args.task} needs at least two --options, e.g. --options 'yes,no'")
    if args.task == "qa" and not args.question:
        raise InputError("--task qa needs --question")
    records = []
    for i, text in enumerate(texts, 1):
        common = {"id": f"text-{i}", "dataset": "own_text", "split": "test", "text": text}
        try:
            if args.task in SPAN_TASKS:
                record = ner_record(**common, task=args.task, labels=labels, spans=[], shuffle=False)
            elif args.task == "dc":
                record = dc_record(
                    **common,
                    what=args.what,
                    options=options,
                    answers=[] if args.multi_label else options[:1],
                    multi_label=args.multi_label,
                    shuffle=False,
                )
            else:
                record = qa_record(**common, question=args.question, options=options, answer=options[0], shuffle=False)
        except ValueError as e:
            raise InputError(f"--labels/--options: {e}") from None
        records.append(record)
    return records


# ---------------------------------------------------------------------------------------------
# outputs


def own_answer(text_id, text, record, prediction, cut):
    """The output line for one of the user's texts: spans with offsets into `text`, or the chosen options.

    A span found in the text gets the 0-based, end-exclusive character offsets of its mention and
    that mention as its "text" (so text[start:end] == span["text"]; the model may have written its
    white space differently). A span not found keeps the model's wording, null offsets and
    "in_text": false.
    """
    parsed = parse_answer(record, prediction)
    answer = {
        "id": text_id,
        "text": text,
        "prediction": prediction,
        "reached_max_tokens": cut,
        "unparseable": parsed["unparseable"],
    }
    if record["task"] not in SPAN_TASKS:
        return {**answer, "letters": parsed["letters"], "answers": parsed["answers"]}
    answer["spans"] = []
    for label, spans in parsed["spans"].items():
        for span, where in zip(spans, locate_spans(text, spans)):
            start, end = where or (None, None)
            answer["spans"].append(
                {
                    "label": label,
                    "text": text[start:end] if where else span,
                    "start": start,
                    "end": end,
                    "in_text": where is not None,
                }
            )
    return answer


def versions(backend):
    """Versions of what computed the predictions (a module's own, whatever wheel installed it)."""
    found = {"python": platform.python_version(), "mnlu": importlib.metadata.version("mnlu")}
    for module in ("torch", "transformers") + (("vllm",) if backend == "vllm" else ()):
        found[module] = importlib.import_module(module).__version__
    return found


def resumed_run(path, run):
    """`run`, merged with the run.json of the earlier runs into the same folder, which must match RUN_KEYS.

    The folder keeps the predictions of every dataset it was ever given, so earlier input files
    and instance counts stay listed; this run's counts replace those of its own datasets.
    """
    if not path.exists():
        return run
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):
        raise InputError(
            f"{path}: not valid JSON; move it away (with the predictions beside it) or pass another --out"
        ) from None
    if not (
        isinstance(earlier, dict)
        and isinstance(earlier.get("data", []), list)
        and isinstance(earlier.get("instances", {}), dict)
    ):
        raise InputError(
            f"{path}: not an infer.py run.json (an object with a 'data' list and an 'instances' "
            "object); move it away or pass another --out"
        )
    for key in RUN_KEYS:
        if earlier.get(key) != run[key]:
            before, now = _difference(earlier.get(key), run[key])
            raise InputError(
                f"{path}: this folder holds predictions made with {key}={excerpt(before, 80)}, "
                f"this run has {key}={excerpt(now, 80)}; pass another --out"
            )
    return joined_run([earlier, run])


def _difference(before, now):
    """The entries that differ, when both are dicts (the sampling settings); else both values."""
    if not (isinstance(before, dict) and isinstance(now, dict)):
        return before, now
    keys = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    return {k: before.get(k) for k in keys}, {k: now.get(k) for k in keys}


if __name__ == "__main__":
    run_main(TOOL, main)
