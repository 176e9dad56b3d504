"""Readers for the release formats the datasets ship in, shared by every builder.

Each reader checks the file as it goes and raises `ReleaseError("path:line: what is wrong")`, so a
malformed release stops its dataset with a message a person can act on. Messages never quote a
text field (a sentence, an abstract, a note); a label or score is shown only as a short excerpt
(`label_excerpt`). Files are read as UTF-8 (a byte-order mark is dropped) with universal
newlines, so CRLF files read like LF files; bytes that are not UTF-8 are reported by line.

CoNLL/BIO is the one format with real choices, made here once for every NER-like dataset:
  - a sentence's text is its tokens joined by single spaces (the releases are pre-tokenized and
    the original spacing is lost); white space inside a token collapses to one space;
  - chunks follow conlleval: `I-X` after `O` or after another type starts a new chunk, as if it
    were `B-X`; the IO scheme (EBM-NLP's `I-PAR` only) is read by the same rule;
  - untyped tags (`B`, `I`) have the type "" and the builder names it.
"""

import json
import re
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from mnlu.cli import InputError, excerpt

_TAG = re.compile(r"^(O|[BI](-\S+)?)$")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
DOCSTART = "-DOCSTART-"


class ReleaseError(InputError):
    """A release file is malformed; the message starts with `path:line:` (or `path: <field>:`)."""


class MissingRelease(LookupError):
    """A dataset's files for one split are not there (a notice, not an error)."""


def label_excerpt(value):
    """A label, id or score field as an error line may show it: a bounded excerpt, or only its
    length when it reads like text (a shifted column puts a sentence where a label belongs).
    Never pass it a text field: a text of one or two words would be shown; name the field instead."""
    if isinstance(value, str) and len(value.split()) > 2:
        return f"<text of {len(value)} characters, not shown>"
    return excerpt(value)


def decimal(value):
    """The number written in a score field, or None unless it is a plain decimal like `3`, `3.8`
    (Python's float() would also take `nan`, `inf`, `1e3` and `0_4`)."""
    value = value.strip()
    return float(value) if _DECIMAL.fullmatch(value) else None


def is_count(value):
    """Whether `value` is written in ASCII digits only (str.isdigit also takes `²`, which int() refuses)."""
    return value.isascii() and value.isdigit()


@contextmanager
def open_release(path, newline=None, encoding="utf-8-sig"):
    """Open a release file as text; bytes that are not UTF-8 become a `path:line: not UTF-8` error."""
    try:
        with open(path, encoding=encoding, newline=newline) as f:
            yield f
    except UnicodeDecodeError:
        line = first_undecodable_line(path)
        raise ReleaseError(
            f"{path}{'' if line is None else f':{line}'}: not UTF-8 text (convert the file to UTF-8)"
        ) from None


def first_undecodable_line(path):
    """The number of the first line (split at newlines) that is not UTF-8; the decoder itself
    reports only an offset into the chunk it was decoding."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return None


def read_text(path):
    """A whole release file as text (newlines translated), UTF-8 errors reported by line."""
    with open_release(path) as f:
        return f.read()


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
    guess: the user points the builder at the copy they mean. So is an entry of that name that
    is no readable file (a folder, a broken link, a link loop): it is there, but broken.
    """
    for name in names:
        found = sorted(p for p in Path(folder).rglob("*") if p.name == name)
        broken = [p for p in found if not p.is_file()]
        if broken:
            raise ReleaseError(
                f"{broken[0]}: not a readable file (a folder, a broken link or a link loop); "
                "replace it with the release file or remove it"
            )
        if len(found) > 1:
            listed = ", ".join(str(p) for p in found)
            raise ReleaseError(
                f"{folder}: {len(found)} files named {name} ({listed}); keep one or point at the one you mean"
            )
        if found:
            return found[0]
    return None


# ---------------------------------------------------------------------------------------------
# CoNLL / BIO


class Sentence(NamedTuple):
    tokens: list  # token strings, inner white space collapsed
    tags: list  # one tag per token: O, B, I, B-X or I-X
    lines: list  # the 1-based line number of each token
    doc: str  # the id of the enclosing -DOCSTART- document ("" before any)


def read_conll(path):
    """Sentences of a `token<TAB>tag` file; `-DOCSTART-` lines open documents, blank lines end sentences.

    The tag is the field after the last tab, the token everything before it (so a token holding
    a tab or spaces stays one token). A file with no sentence at all is an error, not an empty split.
    """
    sentences, current, doc = [], Sentence([], [], [], ""), ""
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith(DOCSTART):
                doc = line[len(DOCSTART) :].split("\t")[0].strip().strip("()").strip()
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
                raise ReleaseError(f"{path}:{lineno}: empty token before the tag")
            if not _TAG.match(tag.strip()):
                raise ReleaseError(f"{path}:{lineno}: tag {label_excerpt(tag)} is not O, B, I, B-<type> or I-<type>")
            current.tokens.append(token)
            current.tags.append(tag.strip())
            current.lines.append(lineno)
    if current.tokens:
        sentences.append(current)
    if not sentences:
        raise ReleaseError(f"{path}: no sentence (the file is empty or holds only -DOCSTART- lines)")
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
    """A text file's characters as stored: standoff offsets count a CRLF as two characters (and a
    byte-order mark as one), so no translation may happen before they are applied."""
    with open_release(path, newline="", encoding="utf-8") as f:
        return f.read()


def read_lines(path):
    """A text file's lines, split at newlines only (CRLF or LF); unlike str.splitlines, never at
    U+2028, U+0085 or form feeds, which real abstracts and notes contain inside a line."""
    with open_release(path, newline="") as f:
        return [line.rstrip("\r\n") for line in f]


def read_tsv(path, fields, header=None, optional=()):
    """Yield (line number, {field: value}) for each row of a tab-separated file.

    `fields` names the columns; a first line equal to `header` (tab-joined), or any first line
    if `header` is True, is skipped. A row with another number of fields, or with an empty one
    not named in `optional`, is an error naming them; so is a file with no row at all (an empty
    split is never what a release means).
    """
    rows = 0
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if lineno == 1 and (header is True or header is not None and line.split("\t") == list(header)):
                continue
            if not line.strip():
                continue
            values = line.split("\t")
            if len(values) != len(fields):
                raise ReleaseError(
                    f"{path}:{lineno}: expected {len(fields)} tab-separated fields "
                    f"({', '.join(fields)}), found {len(values)}"
                )
            empty = [name for name, value in zip(fields, values) if not value.strip() and name not in optional]
            if empty:
                raise ReleaseError(f"{path}:{lineno}: the field {empty[0]} is empty")
            rows += 1
            yield lineno, dict(zip(fields, values))
    if not rows:
        raise ReleaseError(f"{path}: no rows (the file is empty{' or holds only its header' if header else ''})")


def first_line(path):
    """A release file's first line, without its line ending: where a header tells two releases apart."""
    with open_release(path) as f:
        return f.readline().rstrip("\r\n")


def read_jsonl(path):
    """Yield (line number, object) for each non-blank line of a JSON-lines file (at least one)."""
    objects = 0
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            value = parse_json(line, path, lineno)
            if not isinstance(value, dict):
                raise ReleaseError(f"{path}:{lineno}: expected a JSON object, got {type(value).__name__}")
            objects += 1
            yield lineno, value
    if not objects:
        raise ReleaseError(f"{path}: no JSON object (the file is empty)")


def read_json(path):
    """A whole JSON file; a syntax error or a repeated key names its line."""
    return parse_json(read_text(path), path)


class _RepeatedKey(Exception):
    """A key given twice in one JSON object, which json.loads would settle silently (the last wins)."""


class _UniqueKeys:
    """json's object_pairs_hook, refusing a repeated key. It counts the keys of the objects
    finished so far, which precede the one at hand in the text, so the repeat can be found there."""

    def __init__(self):
        self.seen = Counter()

    def __call__(self, pairs):
        keys = Counter(key for key, _ in pairs)
        repeated = next((key for key, n in keys.items() if n > 1), None)
        if repeated is not None:
            raise _RepeatedKey(repeated, self.seen[repeated] + 2)
        self.seen.update(keys)
        return dict(pairs)


def parse_json(text, path, lineno=None):
    """The JSON value of `text`, a whole file or its line `lineno`; every error names the line."""
    try:
        return json.loads(text, object_pairs_hook=_UniqueKeys())
    except json.JSONDecodeError as e:
        raise ReleaseError(f"{path}:{lineno or e.lineno}: not valid JSON ({e.msg})") from None
    except _RepeatedKey as e:
        key, occurrence = e.args
        where = _place(path, lineno or _line_of_key(text, key, occurrence))
        raise ReleaseError(
            f"{where}: the key {label_excerpt(key)} is given twice in one object "
            "(JSON readers would keep only the last)"
        ) from None
    except (ValueError, RecursionError):  # an integer past 4,300 digits, nesting past the recursion limit
        raise ReleaseError(f"{_place(path, lineno)}: a JSON value too large or too deeply nested to read") from None


def _line_of_key(text, key, occurrence):
    """The line of the `occurrence`-th `"key":` in `text`, or None when it is written otherwise (escaped)."""
    found = list(re.finditer(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:", text))
    return text.count("\n", 0, found[occurrence - 1].start()) + 1 if len(found) >= occurrence else None


def _place(path, line):
    return f"{path}:{line}" if line else str(path)


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
