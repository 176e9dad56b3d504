"""Summarization sources (training only): PubMed articles, Cochrane lay summaries, ACI-bench notes."""

from data_builders.instruct.source import Source, fail
from data_builders.instruct.tables import csv_rows
from data_builders.readers import read_jsonl, read_lines, read_text
from mnlu.tasks import summ_record


def _summary(source, key, text, summary):
    return summ_record(
        id=f"{source.name}-{key}", dataset=source.name, split="train", text=text.strip(), summary=summary
    )


def build_pubmed(source, paths):
    """Cohan et al. JSON lines (`article_text`, `abstract_text` lists with <S> tags), or SumPubMed's
    `text/text_N.txt` beside `abstract/abstract_N.txt`."""
    for path in paths:
        if path.suffix == ".txt" and path.parent.name == "text":
            abstract = path.parent.parent / "abstract" / path.name.replace("text_", "abstract_")
            if not abstract.exists():
                fail(path, 1, f"no abstract {abstract.name} beside the article")
            yield _summary(source, path.stem, read_text(path), read_text(abstract))
            continue
        for lineno, article in read_jsonl(path):
            if not all(
                isinstance(article.get(k), list) and article[k] and all(isinstance(s, str) for s in article[k])
                for k in ("article_text", "abstract_text")
            ):
                fail(path, lineno, "expected non-empty article_text and abstract_text lists of strings")
            summary = " ".join(s.replace("<S>", "").replace("</S>", "").strip() for s in article["abstract_text"])
            yield _summary(source, article.get("article_id", lineno), "\n".join(article["article_text"]), summary)


def build_cdsr(source, paths):
    """Line-aligned `<split>.source` (review results) and `<split>.target` (plain-language summary)."""
    for path in paths:
        target = path.with_suffix(".target")
        sources, targets = read_lines(path), read_lines(target) if target.exists() else None
        if targets is None or len(sources) != len(targets):
            fail(target, len(targets or []) + 1, f"needs one line per line of {path.name} ({len(sources)})")
        for lineno, (text, summary) in enumerate(zip(sources, targets), 1):
            if not text.strip() or not summary.strip():
                fail(path if not text.strip() else target, lineno, "empty line")
            yield _summary(source, f"{path.stem}-{lineno}", text, summary)


def build_aci_bench(source, paths):
    """CSV `dataset,encounter_id,dialogue,note`: the doctor-patient dialogue -> the clinical note."""
    for path in paths:
        for lineno, row in csv_rows(path, ("dataset", "encounter_id", "dialogue", "note")):
            if not row["dialogue"].strip() or not row["note"].strip():
                fail(path, lineno, "empty dialogue or note")
            yield _summary(source, row["encounter_id"], row["dialogue"], row["note"])


SOURCES = [
    Source(
        "pubmed_summ",
        "PubMed summarization (Cohan et al., 2018; SumPubMed layout also read)",
        ("summ",),
        "biomedical",
        "JSON lines / text files",
        ("PubMed-summarization/*/pubmed-dataset/train.txt", "PubMed-summarization/*/text/text_*.txt"),
        {},
        build_pubmed,
    ),
    Source(
        "cdsr",
        "CDSR lay summaries (Devaraj et al., 2021 release)",
        ("summ",),
        "biomedical",
        "line-aligned text",
        ("CDSR-lay-summaries/*/data/data-1024/train.source",),
        {},
        build_cdsr,
    ),
    Source(
        "aci_bench",
        "ACI-bench (Yim et al., 2023)",
        ("summ",),
        "clinical",
        "CSV",
        ("ACI-bench/*/data/challenge_data/train.csv",),
        {},
        build_aci_bench,
    ),
]
