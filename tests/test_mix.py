"""The mixer: exact per-task totals, determinism, caps, and no evaluation data in any mix."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from data_builders.__main__ import main  # `python -m data_builders mix`, the documented command
from data_builders.instruct.mix import (
    RecipeError,
    allocate,
    allocate_proportionally,
    eval_texts,
    fingerprints,
    load_recipe,
    mix,
    one_label_records,
    overlaps_eval,
    sentence_records,
)
from mnlu.benchmarks import EVAL_DATASETS
from mnlu.records import check_record, read_records, write_records
from mnlu.tasks import make_record, source_text

RECIPES = Path(__file__).parents[1] / "data_builders" / "instruct" / "recipes"
RELEASE = Path(__file__).parent / "fixtures" / "release"

# source -> (domain, {task: instances}); sizes chosen so some pools run short of an equal share
SOURCES = {
    "re_big": ("biomedical", {"re": 40}),
    "re_small": ("biomedical", {"re": 3}),
    "i2b2_2011_coref": ("clinical", {"re": 50, "ner": 10}),
    "snli": ("general", {"nli": 100}),
    "bionli": ("biomedical", {"nli": 30}),
    "ner_bio": ("biomedical", {"ner": 30}),
    "ner_bio_small": ("biomedical", {"ner": 4}),
    "ner_clin": ("clinical", {"ner": 20}),
    "events": ("clinical", {"ete": 12, "eae": 9, "eac": 9}),
    "sts_src": ("general", {"sts": 25}),
    "dc_src": ("clinical", {"dc": 40}),
    "summ_src": ("biomedical", {"summ": 5}),
}


def make(source, task, k):
    key = dict(id=f"{source}-{task}-{k}", dataset=source, split="train")
    text = f"Instance {k} of {source} {task} mentions aspirin and fever."
    if task in ("ner", "ete"):
        return make_record(
            task,
            **key,
            text=text,
            labels=["Drug"],
            spans=[
                {"label": "Drug", "text": "aspirin", "start": text.index("aspirin"), "end": text.index("aspirin") + 7}
            ],
        )
    if task == "eae":
        return make_record(
            task,
            **key,
            text=text,
            trigger="Drug",
            trigger_span="aspirin",
            attribute="Reason",
            spans=[{"text": "fever"}],
        )
    if task in ("eac", "dc", "re"):
        fields = {
            "eac": dict(
                trigger="Drug", trigger_span="aspirin", attribute="Status", options=["start", "stop"], answer="stop"
            ),
            "dc": dict(what="the topic", options=["drugs", "other"], answers=["drugs"]),
            "re": dict(
                type_1="Drug",
                span_1="aspirin",
                type_2="Disease",
                span_2="fever",
                options=["treats", "none"],
                answer="treats",
            ),
        }
        return make_record(task, **key, text=text, **fields[task])
    if task == "nli":
        return make_record(
            task,
            **key,
            premise=f"Premise {k} of {source}.",
            hypothesis="A claim.",
            options=["entailment", "contradiction"],
            answer="entailment",
        )
    if task == "sts":
        return make_record(
            task,
            **key,
            sentence_1=f"Sentence {k}.",
            sentence_2="Other.",
            criteria=[(0, "different"), (1, "same")],
            score=1,
        )
    return make_record(task, **key, text=text, summary="A summary.")


def build_dir(path, sources=SOURCES, extra=()):
    manifest = {}
    for source, (domain, counts) in sources.items():
        records = [make(source, task, k) for task, n in counts.items() for k in range(n)]
        write_records(path / f"{source}.jsonl", records + [r for r in extra if r["dataset"] == source])
        manifest[source] = {"domain": domain, "counts": counts}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.fixture
def built(tmp_path):
    return build_dir(tmp_path / "built")


def run(built, recipe, tmp_path, **kw):
    out = tmp_path / "mix" / f"{recipe}.jsonl"
    counts = mix(built, RECIPES / f"{recipe}.toml", out, **kw)
    return counts, list(read_records(out))


def test_proportional_shares_are_exact_and_follow_the_pool_sizes():
    assert allocate_proportionally(10, [2, 100, 100]) == [0, 5, 5]  # 0.1, 4.95, 4.95
    assert allocate_proportionally(6, [10, 20, 30]) == [1, 2, 3]
    assert allocate_proportionally(7, [3, 4]) == [3, 4]
    with pytest.raises(ValueError):
        allocate_proportionally(8, [3, 4])


def test_a_recipe_with_unknown_pool_shares_is_refused(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('pool_shares = "by size"\n[groups.re]\ntasks = ["re"]\n')
    with pytest.raises(RecipeError, match="pool_shares must be one of equal, proportional"):
        load_recipe(recipe)


def test_allocate_is_exact_and_gives_short_pools_everything():
    assert allocate(10, [2, 100, 100]) == [2, 4, 4]
    assert allocate(10, [100, 100, 100]) == [3, 3, 4]
    assert allocate(7, [3, 4]) == [3, 4]
    with pytest.raises(ValueError):
        allocate(8, [3, 4])


@pytest.mark.parametrize(
    "recipe, total, per_task",
    [
        ("tasks_re", 30, {"re": 30}),
        ("tasks_re_nli_ner", 30, {"re": 10, "nli": 10, "ner": 10}),
        ("tasks_re_nli_ner_ee_sts", 50, {"re": 10, "nli": 10, "ner": 10, "ete": 4, "eae": 3, "eac": 3, "sts": 10}),
        ("tasks_dc", 31, {"dc": 31}),
        ("tasks_dc_nli_ner", 31, {"dc": 10, "nli": 10, "ner": 11}),
        ("tasks_dc_nli_ner_ee_sts", 50, {"dc": 10, "nli": 10, "ner": 10, "ete": 4, "eae": 3, "eac": 3, "sts": 10}),
    ],
)
def test_task_diversity_recipes_hit_exact_per_task_totals(built, tmp_path, recipe, total, per_task):
    counts, records = run(built, recipe, tmp_path, total=total)
    assert counts["per_task"] == per_task == dict(Counter(r["task"] for r in records))
    assert counts["total"] == total == len(records)
    if recipe == "tasks_re":  # in proportion to re_big 40, re_small 3, i2b2_2011_coref 50: 12.9, 0.97, 16.1
        assert counts["per_source"] == {"re_big": 13, "re_small": 1, "i2b2_2011_coref": 16}


@pytest.mark.parametrize(
    "recipe, per_domain",
    [
        ("domain_biomed_25k", {"biomedical": 34}),
        ("domain_clinical_50k", {"clinical": 40}),
        ("domain_both_25k", {"biomedical": 20, "clinical": 20}),
        ("domain_both_50k", {"biomedical": 20, "clinical": 20}),
    ],
)
def test_domain_recipes_take_ner_and_triggers_from_their_domain(built, tmp_path, recipe, per_domain):
    counts, records = run(built, recipe, tmp_path, total=sum(per_domain.values()))
    assert dict(Counter(SOURCES[r["dataset"]][0] for r in records)) == per_domain
    assert set(counts["per_task"]) <= {"ner", "ete"}
    if recipe == "domain_both_25k":  # 20 a domain, in proportion to each pool's size:
        assert counts["per_source_task"] == {
            "events/ete": 6,  # clinical: events ete 12, i2b2 ner 10, ner_clin 20 -> 5.7, 4.8, 9.5
            "i2b2_2011_coref/ner": 5,
            "ner_clin/ner": 9,
            "ner_bio/ner": 18,  # biomedical: ner_bio 30, ner_bio_small 4 -> 17.6, 2.4
            "ner_bio_small/ner": 2,
        }


def test_full_recipe_keeps_everything_but_the_seeded_caps(built, tmp_path):
    counts, records = run(built, "full", tmp_path)
    assert counts["per_source_task"]["snli/nli"] == 3  # int(0.03 * 100)
    assert counts["per_source_task"]["i2b2_2011_coref/re"] == 12  # int(0.24 * 50)
    assert counts["per_source_task"]["i2b2_2011_coref/ner"] == 10  # the cap names the RE task only
    expected = sum(sum(c.values()) for _, c in SOURCES.values()) - 100 + 3 - 50 + 12
    assert counts["total"] == len(records) == expected
    assert len({r["id"] for r in records}) == len(records)
    counts_file = json.loads((tmp_path / "mix" / "full.jsonl.counts.json").read_text())
    assert counts_file == counts and counts["per_source"] == dict(
        sorted(Counter(r["dataset"] for r in records).items())
    )


def test_mix_is_deterministic_for_a_seed_and_changes_with_it(built, tmp_path):
    out = {seed: tmp_path / f"{seed}.jsonl" for seed in (1, 2)}
    mix(built, RECIPES / "full.toml", out[1], seed=1)
    first = out[1].read_bytes()
    mix(built, RECIPES / "full.toml", out[1], seed=1)
    assert out[1].read_bytes() == first
    mix(built, RECIPES / "full.toml", out[2], seed=2)
    snli = {s: {r["id"] for r in read_records(p) if r["dataset"] == "snli"} for s, p in out.items()}
    assert snli[1] != snli[2] and len(snli[1]) == len(snli[2]) == 3


def test_a_recipe_that_cannot_be_met_names_the_group(built, tmp_path):
    with pytest.raises(RecipeError, match="group 'ee' cannot be met"):  # a share of 40, but events hold 30
        run(built, "tasks_re_nli_ner_ee_sts", tmp_path, total=200)


def test_no_evaluation_dataset_by_id(tmp_path):
    built = build_dir(tmp_path / "a", {"hoc": ("biomedical", {"dc": 2}), **SOURCES})
    with pytest.raises(RecipeError, match="hoc is an evaluation dataset"):
        mix(built, RECIPES / "full.toml", tmp_path / "x.jsonl")
    smuggled = make("ddi", "re", 0)
    built = build_dir(tmp_path / "b")
    write_records(built / "re_big.jsonl", list(read_records(built / "re_big.jsonl")) + [smuggled])
    with pytest.raises(RecipeError, match="evaluation dataset ddi"):
        mix(built, RECIPES / "full.toml", tmp_path / "y.jsonl")
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "y.jsonl").exists()


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory):
    """The evaluation fixtures built by `python -m data_builders build`, as the real releases are."""
    out = tmp_path_factory.mktemp("eval")
    assert main(["build", "--raw-dir", str(RELEASE), "--out", str(out)]) == 0
    return out


def dev_texts(eval_dir, dataset):
    """The texts of the built dev records of an evaluation dataset (the premises for MedNLI)."""
    records = read_records(eval_dir / dataset / "dev.jsonl")
    return [
        r["messages"][0]["content"].split("Premise: ")[1].split(". Hypothesis: ")[0]
        if r["task"] == "nli"
        else source_text(r)
        for r in records
    ]


def detokenized(text):
    """How a corpus outside the benchmark would print a tokenized evaluation sentence."""
    return re.sub(r" ([.,;])", r"\1", text).replace(" - ", "-")


def ner(key, text):
    return make_record("ner", id=key, dataset=key.split("-")[0], split="train", text=text, labels=["Drug"], spans=[])


def nli(key, premise):
    return make_record(
        "nli",
        id=key,
        dataset="snli",
        split="train",
        premise=premise,
        hypothesis="A claim.",
        options=["entailment", "contradiction"],
        answer="contradiction",
    )


def test_instances_holding_evaluation_fixture_texts_are_dropped_from_a_mix(eval_dir, tmp_path):
    [ncbi], [bc5cdr] = dev_texts(eval_dir, "ncbi_disease"), dev_texts(eval_dir, "bc5cdr_disease")
    short_premise, premise = dev_texts(eval_dir, "mednli")
    assert ncbi == "Carriers of ataxia - telangiectasia have breast cancer ."
    assert bc5cdr == "Lithium carbonate caused hand tremor ."
    assert (short_premise, premise) == ("Patient denies chest pain", "Temperature was 39.2 C")
    leaked = [
        ner("ner_bio-leak-ncbi", f"Background. {detokenized(ncbi)} We followed 12 families."),
        ner("ner_clin-leak-bc5cdr", f"Day 3: {bc5cdr.lower()} Dose reduced."),
        nli("snli-leak-mednli", f"{premise}."),
        make_record(
            "dc",
            id="dc_src-leak-hoc",
            dataset="dc_src",
            split="train",
            text=dev_texts(eval_dir, "hoc")[0],
            what="the topic",
            options=["drugs", "other"],
            answers=["other"],
        ),
    ]
    kept = [
        ner("ner_bio-near-ncbi", detokenized(ncbi).replace("breast", "colon")),  # one word differs
        nli("snli-short-mednli", f"{short_premise}."),  # 4 words: under MIN_WORDS, too common to prove a leak
    ]
    prints = fingerprints(eval_texts([eval_dir]))
    assert [overlaps_eval(r, prints) for r in leaked + kept] == [True] * len(leaked) + [False] * len(kept)

    built = build_dir(tmp_path / "built", extra=leaked + kept)
    out = tmp_path / "mix.jsonl"
    assert (
        main(["mix", "--built", str(built), "--recipe", "full", "--out", str(out), "--exclude-eval", str(eval_dir)])
        == 0
    )
    counts = json.loads((tmp_path / "mix.jsonl.counts.json").read_text())
    assert counts["dropped_for_eval_overlap"] == {"dc_src": 1, "ner_bio": 1, "ner_clin": 1, "snli": 1}
    ids = {r["id"] for r in read_records(out)}
    assert not ids & {r["id"] for r in leaked} and "ner_bio-near-ncbi" in ids
    assert counts["total"] == len(ids) == sum(sum(c.values()) for _, c in SOURCES.values()) - 100 + 3 - 50 + 12 + 1
    # the sampled totals stay exact: overlapping instances leave the pools before sampling
    sampled = mix(built, RECIPES / "tasks_re_nli_ner.toml", tmp_path / "w.jsonl", total=30, eval_paths=[eval_dir])
    assert sampled["per_task"] == {"ner": 10, "nli": 10, "re": 10}


def test_a_13_word_window_of_a_longer_evaluation_text_is_a_leak_and_12_words_are_not():
    words = [f"w{i}" for i in range(30)]
    prints = fingerprints([" ".join(words)])
    assert overlaps_eval(ner("ner_bio-13", "Intro. " + " ".join(words[5:18]) + " end"), prints)
    assert not overlaps_eval(ner("ner_bio-12", "Intro. " + " ".join(words[5:17]) + " end"), prints)


def test_records_of_every_built_evaluation_dataset_are_refused(eval_dir, tmp_path, capsys):
    built = build_dir(tmp_path / "built")
    pool = list(read_records(built / "ner_bio.jsonl"))
    datasets = sorted(p.name for p in eval_dir.iterdir() if p.is_dir())
    assert datasets == sorted(EVAL_DATASETS)
    for dataset in datasets:
        smuggled = next(read_records(next((eval_dir / dataset).glob("*.jsonl"))))
        write_records(built / "ner_bio.jsonl", pool + [smuggled])
        out = tmp_path / f"{dataset}.jsonl"
        with pytest.raises(SystemExit) as e:
            main(["mix", "--built", str(built), "--recipe", "full", "--out", str(out)])
        assert e.value.code == 2
        assert f"from evaluation dataset {dataset}" in capsys.readouterr().err and not out.exists()


def test_cli_mix_prints_counts_and_names_a_shipped_recipe(built, tmp_path, capsys):
    assert (
        main(["mix", "--built", str(built), "--recipe", "tasks_re", "--out", str(tmp_path / "m.jsonl"), "--total", "9"])
        == 0
    )
    printed = capsys.readouterr().out
    assert "per task:" in printed and "total 9" in printed
    with pytest.raises(SystemExit) as e:
        main(
            ["mix", "--built", str(built), "--recipe", "tasks_re", "--out", str(tmp_path / "n.jsonl"), "--total", "999"]
        )
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("data_builders mix: error: ") and "group 're' cannot be met" in err


@pytest.mark.parametrize(
    "text, problem",
    [
        ("total = ", "not valid TOML"),
        ("[groups.a]\ntasks = ['qa ']", "groups.a.tasks"),
        ("[groups.a]\ntasks = ['re']\n[caps]\nsnl = 0.03", "caps.snl names no declared source"),
        ("[groups.a]\ntasks = ['re']\n[caps]\n'snli/re' = 0.03", "caps.snli/re names no declared source"),
        ("[groups.a]\ntasks = ['re']\n[caps]\nsnli = 3", "caps.snli must be a fraction"),
        ("total = 1\n[groups.a]\ntasks = ['re']\n[groups.b]\ntasks = ['nli']", "total must be"),
        ("description = 'no groups'", "needs at least one"),
        ("sentences = 1\n[groups.a]\ntasks = ['ner']", "sentences must be true or false"),
        ("max_chars = 0\n[groups.a]\ntasks = ['ner']", "max_chars must be a positive integer"),
        ("max_no_span = 1\n[groups.a]\ntasks = ['ner']", "max_no_span must be a fraction"),
        ("one_label = 1.5\n[groups.a]\ntasks = ['ner']", "one_label must be a fraction"),
        ("one_label = true\n[groups.a]\ntasks = ['ner']", "one_label must be a fraction"),
        ("[groups.a]\ntasks = ['ner']\ndomain = 'clincal'", "groups.a.domain must be one of"),
        (
            "[groups.a]\ntasks = ['ner']\n[groups.b]\ntasks = ['ete', 'ner']\ndomain = 'clinical'",
            "groups.b selects tasks",
        ),
    ],
)
def test_malformed_recipes_are_named_errors(built, tmp_path, text, problem):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    with pytest.raises(RecipeError, match=re.escape(problem)) as e:
        mix(built, recipe, tmp_path / "out.jsonl")
    assert str(e.value).startswith(str(recipe)) and not (tmp_path / "out.jsonl").exists()


def test_shipped_recipes_load():
    names = sorted(p.stem for p in RECIPES.glob("*.toml"))
    assert names == sorted(
        ["demo", "full", "small"]
        + [f"tasks_{t}" for t in ("re", "re_nli_ner", "re_nli_ner_ee_sts", "dc", "dc_nli_ner", "dc_nli_ner_ee_sts")]
        + [f"domain_{d}_{n}k" for d in ("biomed", "clinical", "both") for n in (25, 50)]
    )
    for name in names:
        recipe = load_recipe(RECIPES / f"{name}.toml")
        assert recipe.get("total") in (None, 480, 25000, 50000) and recipe["description"]
        assert ("25k" in name) == (recipe.get("total") == 25000)


def spans_record(text, spans, id="ner_bio-doc"):
    """A record over `text` whose spans are given as (label, first occurrence of the span text)."""
    return make_record(
        "ner",
        id=id,
        dataset=id.split("-")[0],
        split="train",
        text=text,
        labels=["Chemical", "Disease"],
        spans=[
            {"label": label, "text": t, "start": text.index(t), "end": text.index(t) + len(t)} for label, t in spans
        ],
    )


def test_sentence_records_move_each_span_to_its_sentence_with_shifted_offsets():
    text = "Cisplatin nephrotoxicity.  Rats got 5 mg. of cisplatin daily. No fever was seen.\tTitle two"
    doc = spans_record(text, [("Chemical", "Cisplatin"), ("Disease", "nephrotoxicity"), ("Chemical", "cisplatin")])
    parts = sentence_records(doc)
    # hand-cut: '. ' ends a sentence (so does "mg. "), white space is trimmed, a tab ends one too
    assert [source_text(r) for r in parts] == [
        "Cisplatin nephrotoxicity.",
        "Rats got 5 mg.",
        "of cisplatin daily.",
        "No fever was seen.",
        "Title two",
    ]
    assert [[(s["label"], s["text"], s["start"]) for s in r["gold"]["spans"]] for r in parts] == [
        [("Chemical", "Cisplatin", 0), ("Disease", "nephrotoxicity", 10)],
        [],
        [("Chemical", "cisplatin", 3)],
        [],
        [],
    ]
    for r in parts:
        check_record(r)
        assert sorted(r["gold"]["labels"]) == ["Chemical", "Disease"] and r["id"].startswith("ner_bio-doc-s")
        assert all(source_text(r)[s["start"] : s["end"]] == s["text"] for s in r["gold"]["spans"])
    assert parts[3]["messages"][1]["content"].count("None") == 2  # a sentence without spans answers None


def test_a_span_across_a_sentence_end_keeps_its_sentences_together():
    text = "Treated with Na. Cl. solution. Then discharged. Well."
    parts = sentence_records(spans_record(text, [("Chemical", "Na. Cl. solution")]))
    assert [source_text(r) for r in parts] == ["Treated with Na. Cl. solution.", "Then discharged.", "Well."]
    assert parts[0]["gold"]["spans"][0]["start"] == 13
    one = spans_record("One sentence only.", [])
    assert sentence_records(one) == [one]


def test_sentence_records_leave_other_tasks_whole():
    record = make("dc_src", "dc", 0)
    assert sentence_records(record) == [record]


def test_a_recipe_cuts_sentences_and_drops_long_records(tmp_path):
    long_doc = spans_record(
        "Aspirin helps. " * 30 + "Fever stays.", [("Chemical", "Aspirin"), ("Disease", "Fever")], id="ner_bio-long"
    )
    long_nli = make_record(
        "nli",
        id="snli-long",
        dataset="snli",
        split="train",
        premise="A long premise. " * 30,
        hypothesis="A claim.",
        options=["entailment", "contradiction"],
        answer="entailment",
    )
    built = build_dir(tmp_path / "built", extra=[long_doc, long_nli])
    recipe = tmp_path / "short.toml"
    recipe.write_text("sentences = true\nmax_chars = 400\n[groups.a]\ntasks = ['ner', 'nli']")
    counts = mix(built, recipe, tmp_path / "out.jsonl")
    records = list(read_records(tmp_path / "out.jsonl"))
    cut = [r for r in records if r["id"].startswith("ner_bio-long-s")]
    assert len(cut) == 31 and {source_text(r) for r in cut} == {"Aspirin helps.", "Fever stays."}
    assert all(sum(len(m["content"]) for m in r["messages"]) <= 400 for r in records)
    # the records of `make` are short and one sentence each: all kept; the long premise is left out
    assert counts["per_task"] == {"ner": 10 + 30 + 4 + 20 + 31, "nli": 130}


def test_max_no_span_keeps_a_seeded_share_of_the_records_without_entities(tmp_path):
    with_entity = [spans_record(f"Aspirin dose {k}.", [("Chemical", "Aspirin")], id=f"ner_bio-e{k}") for k in range(30)]
    without = [spans_record(f"Nothing here {k}.", [], id=f"ner_bio-n{k}") for k in range(100)]
    built = build_dir(tmp_path / "built", sources={"ner_bio": ("biomedical", {})}, extra=with_entity + without)
    recipe = tmp_path / "r.toml"
    recipe.write_text("max_no_span = 0.25\n[groups.a]\ntasks = ['ner']")
    counts = mix(built, recipe, tmp_path / "out.jsonl")
    records = list(read_records(tmp_path / "out.jsonl"))
    empty = [r for r in records if not r["gold"]["spans"]]
    assert counts["total"] == 40 and len(empty) == 10  # 30 with an entity; 10 = 25% of 40
    assert {r["id"] for r in records} >= {r["id"] for r in with_entity}
    mix(built, recipe, tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()
    recipe.write_text("max_no_span = 0\n[groups.a]\ntasks = ['ner']")
    assert mix(built, recipe, tmp_path / "none.jsonl")["total"] == 30


def test_one_label_asks_a_seeded_share_of_multi_label_records_for_one_of_their_labels(tmp_path):
    docs = [
        spans_record(f"Aspirin eased fever {k}.", [("Chemical", "Aspirin"), ("Disease", "fever")], id=f"ner_bio-d{k}")
        for k in range(200)
    ]
    built = build_dir(tmp_path / "built", sources={"ner_bio": ("biomedical", {})}, extra=docs)
    recipe = tmp_path / "r.toml"
    recipe.write_text("one_label = 0.5\n[groups.a]\ntasks = ['ner']")
    mix(built, recipe, tmp_path / "out.jsonl")
    records = list(read_records(tmp_path / "out.jsonl"))
    single = [r for r in records if len(r["gold"]["labels"]) == 1]
    assert len(records) == 200 and 70 <= len(single) <= 130  # about half, a seeded draw (binomial sd 7)
    for r in single:
        check_record(r)
        (label,) = r["gold"]["labels"]
        assert [s["label"] for s in r["gold"]["spans"]] == [label]  # the answer keeps that label's span only
        assert r["messages"][1]["content"] == f"{label}: {dict(Chemical='Aspirin', Disease='fever')[label]}"
        assert f"following entities: {label}\nMedical text: {source_text(r)}" in r["messages"][0]["content"]
    assert {r["gold"]["labels"][0] for r in single} == {"Chemical", "Disease"}
    mix(built, recipe, tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()
    recipe.write_text("one_label = 0\n[groups.a]\ntasks = ['ner']")
    mix(built, recipe, tmp_path / "none.jsonl")
    assert all(len(r["gold"]["labels"]) == 2 for r in read_records(tmp_path / "none.jsonl"))


def test_one_label_asking_for_a_label_without_spans_answers_none():
    docs = [spans_record(f"Aspirin was given {k}.", [("Chemical", "Aspirin")], id=f"ner_bio-c{k}") for k in range(40)]
    asked = one_label_records(docs, 1.0, seed=42, key=("ner_bio", "ner"))
    by_label = {label: [r for r in asked if r["gold"]["labels"] == [label]] for label in ("Chemical", "Disease")}
    assert len(asked) == 40 and by_label["Chemical"] and by_label["Disease"]  # share 1: every record, either label
    assert all(r["messages"][1]["content"] == "Disease: None" and not r["gold"]["spans"] for r in by_label["Disease"])
    assert all(r["messages"][1]["content"] == "Chemical: Aspirin" for r in by_label["Chemical"])
