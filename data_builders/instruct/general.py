"""Sentence-pair sources: NLI (SNLI, MultiNLI, and BioNLI from the literature) and STS (STS-B)."""

import re

from data_builders.instruct.instances import choice_instance
from data_builders.instruct.source import Source, fail
from data_builders.instruct.tables import csv_columns, tab_lines
from data_builders.readers import decimal, label_excerpt, read_jsonl
from mnlu.tasks import make_record

NLI_LABELS = {"entailment": "entailment", "neutral": "neutral", "contradiction": "contradiction"}


def build_nli_jsonl(source, paths):
    """SNLI/MultiNLI JSON lines; pairs without a majority label (gold_label "-") are not instances."""
    for path in paths:
        for lineno, pair in read_jsonl(path):
            label = pair.get("gold_label")
            if label == "-":
                continue
            if (
                not isinstance(label, str)
                or label not in NLI_LABELS
                or not all(isinstance(pair.get(k), str) and pair[k].strip() for k in ("sentence1", "sentence2"))
            ):
                fail(
                    path,
                    lineno,
                    "expected non-empty strings sentence1 and sentence2, and gold_label "
                    "entailment|neutral|contradiction",
                )
            key = pair.get("pairID") if isinstance(pair.get("pairID"), str) and pair["pairID"].strip() else None
            yield choice_instance(
                source,
                "nli",
                key or f"{path.stem}-{lineno}",
                premise=pair["sentence1"],
                hypothesis=pair["sentence2"],
                options=list(NLI_LABELS),
                answer=label,
            )


BIONLI_OPTIONS = {"entailment": "entailment", "not entailment": "not entailment"}
# label_cat of a BioNLI pair: `pos` keeps the abstract's own conclusion (entailed by its
# supporting sentences); every other value names the strategy that perturbed the conclusion
# (role and entity swaps, polarity and negation flips, number swaps, neuro-logic generation), so
# the pair is not entailed. Binary on purpose: a perturbation is not known to be a contradiction.
BIONLI_PERTURBATIONS = (
    "SRE",
    "SREO",
    "SEN",
    "SEP",
    "LPR",
    "swap_number",
    "negToPos",
    "posToNeg",
    "generation",
    "generation_nd",
    "generation_nd_SEN",
    "generation_nd_SRE",
)
# markers around the regulator and regulated entities; the authors' classifier registers them
# as special tokens, so a release file may hold them: they are not words of the text
BIONLI_MARKERS = re.compile(r"<(?:exp|re|er|el|le|end)>")


def build_bionli(source, paths):
    """BioNLI CSV (pmid, supp_set, conclusion, label_cat, ...): the supporting sentences of an
    abstract are the premise, its conclusion or a perturbation of it the hypothesis."""
    for path in paths:
        for lineno, row in csv_columns(path, ("pmid", "supp_set", "conclusion", "label_cat")):
            category = row["label_cat"].strip()
            premise, hypothesis = (
                " ".join(BIONLI_MARKERS.sub(" ", row[c]).split()) for c in ("supp_set", "conclusion")
            )
            if category not in ("pos", *BIONLI_PERTURBATIONS) or not premise or not hypothesis:
                fail(
                    path,
                    lineno,
                    f"expected a supp_set, a conclusion and label_cat pos or a declared "
                    f"perturbation, got label_cat {label_excerpt(category)}",
                )
            yield choice_instance(
                source,
                "nli",
                f"{path.stem}-{lineno}",
                premise=premise,
                hypothesis=hypothesis,
                options=list(BIONLI_OPTIONS),
                answer="entailment" if category == "pos" else "not entailment",
            )


# STS annotation guideline (Agirre et al., 2012-2017): what each integer score means
STS_CRITERIA = [
    (0, "The two sentences are completely dissimilar (score 0)."),
    (1, "The two sentences are not equivalent, but are on the same topic (score 1)."),
    (2, "The two sentences are not equivalent, but share some details (score 2)."),
    (3, "The two sentences are roughly equivalent, but some important information differs or is missing (score 3)."),
    (4, "The two sentences are mostly equivalent, but some unimportant details differ (score 4)."),
    (5, "The two sentences are completely equivalent, as they mean the same thing (score 5)."),
]


def build_stsb(source, paths):
    """STS-B `genre file year id score sentence1 sentence2 [sources]`, tab-separated."""
    for path in paths:
        for lineno, fields in tab_lines(path):
            score = decimal(fields[4]) if len(fields) >= 7 else None  # a plain decimal: never nan or inf
            if score is None or not 0 <= score <= 5 or not fields[5].strip() or not fields[6].strip():
                fail(path, lineno, "expected 7+ tab-separated fields: a score from 0 to 5 in field 5, two sentences")
            yield make_record(
                "sts",
                id=f"{source.name}-{path.stem}-{lineno}",
                dataset=source.name,
                split="train",
                sentence_1=fields[5],
                sentence_2=fields[6],
                criteria=STS_CRITERIA,
                score=score,
            )


SOURCES = [
    Source(
        "snli",
        "SNLI (Bowman et al., 2015)",
        ("nli",),
        "general",
        "JSON lines",
        ("SNLI/*/snli_1.0/snli_1.0_train.jsonl",),
        NLI_LABELS,
        build_nli_jsonl,
    ),
    Source(
        "multinli",
        "MultiNLI (Williams et al., 2018)",
        ("nli",),
        "general",
        "JSON lines",
        ("MultiNLI/*/multinli_1.0/multinli_1.0_train.jsonl",),
        NLI_LABELS,
        build_nli_jsonl,
    ),
    Source(
        "bionli",
        "BioNLI (Bastan et al., 2022)",
        ("nli",),
        "biomedical",
        "CSV",
        ("BioNLI/*/**/*train*.csv",),
        BIONLI_OPTIONS,
        build_bionli,
    ),
    Source(
        "stsb",
        "STS-B (Cer et al., 2017)",
        ("sts",),
        "general",
        "STS-B TSV",
        ("STS-B/*/data/stsbenchmark/sts-train.csv",),
        {},
        build_stsb,
    ),
]
