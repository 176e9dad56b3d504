"""Read annotations -> unified records: one place for record ids, the split and label expansion.

Every MNLU-Instruct record is a train-split record whose id is `<source>-<key>`; labels are
passed as released and expanded by `mnlu.tasks` through the source's `labels` map.
"""

from mnlu.tasks import instance_rng, make_record

SPLIT = "train"


def span_instance(source, key, text, labels, spans, task="ner"):
    """NER (or event-trigger) record over `text`; spans are {label, text, start, end}."""
    return make_record(
        task,
        id=f"{source.name}-{key}",
        dataset=source.name,
        split=SPLIT,
        text=text,
        labels=list(labels),
        spans=spans,
        expand=source.labels,
    )


def relation_instance(source, key, text, head, tail, options, answer, negative):
    """RE record between two typed mentions `head`/`tail` = (type, span text)."""
    return make_record(
        "re",
        id=f"{source.name}-{key}",
        dataset=source.name,
        split=SPLIT,
        text=text,
        type_1=head[0],
        span_1=head[1],
        type_2=tail[0],
        span_2=tail[1],
        options=list(options),
        answer=answer,
        negative=negative,
        expand=source.labels,
    )


def choice_instance(source, task, key, **fields):
    """A dc / nli / eac record with the source's label expansion."""
    return make_record(
        task, id=f"{source.name}-{key}", dataset=source.name, split=SPLIT, expand=source.labels, **fields
    )


def negative_pairs(key, candidates, related, limit):
    """At most `limit` candidate pairs not in `related`, drawn with a generator seeded by `key`.

    Corpora that annotate relations at document level list only the positive pairs; sampling as
    many negatives as positives keeps the no-relation option frequent but not dominant.
    """
    pool = [pair for pair in candidates if pair not in related and pair[::-1] not in related]
    instance_rng(key).shuffle(pool)
    return pool[:limit]


NOTE_CHARS = 2000  # clinical notes are cut at line ends into pieces of about this many characters


def note_pieces(text, spans, max_chars=NOTE_CHARS):
    """Yield (offset, piece) cutting `text` at newlines inside no span, each piece at most
    `max_chars` long unless no such newline comes sooner; pieces are stripped of surrounding white
    space (never of a span's own) and blank ones left out."""
    cuts = [i for i, c in enumerate(text) if c == "\n" and not any(s["start"] <= i < s["end"] for s in spans)]
    start = 0
    while start < len(text):
        fitting = [c for c in cuts if start < c <= start + max_chars]
        later = [c for c in cuts if c > start + max_chars]
        if start + max_chars >= len(text) or not (fitting or later):
            end = len(text)
        else:
            end = fitting[-1] if fitting else later[0]
        piece, inside = text[start:end], [s for s in spans if start <= s["start"] and s["end"] <= end]
        first = min([start + len(piece) - len(piece.lstrip())] + [s["start"] for s in inside])
        last = max([start + len(piece.rstrip())] + [s["end"] for s in inside])
        if text[first:last].strip():
            yield first, text[first:last]
        start = end + 1


def note_instances(source, key, text, labels, spans, task="ner"):
    """Span records over the pieces of a long note (see note_pieces), spans shifted into each."""
    for k, (offset, piece) in enumerate(note_pieces(text, spans)):
        inside = [
            {**s, "start": s["start"] - offset, "end": s["end"] - offset}
            for s in spans
            if offset <= s["start"] and s["end"] <= offset + len(piece)
        ]
        yield span_instance(source, f"{key}-{k}", piece, labels, inside, task)


def line_window(text, ranges):
    """(offset, lines) of `text` covering every (start, end) in `ranges`: the context of a relation."""
    start = text.rfind("\n", 0, min(s for s, _ in ranges)) + 1
    end = text.find("\n", max(e for _, e in ranges))
    return start, text[start:] if end < 0 else text[start:end]
