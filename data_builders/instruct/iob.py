"""CoNLL/IOB token files (`token<TAB>tag`, blank line between sentences) -> text and spans.

The smallest reader the IOB sources (LINNAEUS, BC4CHEMD) need: tokens are joined by single
spaces, so span offsets are exact in the rebuilt text. An I- tag after O (IOB1 style) opens a span.
"""

from data_builders.instruct.source import fail


def read_iob(path):
    """Yield (first line, text, spans) per sentence; spans are {label, text, start, end}."""
    tokens, tags, first = [], [], None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0] == "-DOCSTART-":
                if tokens:
                    yield first, *_spans(tokens, tags)
                tokens, tags = [], []
                continue
            if len(fields) < 2 or not (fields[-1] == "O" or fields[-1][:2] in ("B-", "I-")):
                fail(path, lineno, "expected `token<TAB>tag` with tag O, B-<type> or I-<type>")
            first = lineno if not tokens else first
            tokens.append(fields[0])
            tags.append(fields[-1])
    if tokens:
        yield first, *_spans(tokens, tags)


def _spans(tokens, tags):
    text, spans, offset = " ".join(tokens), [], 0
    for token, tag in zip(tokens, tags):
        continues = tag.startswith("I-") and spans and spans[-1]["end"] == offset - 1 \
            and spans[-1]["label"] == tag[2:]
        if continues:
            spans[-1]["end"] = offset + len(token)
        elif tag != "O":
            spans.append({"label": tag[2:], "start": offset, "end": offset + len(token)})
        offset += len(token) + 1
    for span in spans:
        span["text"] = text[span["start"]:span["end"]]
    return text, spans
