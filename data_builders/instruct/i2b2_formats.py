"""i2b2/n2c2 release formats: inline-tagged XML, standoff XML (TEXT + TAGS, as in the 2012 TimeML
release, 2014 de-identification and 2018 cohort selection), and `line:token` concept files.

Concept files (2009 `.entries`, 2011 `.con`/`.chains`) give fields joined by `||`, each
`key="value"` followed by offsets `line:token line:token` (lines from 1, whitespace tokens
from 0, several ranges separated by ','), over a text whose lines are the note's lines.
"""

import re

from data_builders.instruct.source import fail
from data_builders.instruct.xmlfile import parse_xml, required
from data_builders.readers import open_release
from mnlu.cli import excerpt


def inline_tagged(element):
    """(text, [(child element, start, end)]) of an element whose text holds tagged children."""
    text, tags = element.text or "", []
    for child in element:
        start = len(text)
        text += child.text or ""
        tags.append((child, start, len(text)))
        text += child.tail or ""
    return text, tags


def standoff_xml(path):
    """(root, text, [(tag element, line)]) of a TEXT + TAGS file; tags with start/end must match."""
    root, line_of = parse_xml(path)
    text_element, tags_element = root.find("TEXT"), root.find("TAGS")
    if text_element is None or tags_element is None:
        fail(path, line_of[root], "expected <TEXT> and <TAGS> children")
    text, tags = text_element.text or "", []
    for tag in tags_element:
        if "start" in tag.attrib:
            try:
                start, end = int(tag.get("start")), int(tag.get("end"))
            except (TypeError, ValueError):
                fail(path, line_of[tag], f"<{tag.tag}> start and end must be integers")
            if text[start:end].split() != required(tag, "text", path, line_of).split():
                fail(
                    path,
                    line_of[tag],
                    f"<{tag.tag} id={excerpt(tag.get('id'))}> does not match the text at its offsets",
                )
        tags.append((tag, line_of[tag]))
    return root, text, tags


class TokenIndex:
    """Character offsets of `line:token` positions in a note (lines from 1, tokens from 0)."""

    def __init__(self, text):
        self.text, self.tokens, offset = text, [], 0
        for line in text.split("\n"):
            self.tokens.append([(m.start() + offset, m.end() + offset) for m in re.finditer(r"\S+", line)])
            offset += len(line) + 1

    def span(self, path, lineno, first, last, value):
        """Character (start, end) from token `first` to token `last` (both `line:token`), whose
        text must be `value` (releases lowercase it) unless `value` is None."""
        try:
            (l1, t1), (l2, t2) = (map(int, p.split(":")) for p in (first, last))
            start, end = self.tokens[l1 - 1][t1][0], self.tokens[l2 - 1][t2][1]
        except (ValueError, IndexError):
            fail(path, lineno, f"offsets {first} {last} are not line:token positions of the note")
        if value is not None and self.text[start:end].lower().split() != value.lower().split():
            fail(path, lineno, f"the text at {first} {last} is not the annotated mention")
        return start, end


FIELD = re.compile(r'^(\w+)="(.*)"((?:\s+\d+:\d+\s+\d+:\d+,?)*)\s*$')


def concept_lines(path):
    """Yield (line, [(key, value, [(first, last), ...])]) of an i2b2 concept file."""
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = []
            for part in line.strip().split("||"):
                match = FIELD.match(part.strip())
                if not match:
                    fail(path, lineno, 'expected fields `key="value" line:token line:token` joined by ||')
                positions = match.group(3).replace(",", " ").split()
                fields.append((match.group(1), match.group(2), list(zip(positions[::2], positions[1::2]))))
            yield lineno, fields
