"""Zero-shot (or few-shot) generation over unified-format test files, or over your own text.

    python infer.py --model runs/merged --data data/eval/bc5cdr_chem/test.jsonl data/eval/hoc/test.jsonl --out preds/merged/
    python infer.py --model runs/merged --task ner --labels "Disease,Chemical" --text "Cisplatin nephrotoxicity."

Each record's question is rendered with the tokenizer's chat template and its generation prompt
(mnlu.chat, as train.py renders it) and answered greedily by vLLM or plain transformers, which
share one set of sampling settings (mnlu.generate). Every record is appended with its
"prediction" to <out>/<dataset>.jsonl as soon as its batch is done; <out>/run.json says how the
predictions were made. Running the same command again skips the ids already done, so a killed
run resumes with nothing lost and nothing twice.

With --task, the texts come from --text or --input (one document a line) and the answer is
printed as JSON: spans with their character offsets in the text, or the chosen options.
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
from transformers import AutoTokenizer

from mnlu.chat import prompt_token_ids, render_prompt
from mnlu.fileio import atomic_write
from mnlu.generate import (completion_text, greedy_generate, load_hf_model, sampling_settings,
                           vllm_engine)
from mnlu.parse import locate_spans, parse_answer
from mnlu.records import SPAN_TASKS, RecordError, read_records
from mnlu.resume import append_line, finished_ids
from mnlu.shots import few_shot_messages, pick_demonstrations
from mnlu.tasks import dc_record, ner_record, qa_record, source_text

OWN_TEXT_TASKS = ("ner", "ete", "dc", "qa")
RUN_KEYS = ("model", "backend", "dtype", "shots", "seed", "sampling")  # must match to resume into a folder


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model folder or hub id (safetensors weights)")
    p.add_argument("--data", nargs="+", type=Path, help="unified-format test files, e.g. data/eval/<id>/test.jsonl")
    p.add_argument("--out", type=Path, help="folder for <dataset>.jsonl predictions and run.json")
    p.add_argument("--backend", choices=("auto", "vllm", "hf"), default="auto",
                   help="auto: vLLM when it is installed and a GPU is present, else hf (transformers)")
    p.add_argument("--shots", type=lambda x: int(x) if x.isdigit() else x, choices=(0, 2, "paper"), default=0,
                   help="demonstrations from train.jsonl beside each test file; paper: 2 for span tasks and 0 for "
                        "choice tasks, the paper's baseline setting")
    p.add_argument("--seed", type=int, default=0, help="seeds the choice of demonstrations and the vLLM engine")
    p.add_argument("--max-tokens", type=int, default=512, help="most tokens generated per answer")
    p.add_argument("--limit", type=int, help="only the first N records of each dataset")
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"), default="auto",
                   help="auto: bfloat16 on a GPU, float32 on CPU (faster there than bfloat16)")
    p.add_argument("--batch-size", type=int, default=16, help="hf: prompts per batch (batched by length)")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="vLLM: GPUs per model")
    p.add_argument("--max-num-seqs", type=int, default=256, help="vLLM: sequences scheduled at once")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="vLLM: share of GPU memory it may take")
    p.add_argument("--trust-remote-code", action="store_true", help="run model code shipped with the checkpoint")
    own = p.add_argument_group("your own text (prints JSON instead of writing files)")
    own.add_argument("--task", choices=OWN_TEXT_TASKS, help="the question to ask of each text")
    own.add_argument("--text", help="one text")
    own.add_argument("--input", type=Path, help="a file of texts, one document a line")
    own.add_argument("--labels", help="ner/ete: comma-separated entity types, e.g. 'Disease,Chemical'")
    own.add_argument("--options", help="dc/qa: comma-separated options, e.g. 'yes,no,maybe'")
    own.add_argument("--question", help="qa: the question asked about each text")
    own.add_argument("--what", default="the medical text", help="dc: what the options describe")
    own.add_argument("--multi-label", action="store_true", help="dc: any number of options may apply")
    args = p.parse_args()
    if args.task is None and not (args.data and args.out):
        p.error("give --data and --out, or --task with --text/--input")
    if args.task is not None and (args.text is None) == (args.input is None):
        p.error("--task needs exactly one of --text or --input")
    if args.task is not None and args.shots:
        p.error("--shots needs a train split; it is for --data runs only")
    for path in (args.data or []) + ([args.input] if args.input else []):
        if not path.is_file():
            p.error(f"{path}: no such file")
    return args


def main():
    args = parse_args()
    backend = args.backend
    if backend == "auto":
        backend = "vllm" if importlib.util.find_spec("vllm") and torch.cuda.is_available() else "hf"
    if backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise SystemExit("--backend vllm: vLLM is not installed here (on a GPU: pip install vllm; "
                         "without one, see `make test-vllm` in docs/infer.md)")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = args.dtype if args.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")

    # Read and check every input before the (slow) model load: a bad file fails in a second.
    own = own_records(args) if args.task else None
    datasets = None if args.task else read_datasets(args.data, args.limit)
    shots = {d: shots_for(args.shots, records[0]["task"]) for d, records in (datasets or {}).items()}
    trains = read_train_splits(args.data, [d for d in shots if shots[d]]) if any(shots.values()) else {}

    tokenizer = AutoTokenizer.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    settings = sampling_settings(tokenizer, args.max_tokens, args.seed)
    print(f"backend {backend}, {dtype}, sampling {json.dumps(settings)}", file=sys.stderr)
    if not args.task:
        run = {"model": args.model, "backend": backend, "dtype": dtype, "shots": args.shots, "seed": args.seed,
               "sampling": settings, "data": [str(p) for p in args.data], "versions": versions(backend),
               "batch_size": args.batch_size, "tensor_parallel_size": args.tensor_parallel_size,
               "max_num_seqs": args.max_num_seqs}
        check_and_write_run(args.out / "run.json", run)

    generate, chunk_size = load_backend(args, backend, dtype, device, tokenizer, settings)
    if args.task:
        jobs = [(r, render_prompt(tokenizer, r["messages"])) for r in own]
        answers = {r["id"]: structured_answer(r, prediction)
                   for r, prediction in run_generation(jobs, tokenizer, settings, generate, chunk_size, "texts")}
        for record in own:  # in the order of the input, not of generation
            print(json.dumps(answers[record["id"]], ensure_ascii=False))
        return

    for dataset, records in datasets.items():
        path = args.out / f"{dataset}.jsonl"
        done = finished_ids(path)
        jobs = []
        for record in records:
            if record["id"] in done:
                continue
            if shots[dataset]:
                demos = pick_demonstrations(record, trains[dataset], shots[dataset], args.seed)
                record = {**record, "demonstrations": [d["id"] for d in demos]}
                prompt = render_prompt(tokenizer, few_shot_messages(record, demos))
            else:
                prompt = render_prompt(tokenizer, record["messages"])
            jobs.append((record, prompt))
        with open(path, "a", encoding="utf-8") as f:
            for record, prediction in run_generation(jobs, tokenizer, settings, generate, chunk_size, dataset,
                                                     already_done=len(records) - len(jobs)):
                append_line(f, {**record, "prediction": prediction})
    print(f"predictions in {args.out}/", file=sys.stderr)


def load_backend(args, backend, dtype, device, tokenizer, settings):
    """(generate, chunk size): a function prompts -> generated ids, and how many prompts to give it at once."""
    if backend == "vllm":
        generate = vllm_engine(args.model, settings, dtype=dtype, tensor_parallel_size=args.tensor_parallel_size,
                               max_num_seqs=args.max_num_seqs, gpu_memory_utilization=args.gpu_memory_utilization,
                               trust_remote_code=args.trust_remote_code)
        return generate, 4 * args.max_num_seqs  # vLLM schedules within a chunk; results are saved after each
    model = load_hf_model(args.model, getattr(torch, dtype), device, args.trust_remote_code)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return (lambda prompts: greedy_generate(model, prompts, settings, pad_id)), args.batch_size


def run_generation(jobs, tokenizer, settings, generate, chunk_size, desc, already_done=0):
    """Yield (record, prediction) for (record, prompt) `jobs`, longest prompt first, chunk by chunk.

    Sorting by length keeps padding small; the order depends only on the prompts, so a resumed
    run writes the remaining records in the order the uninterrupted run would have.
    """
    encoded = [(record, prompt_token_ids(tokenizer, prompt)) for record, prompt in jobs]
    encoded.sort(key=lambda job: -len(job[1]))
    tokens, start = 0, time.perf_counter()
    with tqdm(total=already_done + len(jobs), initial=already_done, desc=desc, unit="rec") as bar:
        for i in range(0, len(encoded), chunk_size):
            chunk = encoded[i : i + chunk_size]
            outputs = generate([ids for _, ids in chunk])
            for (record, _), out_ids in zip(chunk, outputs):
                yield record, completion_text(tokenizer, out_ids, settings)
            tokens += sum(len(o) for o in outputs)
            bar.update(len(chunk))
            bar.set_postfix(tok_s=f"{tokens / (time.perf_counter() - start):.1f}")


# ---------------------------------------------------------------------------------------------
# inputs


def read_datasets(paths, limit):
    """{dataset: records} from test files, each record id once per dataset."""
    datasets, source = {}, {}
    for path in paths:
        for record in read_records(path):
            dataset = record["dataset"]
            if source.setdefault(dataset, path) != path:
                raise SystemExit(f"{path}: dataset {dataset!r} is also in {source[dataset]}; give each dataset once")
            records = datasets.setdefault(dataset, [])
            if limit is None or len(records) < limit:
                records.append(record)
    for dataset, records in datasets.items():
        seen = set()
        for record in records:
            if record["id"] in seen:
                raise SystemExit(f"{source[dataset]}: id {record['id']!r} appears twice in {dataset}")
            seen.add(record["id"])
    return datasets


def shots_for(shots, task):
    """Demonstrations per question of `task`: the paper's baselines showed two for span tasks only."""
    return (2 if task in SPAN_TASKS else 0) if shots == "paper" else shots


def read_train_splits(test_paths, datasets):
    """{dataset: train records} for `datasets`, from the train.jsonl beside each test file."""
    trains = {}
    for path in test_paths:
        if path.with_name("train.jsonl").exists():
            for record in read_records(path.with_name("train.jsonl")):
                trains.setdefault(record["dataset"], []).append(record)
    missing = [d for d in datasets if not trains.get(d)]
    if missing:
        raise SystemExit(f"no train records for {', '.join(missing)} in a train.jsonl beside "
                         f"{', '.join(map(str, test_paths))}; --shots draws its demonstrations from them")
    return trains


def own_records(args):
    """Records asking `args.task` of each of the user's texts (gold is a placeholder, never used)."""
    texts = [args.text] if args.text is not None else args.input.read_text(encoding="utf-8").split("\n")
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise SystemExit(f"{args.input}: no text in it")
    labels = [x.strip() for x in (args.labels or "").split(",") if x.strip()]
    options = [x.strip() for x in (args.options or "").split(",") if x.strip()]
    if args.task in SPAN_TASKS and not labels:
        raise SystemExit(f"--task {args.task} needs --labels, e.g. --labels 'Disease,Chemical'")
    if args.task in ("dc", "qa") and len(options) < 2:
        raise SystemExit(f"--task {args.task} needs at least two --options, e.g. --options 'yes,no'")
    if args.task == "qa" and not args.question:
        raise SystemExit("--task qa needs --question")
    records = []
    for i, text in enumerate(texts, 1):
        common = {"id": f"text-{i}", "dataset": "own_text", "split": "test", "text": text}
        try:
            if args.task in SPAN_TASKS:
                record = ner_record(**common, task=args.task, labels=labels, spans=[], shuffle=False)
            elif args.task == "dc":
                record = dc_record(**common, what=args.what, options=options, answers=[] if args.multi_label
                                   else options[:1], multi_label=args.multi_label, shuffle=False)
            else:
                record = qa_record(**common, question=args.question, options=options, answer=options[0],
                                   shuffle=False)
        except ValueError as e:
            raise SystemExit(f"--labels/--options: {e}") from None
        records.append(record)
    return records


# ---------------------------------------------------------------------------------------------
# outputs


def structured_answer(record, prediction):
    """The parsed answer to one of the user's texts: spans with offsets, or the chosen options."""
    parsed = parse_answer(record, prediction)
    text = source_text(record)
    answer = {"text": text, "prediction": prediction, "unparseable": parsed["unparseable"]}
    if record["task"] not in SPAN_TASKS:
        return {**answer, "letters": parsed["letters"], "answers": parsed["answers"]}
    answer["spans"] = []
    for label, spans in parsed["spans"].items():
        for span, where in zip(spans, locate_spans(text, spans)):
            start, end = where or (None, None)
            answer["spans"].append({"label": label, "text": span, "start": start, "end": end,
                                    "in_text": where is not None})
    return answer


def versions(backend):
    """Versions of what computed the predictions (a module's own, whatever wheel installed it)."""
    found = {"python": platform.python_version(), "mnlu": importlib.metadata.version("mnlu")}
    for module in ("torch", "transformers") + (("vllm",) if backend == "vllm" else ()):
        found[module] = importlib.import_module(module).__version__
    return found


def check_and_write_run(path, run):
    """Write run.json; if the folder holds an earlier run, its predictions must come from the same settings."""
    if path.exists():
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise SystemExit(f"{path}: not valid JSON ({e.msg})") from None
        for key in RUN_KEYS:
            if earlier.get(key) != run[key]:
                raise SystemExit(f"{path}: this folder holds predictions made with {key}={earlier.get(key)!r}, "
                                 f"this run has {key}={run[key]!r}; pass another --out")
    with atomic_write(path) as f:
        json.dump(run, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    try:
        main()
    except (RecordError, ValueError, OSError) as e:  # bad input, unreadable model folder: one line, no traceback
        sys.exit(f"error: {e}")
