"""`python -m data_builders mix`: built MNLU-Instruct sources -> one training file, as a recipe says.

A recipe is a small TOML file (the shipped ones are in data_builders/instruct/recipes/):

    description = "..."
    total = 50000              # optional; without it every selected instance is taken (after caps)
    pool_shares = "equal"      # optional: "equal" or "proportional" (see below)
    [groups.re]                # the total is split equally over the groups, and each group's share
    tasks = ["re"]             #   equally over its pools (one per source and task), a pool that is
    domain = "clinical"        #   too small giving its unused quota to the others; domain is optional
    [caps]                     # optional: "source" or "source/task" -> fraction kept, drawn as a
    snli = 0.03                #   seeded random sample (not the first rows)

`pool_shares = "proportional"` splits each group's share over its pools in proportion to their
sizes instead (after caps; `allocate_proportionally`): the paper's ablations sampled a task's
share at random from all of its datasets, which gives each in expectation a share proportional to
its size, where equal shares would over-weight the small corpora. The ablation recipes use it.

Four optional keys shape a mix for CPU-scale runs (recipes `demo` and `small` use them): `sentences = true`
cuts each NER and trigger record into one record per sentence (`sentence_records`); `one_label = f`
asks a seeded share f of the multi-label NER and trigger records for one of their labels only
(`one_label_records`); `max_chars = N` leaves out records whose question and answer together are
longer than N characters; and `max_no_span = f` keeps records that answer None for every label to
at most a share f of their pool (a seeded sample), since most sentences of LINNAEUS or tmVar name
no entity at all.

Every draw uses a generator seeded by (seed, source, task), so a mix is identical for a seed
whatever else is in the built folder. No evaluation dataset can enter: a pool named after one is
refused, and instances holding a 13-word window of an evaluation text (or a whole shorter one)
are dropped before sampling (`eval_texts`), so totals stay exact.
"""

import json
import os
import random
import re
import tomllib
from collections import Counter
from pathlib import Path

from data_builders.instruct.registry import SOURCES
from data_builders.instruct.source import DOMAINS
from data_builders.readers import sentence_bounds
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.cli import InputError, excerpt
from mnlu.fileio import OutputError, atomic_write, read_json
from mnlu.records import DATASET_ID, SPAN_TASKS, TASKS, read_records, write_records
from mnlu.tasks import OPTIONS_MARKER, make_record, source_text, user_turn

RECIPES = Path(__file__).resolve().parent / "recipes"  # the shipped recipes, by name (--recipe full)
NGRAM = 13  # words: the decontamination unit of GPT-3 and later LLM reports
MIN_WORDS = 5  # shorter evaluation texts (short hypotheses, labels) are too common to prove a leak


class RecipeError(InputError):
    """A recipe is malformed or cannot be met by the built sources; the message names the recipe."""


def load_recipe(path):
    """The recipe at `path`, checked: groups with known tasks, caps as fractions in (0, 1]."""
    try:
        with open(path, "rb") as f:
            recipe = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: not valid TOML ({e})") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{path}: not UTF-8 text, so not a TOML recipe") from None
    except (ValueError, RecursionError):  # an integer past 4,300 digits, nesting past the recursion limit
        raise RecipeError(f"{path}: a TOML value too large or too deeply nested to read") from None
    groups, caps, total = recipe.get("groups"), recipe.get("caps", {}), recipe.get("total")
    if not isinstance(groups, dict) or not groups or not all(isinstance(g, dict) for g in groups.values()):
        raise RecipeError(f"{path}: needs at least one [groups.<name>] table")
    if not isinstance(caps, dict):
        raise RecipeError(f"{path}: caps must be a [caps] table")
    taken = set()  # (task, domain) pairs: no pool may feed two groups
    for name, group in groups.items():
        if (
            not isinstance(group.get("tasks"), list)
            or not group["tasks"]
            or any(t not in TASKS for t in group["tasks"])
        ):
            raise RecipeError(f"{path}: groups.{name}.tasks must list tasks among {', '.join(TASKS)}")
        if group.get("domain", DOMAINS[0]) not in DOMAINS:
            raise RecipeError(f"{path}: groups.{name}.domain must be one of {', '.join(DOMAINS)}")
        pairs = {(t, d) for t in group["tasks"] for d in ([group["domain"]] if "domain" in group else DOMAINS)}
        if pairs & taken:
            raise RecipeError(f"{path}: groups.{name} selects tasks another group already selects")
        taken |= pairs
    if total is not None and (not isinstance(total, int) or isinstance(total, bool) or total < len(groups)):
        raise RecipeError(f"{path}: total must be an integer of at least one per group")
    if not isinstance(shares := recipe.get("pool_shares", "equal"), str) or shares not in POOL_SHARES:
        raise RecipeError(f"{path}: pool_shares must be one of {', '.join(POOL_SHARES)}")
    if not isinstance(recipe.get("sentences", False), bool):
        raise RecipeError(f"{path}: sentences must be true or false")
    if "max_chars" in recipe and (not isinstance(recipe["max_chars"], int) or recipe["max_chars"] < 1):
        raise RecipeError(f"{path}: max_chars must be a positive integer")
    if "one_label" in recipe and (
        not isinstance(recipe["one_label"], (int, float))
        or isinstance(recipe["one_label"], bool)
        or not 0 <= recipe["one_label"] <= 1
    ):
        raise RecipeError(f"{path}: one_label must be a fraction in [0, 1]")
    if "max_no_span" in recipe and (
        not isinstance(recipe["max_no_span"], (int, float)) or not 0 <= recipe["max_no_span"] < 1
    ):
        raise RecipeError(f"{path}: max_no_span must be a fraction in [0, 1)")
    for key, fraction in caps.items():
        if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise RecipeError(f"{path}: caps.{key} must be a fraction in (0, 1]")
        source, _, task = key.partition("/")
        if source not in SOURCES or (task and task not in SOURCES[source].tasks):
            raise RecipeError(f"{path}: caps.{key} names no declared source (or task of it)")
    return recipe


def load_pools(built_dir):
    """{(source, task): records} of a built folder, and {source: domain} from its manifest."""
    manifest = read_manifest(Path(built_dir))
    pools = {}
    for source in sorted(manifest):
        path = built_dir / f"{source}.jsonl"
        if source in EVAL_DATASETS:
            raise RecipeError(f"{path}: {source} is an evaluation dataset and can never be mixed")
        for record in read_records(path) if path.exists() else ():
            if record["dataset"] in EVAL_DATASETS:
                raise RecipeError(
                    f"{path}: record {excerpt(record['id'])} is from evaluation dataset {record['dataset']}"
                )
            pools.setdefault((source, record["task"]), []).append(record)
    return pools, {source: entry["domain"] for source, entry in manifest.items()}


def read_manifest(built_dir):
    """The manifest build-instruct wrote into `built_dir`: {source name: {"domain": ..., ...}}."""
    path = built_dir / "manifest.json"
    if not path.is_file():
        raise RecipeError(f"--built {built_dir} holds no manifest.json: give a folder written by build-instruct")
    manifest = read_json(path)
    if not isinstance(manifest, dict) or not all(
        isinstance(entry, dict) and entry.get("domain") in DOMAINS and DATASET_ID.fullmatch(source)
        for source, entry in manifest.items()
    ):
        raise RecipeError(f"{path}: not a manifest of build-instruct (source name -> entry with a domain)")
    return manifest


# ---------------------------------------------------------------------------------------------
# evaluation overlap


def _fragments(record):
    """The texts a record shows besides its instruction template (NLI/STS keep theirs in it)."""
    text = source_text(record)
    if text is None:
        text = re.sub(
            r"^.*?(Premise|Sentence 1): |\. (Hypothesis|Sentence 2): ", "\n", user_turn(record).split(OPTIONS_MARKER)[0]
        )
    return [t for t in text.split("\n") if t.strip()]


def _words(text):
    return re.findall(r"\w+", text.casefold())


def fingerprints(texts):
    """{length: word sequences}: every 13-word window of `texts`; a shorter text (5+ words) whole."""
    prints = {}
    for text in texts:
        words = _words(text)
        if len(words) >= MIN_WORDS:
            n = min(NGRAM, len(words))
            prints.setdefault(n, set()).update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return prints


def overlaps_eval(record, eval_prints):
    """Whether `record` contains a 13-word window (or a whole shorter text) of an evaluation text."""
    for fragment in _fragments(record):
        words = _words(fragment)
        for n, prints in eval_prints.items():
            if any(tuple(words[i : i + n]) in prints for i in range(len(words) - n + 1)):
                return True
    return False


def eval_texts(paths):
    """The texts of built evaluation records (JSONL files, or folders of them) to exclude by overlap.

    A folder without records is an error: it would exclude nothing, silently.
    """
    files = []
    for path in map(Path, paths):
        found = sorted(path.glob("**/*.jsonl")) if path.is_dir() else [path]
        if not found:
            raise RecipeError(f"--exclude-eval {path}: a folder with no .jsonl records to exclude")
        files += found
    return [fragment for f in files for record in read_records(f) for fragment in _fragments(record)]


# ---------------------------------------------------------------------------------------------
# short records


def sentence_records(record):
    """An NER or trigger record as one record per sentence of its text, asking for the same labels.

    Each span moves to the sentence holding it, offsets shifted; a boundary inside a span is no
    boundary. Other tasks, and spans without offsets, leave the record whole.
    """
    spans = record["gold"].get("spans", [])
    if record["task"] not in ("ner", "ete") or not all("start" in s for s in spans):
        return [record]
    text = source_text(record)
    bounds = sentence_bounds(text)
    for span in spans:  # merge the sentences a span crosses
        inside = [k for k, (a, b) in enumerate(bounds) if a < span["end"] and span["start"] < b]
        bounds[inside[0] : inside[-1] + 1] = [(bounds[inside[0]][0], bounds[inside[-1]][1])]
    if len(bounds) == 1:
        return [record]
    return [
        make_record(
            record["task"],
            id=f"{record['id']}-s{k}",
            dataset=record["dataset"],
            split=record["split"],
            text=text[a:b],
            labels=record["gold"]["labels"],
            spans=[{**s, "start": s["start"] - a, "end": s["end"] - a} for s in spans if a <= s["start"] < b],
        )
        for k, (a, b) in enumerate(bounds)
    ]


def one_label_records(records, share, seed, key):
    """`records` with a seeded `share` of the multi-label NER and trigger records asking for one label.

    A record whose question lists every type of its source teaches an answer of that many lines;
    asked for one type (as NCBI-disease or BC5CDR-chem ask), a model that never saw such a
    question goes on writing lines for types nobody asked. The label is drawn among the record's
    own, the answer keeps that label's spans, and the record keeps its place in the pool.
    """
    rng = random.Random(f"{seed}:{key[0]}:{key[1]}:one-label")
    out = []
    for record in records:
        labels = record["gold"].get("labels", [])
        if record["task"] not in ("ner", "ete") or len(labels) < 2 or rng.random() >= share:
            out.append(record)
            continue
        label = rng.choice(labels)
        out.append(
            make_record(
                record["task"],
                id=f"{record['id']}-{labels.index(label)}",
                dataset=record["dataset"],
                split=record["split"],
                text=source_text(record),
                labels=[label],
                spans=[s for s in record["gold"]["spans"] if s["label"] == label],
            )
        )
    return out


def record_chars(record):
    return sum(len(m["content"]) for m in record["messages"])


def limit_no_span(records, share, seed, key):
    """`records` with those whose every answer line is None cut to at most `share` of the result."""
    empty = [r for r in records if r["task"] in SPAN_TASKS and not r["gold"]["spans"]]
    if not empty:
        return records
    dropped = {id(r) for r in empty} - {
        id(r) for r in _draw(empty, int(share / (1 - share) * (len(records) - len(empty))), seed, key)
    }
    return [r for r in records if id(r) not in dropped]


# ---------------------------------------------------------------------------------------------
# sampling


def allocate(total, sizes):
    """Split `total` as equally as possible over pools of `sizes`, none past its size (exact sum)."""
    quotas, remaining = [0] * len(sizes), total
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for k, i in enumerate(order):
        quotas[i] = min(sizes[i], remaining // (len(order) - k))
        remaining -= quotas[i]
    if remaining:
        raise ValueError(f"only {total - remaining} instances for a share of {total}")
    return quotas


def allocate_proportionally(total, sizes):
    """Split `total` over pools in proportion to their `sizes` (largest remainders; exact sum, none past its size)."""
    available = sum(sizes)
    if total > available:
        raise ValueError(f"only {available} instances for a share of {total}")
    quotas = [total * size // available for size in sizes]
    by_remainder = sorted(range(len(sizes)), key=lambda i: (-(total * sizes[i] % available), i))
    for i in by_remainder[: total - sum(quotas)]:
        quotas[i] += 1
    return quotas


POOL_SHARES = {"equal": allocate, "proportional": allocate_proportionally}  # recipe key pool_shares


def _draw(records, k, seed, key):
    """A random sample of `k` records of the pool `key` (all when k covers them), seeded by both."""
    rng = random.Random(f"{seed}:{key[0]}:{key[1]}")
    return records if k >= len(records) else rng.sample(records, k)


def select(recipe, pools, domains, seed, total=None, where="recipe"):
    """The recipe's instances: per group, per pool, after caps, to the (overridden) total."""
    total, caps = recipe.get("total") if total is None else total, recipe.get("caps", {})
    capped = {}
    for key, records in pools.items():
        fraction = caps.get(f"{key[0]}/{key[1]}", caps.get(key[0], 1))
        capped[key] = _draw(records, int(fraction * len(records)), seed, key)
    groups = recipe["groups"]
    shares = allocate(total, [total] * len(groups)) if total is not None else [None] * len(groups)
    chosen = []
    for (name, group), share in zip(groups.items(), shares):
        keys = [
            k for k in sorted(capped) if k[1] in group["tasks"] and group.get("domain") in (None, domains.get(k[0]))
        ]
        if share is None:
            chosen += [r for k in keys for r in capped[k]]
            continue
        try:
            quotas = POOL_SHARES[recipe.get("pool_shares", "equal")](share, [len(capped[k]) for k in keys])
        except ValueError as e:
            raise RecipeError(
                f"{where}: group {name!r} cannot be met from {[f'{a}/{b}' for a, b in keys]}: {e}"
            ) from None
        chosen += [r for k, q in zip(keys, quotas) for r in _draw(capped[k], q, seed, k)]
    random.Random(seed).shuffle(chosen)
    return chosen


def check_mix_output(out_path, inputs):
    """Refuse an --out that is a folder, a file that is not an earlier mix (mix writes FILE and
    FILE.counts.json together), or would overwrite an input or land in a folder of inputs (the
    built folder is replaced whole by the next build-instruct; an evaluation folder would read
    the mix back as evaluation records)."""
    out_path = Path(out_path)
    if out_path.is_dir():
        raise OutputError(f"--out {out_path} is a folder; give the name of the JSONL file to write")
    for target in (out_path, Path(f"{out_path}.counts.json")):
        for given in inputs:
            place, written = Path(os.path.realpath(given)), Path(os.path.realpath(target))
            if written == place or place in written.parents:
                raise OutputError(
                    f"--out {out_path} would write into the input {given}; choose an --out outside every input"
                )
    if os.path.lexists(out_path) and not Path(f"{out_path}.counts.json").is_file():
        raise OutputError(
            f"--out {out_path} exists and is not an earlier mix (no {out_path.name}.counts.json beside it); "
            "choose a new name, or remove that file yourself"
        )


def mix(built_dir, recipe_path, out_path, seed=42, total=None, eval_paths=()):
    """Write the mix to `out_path` and its counts to `<out_path>.counts.json`; return the counts."""
    check_mix_output(out_path, [built_dir, recipe_path, *eval_paths])
    recipe = load_recipe(recipe_path)
    if total is not None and total < len(recipe["groups"]):
        raise RecipeError(
            f"--total {total}: must be at least one instance per group of {recipe_path} ({len(recipe['groups'])})"
        )
    pools, domains = load_pools(built_dir)
    eval_prints = fingerprints(eval_texts(eval_paths))
    dropped = Counter()
    if eval_prints:
        for key, records in pools.items():
            pools[key] = [r for r in records if not overlaps_eval(r, eval_prints)]
            dropped[key[0]] += len(records) - len(pools[key])
    if recipe.get("sentences"):
        pools = {key: [s for r in records for s in sentence_records(r)] for key, records in pools.items()}
    if "one_label" in recipe:
        pools = {key: one_label_records(records, recipe["one_label"], seed, key) for key, records in pools.items()}
    if "max_chars" in recipe:
        pools = {key: [r for r in records if record_chars(r) <= recipe["max_chars"]] for key, records in pools.items()}
    if "max_no_span" in recipe:
        pools = {key: limit_no_span(records, recipe["max_no_span"], seed, key) for key, records in pools.items()}
    records = select(recipe, pools, domains, seed, total, where=str(recipe_path))
    if not records:
        raise RecipeError(f"{recipe_path}: selects no instance from the sources built in {built_dir}")
    write_records(out_path, records)
    counts = {
        "recipe": str(recipe_path),
        "description": recipe.get("description", ""),
        "seed": seed,
        "total": len(records),
        "per_task": dict(sorted(Counter(r["task"] for r in records).items())),
        "per_source": dict(sorted(Counter(r["dataset"] for r in records).items())),
        "per_source_task": dict(sorted(Counter(f"{r['dataset']}/{r['task']}" for r in records).items())),
        "dropped_for_eval_overlap": {s: n for s, n in sorted(dropped.items()) if n},
        "sources_not_built": sorted(s for s in domains if not any(k[0] == s for k in pools)),
    }
    with atomic_write(f"{out_path}.counts.json") as f:
        json.dump(counts, f, indent=1)
    return counts


def run_mix(args):
    """Mix, print the recipe and the per-task and per-source counts."""
    recipe = args.recipe if args.recipe.is_file() else RECIPES / f"{args.recipe}.toml"
    if not recipe.is_file():
        raise InputError(f"--recipe {args.recipe} is neither a file nor a shipped recipe name")
    counts = mix(args.built, recipe, args.out, args.seed, args.total, args.exclude_eval)
    print(counts["description"])
    for title, table in (("per task", counts["per_task"]), ("per source", counts["per_source"])):
        print(title + ":")
        for key, n in table.items():
            print(f"  {key:20s} {n:8d}")
    print(f"total {counts['total']} -> {args.out} (counts in {args.out}.counts.json)")
    if counts["dropped_for_eval_overlap"]:
        print(f"dropped for overlap with evaluation texts: {counts['dropped_for_eval_overlap']}")
    if counts["sources_not_built"]:
        print(f"sources with no built records: {', '.join(counts['sources_not_built'])}")
    return 0
