"""Model output -> structure, for every task of the unified format (the inverse of mnlu.tasks).

Tolerant of harmless variation: white space, the case of labels, bullets around a label, `[SEP]`
instead of `...` between spans, a trailing period, a bare `(B)` or `B` for an option, an option's
text without its letter. Strict where tolerance would change a score: an answer that names no
option, or two options for a single-label question, is *unparseable*, never mapped to some
default option. Every function returns a dict with an `unparseable` flag and never raises.
"""

import bisect
import functools
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mnlu.records import CHOICE_TASKS, LETTERS, SPAN_TASKS, Record
from mnlu.tasks import NO_SPAN, SPAN_SEPARATOR, normalize_space, source_text

ParsedAnswer = dict[str, Any]  # what a parser returns: the structure read, and an "unparseable" flag
SpanLocator = Callable[[Iterable[str]], list[tuple[int, int] | None]]  # spans -> their (start, end) in one text

_MAX_SEPARATORS = 64  # past this many `...` in one line, skip the text-guided segmentation
_COLON = re.compile(":")
_SEPARATOR_AT = re.compile(r"(?=\.\.\.)")  # every position where a `...` starts, overlapping ones too


def parse_answer(record: Record, prediction: object) -> ParsedAnswer:
    """Parse `prediction` against what `record` asked (its labels or options)."""
    if not isinstance(prediction, str):
        prediction = ""
    gold, task = record["gold"], record["task"]
    if task in SPAN_TASKS:
        return parse_spans(prediction, gold["labels"], source_text(record))
    if task in CHOICE_TASKS:
        parsed = parse_choice(prediction, gold["options"], gold.get("multi_label", False), gold.get("label"))
        if task == "sts":
            scores = dict(zip(gold["options"], gold["option_scores"]))
            parsed["score"] = None if parsed["unparseable"] else scores[parsed["answers"][0]]
        return parsed
    return {"summary": prediction.strip(), "unparseable": False}


# ---------------------------------------------------------------------------------------------
# spans


def parse_spans(output: str, labels: Sequence[str], text: str | None = None) -> ParsedAnswer:
    """`Label: span...span` lines -> {"spans": {label: [span, ...]}, "unparseable": bool}.

    Labels are matched case-insensitively to the expected `labels` and returned in their
    expected spelling; lines with other labels are kept under their own name (they can only be
    false positives). Spans keep their multiplicity within a line (`cancer...cancer`: the text
    names it twice). Several lines for one label, which a model stuck in a loop writes
    (`Disease: cancer` again and again), are read as one answer, not as new spans: a span counts
    as often as the line that lists it most often. When the source `text` is given, a span that
    itself contains `...` is recovered by preferring the reading whose pieces all occur in the
    text. An answer with no line for any expected label is unparseable and yields no spans.
    """
    expected = _expected_labels(tuple(labels))
    spans = {x: [] for x in labels}
    found_expected = False
    flat_text = normalize_space(text) if text else None
    for line in output.splitlines():
        label, rest = _split_label_line(line, expected)
        if label is None:
            continue
        found_expected |= label in expected[0].values()
        listed = spans.setdefault(label, [])
        if not listed:  # the label's first line (the usual answer has no other): all its spans
            listed += _split_spans(rest, flat_text)
            continue
        have, here = Counter(listed), Counter()
        for span in _split_spans(rest, flat_text):  # in order, only what earlier lines did not list as often
            here[span] += 1
            if here[span] > have[span]:
                listed.append(span)
    if not found_expected:
        return {"spans": {x: [] for x in labels}, "unparseable": True}
    return {"spans": spans, "unparseable": False}


def _label_key(label: str) -> str:
    """What two spellings of a label must share: words and case-folded letters."""
    return normalize_space(label).strip("*").strip().casefold()


@functools.lru_cache(maxsize=1024)
def _expected_labels(labels: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """({label key: label}, {label: the label of its key}) of the labels asked for; cached, as
    every record of a dataset asks for the same few. The second reads a line in the usual spelling."""
    by_key = {_label_key(x): x for x in labels}
    return by_key, {x: by_key[_label_key(x)] for x in labels}


def _split_label_line(line: str, expected: tuple[dict[str, str], dict[str, str]]) -> tuple[str | None, str]:
    """(label, rest) for a `label: rest` line, the label in its expected spelling where it is one."""
    by_key, by_spelling = expected
    line = line.strip()
    if line.startswith(("- ", "* ", "• ")):
        line = line[2:]
    head, colon, rest = line.partition(":")
    if colon and head in by_spelling:
        return by_spelling[head], rest
    colons = [m.start() for m in _COLON.finditer(line)]
    for i in colons:
        label = by_key.get(_label_key(line[:i]))
        if label is not None:
            return label, line[i + 1 :]
    if colons and _label_key(line[: colons[0]]):
        return normalize_space(line[: colons[0]]).strip("*").strip(), line[colons[0] + 1 :]
    return None, ""


def _split_spans(rest: str, text: str | None) -> list[str]:
    rest = normalize_space(rest.replace("[SEP]", SPAN_SEPARATOR))
    if not rest or rest.rstrip(".").casefold() == NO_SPAN.casefold():
        return []
    if SPAN_SEPARATOR not in rest:
        return [rest]
    if text is not None and rest.count(SPAN_SEPARATOR) <= _MAX_SEPARATORS:
        pieces = _segment_from_text(rest, text)
        if pieces is not None:
            return pieces
    return [p.strip() for p in rest.split(SPAN_SEPARATOR) if p.strip()]


def _segment_from_text(line: str, text: str) -> list[str] | None:
    """Cut `line` at `...` separators so that every piece occurs in `text`; longest pieces first.

    Returns None when no such reading exists (then the caller splits at every separator).
    """
    if SPAN_SEPARATOR not in text and SPAN_SEPARATOR + "." not in line:
        # no piece can hold a separator, and they do not overlap: cutting at every one is the only reading
        pieces = [piece.strip() for piece in line.split(SPAN_SEPARATOR)]
        return pieces if all(piece and piece in text for piece in pieces) else None
    cuts = [m.start() for m in _SEPARATOR_AT.finditer(line)] + [len(line)]
    memo = {}

    def segment(start: int) -> tuple[str, ...] | None:
        if start not in memo:
            memo[start] = None
            for cut in reversed([c for c in cuts if c >= start]):
                piece = line[start:cut].strip()
                if not piece or piece not in text:
                    continue
                rest = () if cut == len(line) else segment(cut + len(SPAN_SEPARATOR))
                if rest is not None:
                    memo[start] = (piece, *rest)
                    break
        return memo[start]

    found = segment(0)
    return None if found is None else list(found)


# ---------------------------------------------------------------------------------------------
# choices

# `(B) ...`, `(b)`, `B) ...`, `B. ...`, `B:` or a bare `B`; not the article in `A patient ...`
_OPTION_LINE = re.compile(r"^\(([A-Za-z])\)(?=\s|$|[.:,;])|^([A-Za-z])[).:]?$|^([A-Z])[).:]\s")
_OPTION_ANYWHERE = re.compile(r"\(([A-Z])\)")


def parse_choice(
    output: str, options: Sequence[str], multi_label: bool = False, label: str | None = None
) -> ParsedAnswer:
    """Lettered answer -> {"letters": [...], "answers": [option texts], "unparseable": bool}.

    A line that starts with an option letter (`(B) entailment`, `(b)`, `B.`) names that option; a
    line that is exactly an option's text names it too. Only if no line does are `(X)` markers
    anywhere in the output used. A single-label answer must name exactly one option; a
    multi-label answer may name several, or be `None` for the empty set. `label` is the
    `Trigger - Attribute:` prefix of event-argument answers, removed before reading.
    """
    letters = _chosen_letters(output, tuple(options), multi_label, label)
    if letters is None:
        return {"letters": [], "answers": [], "unparseable": True}
    return {"letters": list(letters), "answers": [options[LETTERS.index(x)] for x in letters], "unparseable": False}


@functools.lru_cache(maxsize=4096)
def _chosen_letters(
    output: str, options: tuple[str, ...], multi_label: bool, label: str | None
) -> tuple[str, ...] | None:
    """parse_choice's letters, sorted, or None for an unparseable answer. Cached: the answers to a
    test set's questions repeat (`(A) yes`), and so do their options."""
    valid = list(LETTERS[: len(options)])
    by_text = {_option_key(o): LETTERS[i] for i, o in enumerate(options)}
    chosen = []
    for line in output.splitlines():
        line = _strip_prefix(line.strip(), label)
        match = _OPTION_LINE.match(line)
        letter = next(g for g in match.groups() if g).upper() if match else by_text.get(_option_key(line))
        if letter in valid and letter not in chosen:
            chosen.append(letter)
    if not chosen:
        chosen = list(dict.fromkeys(x for x in _OPTION_ANYWHERE.findall(output) if x in valid))
    empty_set = multi_label and _option_key(_strip_prefix(output.strip(), label)) == NO_SPAN.casefold()
    if (not multi_label and len(chosen) != 1) or (not chosen and not empty_set):
        return None
    return tuple(sorted(chosen))


def _option_key(text: str) -> str:
    return normalize_space(text).rstrip(".!").strip().casefold()


def _strip_prefix(line: str, label: str | None) -> str:
    """Remove a leading `label:` (any case or spacing) from `line`."""
    if label and ":" in line and _label_key(line.split(":", 1)[0]) == _label_key(label):
        return line.split(":", 1)[1].strip()
    return line


# ---------------------------------------------------------------------------------------------
# offsets


def locate_spans(text: str, spans: Iterable[str]) -> list[tuple[int, int] | None]:
    """Character offsets (start, end) of each span in `text`, or None for a span not in the text.

    Spans are looked up in order and a repeated span takes the next occurrence of its string, so
    `fever...fever` gets both mentions; different spans are looked up independently, so
    overlapping mentions (`chest pain`, `pain`) are both found. White space inside a span matches
    any white space in the text (spans are rendered on one line, texts are not).
    """
    return span_locator(text)(spans)


def span_locator(text: str) -> SpanLocator:
    """`locate_spans` for one text, as a function of the spans: the text is indexed once.

    The search runs with str.find in the text with its white-space runs collapsed to one space
    (a million predictions in seconds, where a regex per span took minutes); positions map back
    to the original text through the start of each word.
    """
    words = text.split()
    flat = " ".join(words)
    if flat == text:  # already single-spaced: positions are the same

        def original(position: int) -> int:
            return position
    else:
        word_starts = [m.start() for m in re.finditer(r"\S+", text)]
        flat_starts = list(itertools.accumulate((len(w) + 1 for w in words[:-1]), initial=0))

        def original(position: int) -> int:
            """Position in `text` of the non-space character at `position` in `flat`."""
            k = bisect.bisect_right(flat_starts, position) - 1
            return word_starts[k] + position - flat_starts[k]

    def locate(spans: Iterable[str]) -> list[tuple[int, int] | None]:
        next_start, found = {}, []
        for span in spans:
            key = " ".join(span.split())
            at = flat.find(key, next_start.get(span, 0)) if key else -1
            if at < 0 and key:
                at = flat.find(key)
            if at < 0:
                found.append(None)
                continue
            next_start[span] = at + 1
            found.append((original(at), original(at + len(key) - 1) + 1))
        return found

    return locate
