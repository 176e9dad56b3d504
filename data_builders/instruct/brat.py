"""BRAT standoff: `<doc>.txt` beside `<doc>.ann` with T (text-bound), R, E (event) and A lines.

T1 <tab> Drug 10 17;20 25 <tab> text        (fragments separated by ';')
R1 <tab> Reason-Drug Arg1:T2 Arg2:T1
E1 <tab> Alcohol:T1 Status:T2 Amount:T3
A1 <tab> StatusTimeVal T2 current
"""

from typing import NamedTuple

from data_builders.instruct.source import fail
from data_builders.readers import open_release, read_exact_text
from mnlu.cli import excerpt


class Entity(NamedTuple):
    id: str
    type: str
    start: int  # first fragment start .. last fragment end
    end: int
    text: str  # the document text over [start, end)
    line: int  # of the .ann file, for errors


class Event(NamedTuple):
    id: str
    type: str
    trigger: str  # entity id
    arguments: tuple  # (role, entity id) pairs
    line: int


class Annotations(NamedTuple):
    text: str
    entities: dict  # id -> Entity
    relations: list  # (type, arg1 id, arg2 id)
    events: list  # Events
    attributes: dict  # (target id, attribute type) -> value


def read_brat(ann_path):
    """Read `<doc>.ann` with its `<doc>.txt`; every T line must match the text at its offsets."""
    txt_path = ann_path.with_suffix(".txt")
    if not txt_path.exists():
        fail(ann_path, 1, f"no text file {txt_path.name} beside it")
    text = read_exact_text(txt_path)
    entities, relations, events, attributes, references = {}, [], [], {}, []
    with open_release(ann_path) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            kind = fields[0][:1]
            if not line.strip() or kind == "#":
                continue
            if kind not in "TREAN" or len(fields) < 2:
                fail(ann_path, lineno, "expected an id (T, R, E, A or N) and a tab-separated annotation")
            if kind == "T":
                entities[fields[0]] = _entity(ann_path, lineno, fields, text)
            elif kind == "R":
                relations.append(_relation(ann_path, lineno, fields))
                references.append((lineno, relations[-1][1:]))
            elif kind == "E":
                events.append(_event(ann_path, lineno, fields))
                references.append((lineno, (events[-1].trigger, *(i for _, i in events[-1].arguments))))
            elif kind == "A":
                parts = fields[1].split()
                if len(parts) not in (2, 3):
                    fail(ann_path, lineno, "expected `A<n><TAB>type target [value]`")
                attributes[(parts[1], parts[0])] = parts[2] if len(parts) == 3 else True
    for lineno, ids in references:
        if any(i not in entities for i in ids):
            fail(ann_path, lineno, "refers to an id that is not a text-bound (T) annotation")
    return Annotations(text, entities, relations, events, attributes)


def _entity(path, lineno, fields, text):
    try:
        type_, offsets = fields[1].split(" ", 1)
        fragments = [tuple(map(int, f.split())) for f in offsets.split(";")]
    except ValueError:
        fail(path, lineno, "expected `T<n><TAB>type start end[;start end]<TAB>text`")
    if len(fields) < 3 or any(len(f) != 2 or not 0 <= f[0] <= f[1] <= len(text) for f in fragments):
        fail(path, lineno, "entity offsets are malformed or outside the text")
    if " ".join(text[s:e] for s, e in fragments).split() != fields[2].split():
        fail(path, lineno, f"entity {excerpt(fields[0])} does not match the text at its offsets")
    start, end = fragments[0][0], fragments[-1][1]
    return Entity(fields[0], type_, start, end, text[start:end], lineno)


def _relation(path, lineno, fields):
    parts = fields[1].split()
    if len(parts) != 3 or not parts[1].startswith("Arg1:") or not parts[2].startswith("Arg2:"):
        fail(path, lineno, "expected `R<n><TAB>type Arg1:T<i> Arg2:T<j>`")
    return parts[0], parts[1][5:], parts[2][5:]


def _event(path, lineno, fields):
    parts = [p.split(":") for p in fields[1].split()]
    if not parts or any(len(p) != 2 for p in parts):
        fail(path, lineno, "expected `E<n><TAB>Type:T<i> Role:T<j> ...`")
    roles = tuple((role.rstrip("0123456789"), i) for role, i in parts[1:])
    return Event(fields[0], parts[0][0], parts[0][1], roles, lineno)
