"""BioC XML: documents of passages (and sentences) with offset annotations and relations.

Offsets in `<location offset length>` count from the document start, like `<passage><offset>`,
so annotations are checked against the whole document text (passages placed at their offsets):
a release's sentence split may cut through a mention. Relations link annotation ids through
`<node refid>`; DrugProt and EU-ADR keep them inside a sentence, other corpora in the passage.
"""

from typing import NamedTuple

from data_builders.instruct.source import fail
from data_builders.instruct.xmlfile import parse_xml, required
from data_builders.readers import is_count
from mnlu.cli import excerpt


class Annotation(NamedTuple):
    id: str
    type: str
    start: int  # offsets into the document text
    end: int
    text: str


class Unit(NamedTuple):
    """A passage or sentence: its offset, text, annotations and relations (type, refid, refid)."""

    offset: int
    text: str
    annotations: list
    relations: list


class BiocDocument(NamedTuple):
    id: str
    text: str  # the passages placed at their offsets
    passages: list  # Units
    sentences: list  # Units (empty when the file is not sentence-split)


def read_bioc(path):
    """Return the documents of a BioC XML file; annotation text must match its offsets."""
    root, line_of = parse_xml(path)
    docs = []
    for doc in root.iter("document"):
        doc_id = doc.findtext("id", "").strip()
        if not doc_id:
            fail(path, line_of[doc], "<document> has no <id>")
        passages = doc.findall("passage")
        text = ""
        for p in sorted(passages, key=lambda p: _offset(path, line_of, p)):
            text = text.ljust(_offset(path, line_of, p)) + p.findtext("text", "")
        units = [_unit(path, line_of, p, text) for p in passages]
        sentences = [_unit(path, line_of, s, text) for p in passages for s in p.findall("sentence")]
        docs.append(BiocDocument(doc_id, text, units, sentences))
    return docs


def _offset(path, line_of, element):
    offset = element.findtext("offset")
    if offset is None or not is_count(offset.strip()):
        fail(path, line_of[element], f"<{element.tag}> has no numeric <offset>")
    return int(offset)


def _unit(path, line_of, element, doc_text):
    annotations = [_annotation(path, line_of, a, doc_text) for a in element.findall("annotation")]
    relations = []
    for r in element.findall("relation"):
        nodes = [required(n, "refid", path, line_of) for n in r.findall("node")]
        if len(nodes) != 2:
            fail(path, line_of[r], f"relation has {len(nodes)} nodes, expected 2")
        relations.append((_infon(r, "type"), *nodes))
    return Unit(_offset(path, line_of, element), element.findtext("text", ""), annotations, relations)


def _annotation(path, line_of, a, doc_text):
    location = a.find("location")
    if location is None:
        fail(path, line_of[a], "<annotation> has no <location>")
    try:
        start = int(required(location, "offset", path, line_of))
        end = start + int(required(location, "length", path, line_of))
    except ValueError:
        fail(path, line_of[location], "<location> offset and length must be integers")
    if doc_text[start:end].split() != a.findtext("text", "").split():  # some releases swap in thin spaces
        fail(path, line_of[a], f"annotation {excerpt(a.get('id'))} does not match the text at its offsets")
    return Annotation(a.get("id", ""), _infon(a, "type"), start, end, doc_text[start:end])


def _infon(element, key):
    return next((i.text or "" for i in element.findall("infon") if i.get("key") == key), "")
