"""Readers for the release formats the datasets ship in, shared by every builder.

Each reader checks the file as it goes and raises `ReleaseError("path:line: what is wrong")`, so a
malformed release stops its dataset with a message a person can act on. Files are read as UTF-8
(a byte-order mark is dropped) with universal newlines, so CRLF files read like LF files.

CoNLL/BIO is the one format with real choices, made here once for every NER-like dataset:
  - a sentence's text is its tokens joined by single spaces (the releases are pre-tokenized and
    the original spacing is lost); white space inside a token collapses to one space;
  - chunks follow conlleval: `I-X` after `O` or after another type starts a new chunk, as if it
    were `B-X`; the IO scheme (EBM-NLP's `I-PAR` only) is read by the same rule;
  - untyped tags (`B`, `I`) have the type "" and the builder names it.
"""

import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

_TAG = re.compile(r"^(O|[BI](-\S+)?)$")
DOCSTART = "-DOCSTART-"


class ReleaseError(ValueError):
    """A release file is malformed; the message starts with `path:line:`."""


class MissingRelease(LookupError):
    """A dataset's files for one split are not there (a notice, not an error)."""


@contextmanager
def open_release(path):
    """Open a release file as text; undecodable bytes become a `path: not UTF-8` error."""
    try:
        with open(path, encoding="utf-8-sig", newline=None) as f:
            yield f
    except UnicodeDecodeError as e:
        raise ReleaseError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None


# Release file names per split: BLURB's, then the MTL/original `devel.tsv` for dev.
SPLIT_FILES = {"train": ("train.tsv",), "dev": ("dev.tsv", "devel.tsv"), "test": ("test.tsv",)}


def split_file(folder, split, names=SPLIT_FILES):
    """The release file of `split` below `folder` (by the names in `names[split]`), else MissingRelease."""
    path = find_release_file(folder, *names[split])
    if path is None:
        raise MissingRelease(f"no {' or '.join(names[split])} below {folder}")
    return path


def find_release_file(folder, *names):
    """The file below `folder` with the first of `names` that exists; None if none does.

    Two files with the same release name (two copies of a dataset) are an error rather than a
    guess: the user points the builder at the copy they mean.
    """
    for name in names:
        found = sorted(p for p in Path(folder).rglob(name) if p.is_file())
        if len(found) > 1:
            listed = ", ".join(str(p) for p in found)
            raise ReleaseError(f"{folder}: {len(found)} files named {name} ({listed}); keep one or point at the one you mean")
        if found:
            return found[0]
    return None


# ---------------------------------------------------------------------------------------------
# CoNLL / BIO


class Sentence(NamedTuple):
    tokens: list  # token strings, inner white space collapsed
    tags: list    # one tag per token: O, B, I, B-X or I-X
    lines: list   # the 1-based line number of each token
    doc: str      # the id of the enclosing -DOCSTART- document ("" before any)


def read_conll(path):
    """Sentences of a `token<TAB>tag` file; `-DOCSTART-` lines open documents, blank lines end sentences.

    The tag is the field after the last tab, the token everything before it (so a token holding
    a tab or spaces stays one token).
    """
    sentences, current, doc = [], Sentence([], [], [], ""), ""
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith(DOCSTART):
                doc = line[len(DOCSTART):].split("\t")[0].strip().strip("()").strip()
            if not line.strip() or line.startswith(DOCSTART):
                if current.tokens:
                    sentences.append(current)
                current = Sentence([], [], [], doc)
                continue
            token, tab, tag = line.rpartition("\t")
            if not tab:
                raise ReleaseError(f"{path}:{lineno}: expected 'token<TAB>tag', found no tab")
            token = " ".join(token.split())
            if not token:
                raise ReleaseError(f"{path}:{lineno}: empty token before the tag {tag!r}")
            if not _TAG.match(tag.strip()):
                raise ReleaseError(f"{path}:{lineno}: tag {tag!r} is not O, B, I, B-<type> or I-<type>")
            current.tokens.append(token)
            current.tags.append(tag.strip())
            current.lines.append(lineno)
    if current.tokens:
        sentences.append(current)
    return sentences


def join_tokens(tokens):
    """(text, offsets): tokens joined by single spaces and each token's (start, end) in the text."""
    offsets, position = [], 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    return " ".join(tokens), offsets


def tag_type(tag):
    """The entity type of a tag: `B-protein` -> "protein", untyped `B`/`I` -> "", `O` -> None."""
    return None if tag == "O" else tag[2:]


def chunks(tags):
    """(type, first, end) token ranges of the entities in `tags`, by conlleval's rules.

    A chunk starts at `B-X`, or at `I-X` when the previous tag is `O` or of another type; it
    continues over `I-X` of the same type.
    """
    found = []
    for i, tag in enumerate(tags):
        kind = tag_type(tag)
        if kind is None:
            continue
        continues = tag.startswith("I") and i > 0 and tag_type(tags[i - 1]) == kind
        if continues:
            found[-1] = (kind, found[-1][1], i + 1)
        else:
            found.append((kind, i, i + 1))
    return found


def bio_spans(tokens, tags):
    """(text, spans) of one tagged sentence: spans carry `type`, `text` and character `start`/`end`."""
    text, offsets = join_tokens(tokens)
    spans = []
    for kind, first, end in chunks(tags):
        start, stop = offsets[first][0], offsets[end - 1][1]
        spans.append({"type": kind, "text": text[start:stop], "start": start, "end": stop})
    return text, spans


def spans_to_tags(offsets, spans, scheme="IOB2"):
    """Tags of the tokens at `offsets` from character spans: the inverse of `bio_spans`.

    A token is inside a span when its characters lie within the span's; the first token of a
    span gets `B-` (IOB2) or `I-` (IO), the rest `I-`. Untyped spans (type "") give `B`/`I`.
    """
    tags = ["O"] * len(offsets)
    for span in spans:
        inside = [i for i, (start, end) in enumerate(offsets) if span["start"] <= start and end <= span["end"]]
        for n, i in enumerate(inside):
            prefix = "B" if n == 0 and scheme == "IOB2" else "I"
            tags[i] = f"{prefix}-{span['type']}" if span["type"] else prefix
    return tags


# ---------------------------------------------------------------------------------------------
# tables and JSON


def read_exact_text(path):
    """A text file's characters as stored: standoff offsets count a CRLF as two characters, so
    no newline translation may happen before they are applied."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def read_lines(path):
    """A text file's lines, split at newlines only (CRLF or LF); unlike str.splitlines, never at
    U+2028, U+0085 or form feeds, which real abstracts and notes contain inside a line."""
    with open(path, encoding="utf-8", newline="") as f:
        return [line.rstrip("\r\n") for line in f]


def read_tsv(path, fields, header=None):
    """Yield (line number, {field: value}) for each row of a tab-separated file.

    `fields` names the columns; a first line equal to `header` (tab-joined) is skipped. A row
    with another number of fields is an error naming them.
    """
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if lineno == 1 and header is not None and line.split("\t") == list(header):
                continue
            if not line.strip():
                continue
            values = line.split("\t")
            if len(values) != len(fields):
                raise ReleaseError(f"{path}:{lineno}: expected {len(fields)} tab-separated fields "
                                   f"({', '.join(fields)}), found {len(values)}")
            yield lineno, dict(zip(fields, values))


def read_jsonl(path):
    """Yield (line number, object) for each non-blank line of a JSON-lines file."""
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReleaseError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            if not isinstance(value, dict):
                raise ReleaseError(f"{path}:{lineno}: expected a JSON object, got {type(value).__name__}")
            yield lineno, value


def read_json(path):
    """A whole JSON file; a syntax error names its line."""
    with open_release(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ReleaseError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def require(condition, where, what):
    """Raise `ReleaseError("where: what")` unless `condition`: the builders' one-line checks."""
    if not condition:
        raise ReleaseError(f"{where}: {what}")


def sentence_bounds(text):
    """(start, end) of each sentence, white space trimmed: one ends at a newline, a tab, or a space after '.'."""
    bounds, start = [], 0
    for i, char in enumerate(text + "\n"):
        if char in "\n\t" or (char == " " and text[i - 1] == "."):
            segment = text[start:i]
            if segment.strip():
                bounds.append((start + len(segment) - len(segment.lstrip()), i - len(segment) + len(segment.rstrip())))
            start = i + 1
    return bounds
