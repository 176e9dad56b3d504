"""PubTator: `PMID|t|title`, `PMID|a|abstract`, then tab-separated mention and relation lines.

    PMID <tab> start <tab> end <tab> mention <tab> type [<tab> identifiers]
    PMID <tab> relation type <tab> identifier 1 <tab> identifier 2 [<tab> novelty]

Offsets count into `title + " " + abstract`; a blank line ends a document.
"""

import re
from typing import NamedTuple

from data_builders.instruct.source import fail
from data_builders.readers import is_count, label_excerpt, open_release

TITLE_OR_ABSTRACT = re.compile(r"^[^\t|]+\|[ta]\|")


class Mention(NamedTuple):
    start: int
    end: int
    text: str
    type: str
    ids: tuple  # normalised identifiers ("" when the release gives none)


class Document(NamedTuple):
    pmid: str
    text: str
    mentions: list
    relations: list  # (type, id 1, id 2, line)


def read_pubtator(path):
    """Return the documents of a PubTator file; every mention must sit at its offsets."""
    docs, current = [], None
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                current = None
                continue
            if TITLE_OR_ABSTRACT.match(line):
                current = _title_or_abstract(path, lineno, line, current, docs)
            elif current is None:
                fail(path, lineno, "annotation line before any title line")
            else:
                _annotation(path, lineno, line.split("\t"), current)
    return [Document(d["pmid"], d["text"], d["mentions"], d["relations"]) for d in docs]


def _title_or_abstract(path, lineno, line, current, docs):
    pmid, part, text = line.split("|", 2)
    if part == "t":
        current = {"pmid": pmid, "text": text, "mentions": [], "relations": []}
        docs.append(current)
    elif current is None or current["pmid"] != pmid:
        fail(path, lineno, f"abstract of {label_excerpt(pmid)} does not follow its title")
    else:
        current["text"] += " " + text
    return current


def _annotation(path, lineno, fields, doc):
    if fields[0] != doc["pmid"]:  # often a line of text (a title or abstract broken by a newline): never shown
        fail(
            path,
            lineno,
            f"inside document {label_excerpt(doc['pmid'])}, a line that is no title or abstract "
            "and does not start with that PMID",
        )
    if len(fields) >= 5 and is_count(fields[1]) and is_count(fields[2]):
        start, end = int(fields[1]), int(fields[2])
        if doc["text"][start:end] != fields[3]:
            fail(path, lineno, f"mention at {start}-{end} does not match the document text")
        ids = tuple(fields[5].split(",")) if len(fields) > 5 else ("",)
        doc["mentions"].append(Mention(start, end, fields[3], fields[4], ids))
    elif len(fields) >= 4:
        doc["relations"].append((fields[1], fields[2], fields[3], lineno))
    else:
        fail(path, lineno, f"expected a mention (5+ fields) or a relation (4+ fields), got {len(fields)} fields")
