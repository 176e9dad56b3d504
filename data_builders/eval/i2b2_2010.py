"""i2b2/VA 2010 relations (official release: `.txt` + `.con` + `.rel` per discharge summary).

The release is under a data-use agreement, so it is built from the user's own copy; the tests
use files written in its format. A `.txt` holds one sentence per line, tokens split by spaces;
`.con` lines read `c="text" L:T L:T||t="problem"` and `.rel` lines
`c="text" L:T L:T||r="TrAP"||c="text" L:T L:T`, where L is the 1-based line and T the 0-based
token (both ends inclusive).

Two constructions of the instances (`data_builders build --i2b2-pairs`):

- `blue` (the default; BLUE's `create_i2b2_bert.py`, which the paper's test count of 6,292 comes
  from): every pair of concepts on one line, in the order of the `.con` file, whatever their
  types, asked with one label set, the 8 relations and "none of these relations". A pair with
  two relations in the `.rel` file is two instances, as in BLUE.
- `guideline`: only the pairs the annotation guideline lets relate: treatment then problem
  (TrIP, TrWP, TrCP, TrAP, TrNAP), test then problem (TeRP, TeCP) and each unordered pair of
  problems (PIP), each offered the relations its types allow plus the negative, so a test is
  never offered "treatment improves problem".

The split is the release's: files below a folder named `*train*` are train, `*test*` test
(there is no official dev). Options are shuffled per pair, as for the other RE datasets.
"""

import itertools
import re
from pathlib import Path

from data_builders.readers import MissingRelease, label_excerpt, open_release, require

PAIR_OPTIONS = {
    ("treatment", "problem"): {
        "TrIP": "the treatment improves or cures the problem",
        "TrWP": "the treatment worsens the problem",
        "TrCP": "the treatment causes the problem",
        "TrAP": "the treatment is given for the problem",
        "TrNAP": "the treatment is not given, or stopped, because of the problem",
        None: "none of these relations",
    },
    ("test", "problem"): {
        "TeRP": "the test reveals the problem",
        "TeCP": "the test is done to investigate the problem",
        None: "none of these relations",
    },
    ("problem", "problem"): {
        "PIP": "one problem indicates or causes the other",
        None: "no relation between the two problems",
    },
}
# BLUE's one label set: the 8 relations, then the negative
ALL_OPTIONS = {
    **{label: text for options in PAIR_OPTIONS.values() for label, text in options.items() if label},
    None: "none of these relations",
}
_CONCEPT = re.compile(r'^c="(.*)" (\d+):(\d+) (\d+):(\d+)$')


def i2b2_2010(folder, split):
    """BLUE's instances (module docstring) of every record of `split`."""
    return _build(folder, split, blue_pairs)


def i2b2_2010_guideline(folder, split):
    """The guideline's instances (module docstring) of every record of `split`."""
    return _build(folder, split, guideline_pairs)


def _build(folder, split, pairs):
    """Pairs of every record of `split`: a `.txt` with a `.con` of the same name (a README is not one)."""
    annotations = {}
    for suffix in (".con", ".rel"):
        for path in Path(folder).rglob(f"*{suffix}"):
            require(
                (path.stem, suffix) not in annotations,
                path,
                f"a second {suffix} file for {path.stem} (also {annotations.get((path.stem, suffix))})",
            )
            annotations[path.stem, suffix] = path
    texts = sorted(
        p
        for p in Path(folder).rglob("*.txt")
        if (p.stem, ".con") in annotations and release_split(p.relative_to(folder)) == split
    )
    if not texts:
        raise MissingRelease(f"no .txt file with a .con file below a '{split}' folder of {folder}")
    for text_path in texts:
        require((text_path.stem, ".rel") in annotations, text_path, f"no {text_path.stem}.rel file below {folder}")
        lines, concepts, relations = read_document(
            text_path, annotations[text_path.stem, ".con"], annotations[text_path.stem, ".rel"]
        )
        for first, second, label, options, suffix in pairs(concepts, relations):
            line = first[0]
            pair_id = f"{text_path.stem}.{line}.{first[1]}-{first[2]}.{second[1]}-{second[2]}{suffix}"
            fields = dict(
                id=f"i2b2_2010.{split}.{pair_id}",
                dataset="i2b2_2010",
                split=split,
                text=" ".join(lines[line - 1]),
                type_1=concepts[first].capitalize(),
                span_1=tokens(lines, first),
                type_2=concepts[second].capitalize(),
                span_2=tokens(lines, second),
                options=list(options.values()),
                answer=options[label],
                negative=options[None],
            )
            yield f"{text_path}:{line}", fields


def release_split(relative):
    """ "train" or "test" from the folder names above a release file, else None."""
    names = [part.lower() for part in relative.parts[:-1]]
    return next((s for s in ("train", "test") if any(s in name for name in names)), None)


def read_document(text_path, con_path, rel_path):
    """(token lines, {concept span: type} in .con order, [(span, span, relation)] in .rel order), checked.

    A span is (line, first token, last token); every relation joins two concepts of one line, of
    types the guideline lets it join.
    """
    with open_release(text_path) as f:
        lines = [line.rstrip("\n").split() for line in f]
    concepts = {}
    for where, fields in annotation_lines(con_path):
        require(
            len(fields) == 2 and fields[1].startswith('t="') and fields[1].endswith('"'),
            where,
            'expected c="..." L:T L:T||t="type"',
        )
        concepts[concept_span(fields[0], where, lines)] = fields[1][3:-1]
    relations = []
    for where, fields in annotation_lines(rel_path):
        require(
            len(fields) == 3 and fields[1].startswith('r="') and fields[1].endswith('"'),
            where,
            'expected c="..." L:T L:T||r="relation"||c="..." L:T L:T',
        )
        first, second = concept_span(fields[0], where, lines), concept_span(fields[2], where, lines)
        require(first in concepts and second in concepts, where, "a relation between concepts the .con file lacks")
        require(first[0] == second[0], where, "a relation between concepts of two different lines (sentences)")
        pair_type = (concepts[first], concepts[second])
        label = fields[1][3:-1]
        require(
            label in PAIR_OPTIONS.get(pair_type, {}),
            where,
            f"relation {label_excerpt(label)} does not join a {pair_type[0]} to a {pair_type[1]}",
        )
        relations.append((first, second, label))
    return lines, concepts, relations


def blue_pairs(concepts, relations):
    """(first, second, relation or None, options, id suffix) of each pair of concepts on a line, as BLUE makes them."""
    for first, second in itertools.combinations(concepts, 2):
        if first[0] != second[0]:
            continue
        labels = list(dict.fromkeys(label for a, b, label in relations if {a, b} == {first, second})) or [None]
        for label in labels:
            yield first, second, label, ALL_OPTIONS, f".{label}" if len(labels) > 1 else ""


def guideline_pairs(concepts, relations):
    """(first, second, relation or None, options, "") of each pair the guideline lets relate."""
    related = {(a, b): label for a, b, label in relations}
    related.update({(b, a): label for a, b, label in relations if (concepts[a], concepts[b]) == ("problem", "problem")})
    by_line = {}
    for span in sorted(concepts):
        by_line.setdefault(span[0], []).append(span)
    for _, spans in sorted(by_line.items()):
        for i, first in enumerate(spans):
            for second in spans[:i] + spans[i + 1 :]:
                pair_type = (concepts[first], concepts[second])
                if pair_type not in PAIR_OPTIONS or (pair_type == ("problem", "problem") and second < first):
                    continue
                yield first, second, related.get((first, second)), PAIR_OPTIONS[pair_type], ""


def annotation_lines(path):
    """(where, `||`-separated fields) of each non-blank line of a .con or .rel file."""
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                yield f"{path}:{lineno}", line.strip().split("||")


def concept_span(field, where, lines):
    """(line, first token, last token) of a `c="text" L:T L:T` field, checked against the text.

    Errors name the field by its positions only: its text, and the note's, are clinical text.
    """
    match = _CONCEPT.match(field)
    require(match, where, 'a concept field is not c="text" L:T L:T (line:token positions)')
    line, first, end_line, last = (int(match[i]) for i in range(2, 6))
    at = f"{line}:{first} {end_line}:{last}"
    require(line == end_line, where, f"the concept at {at} spans two lines")
    require(
        1 <= line <= len(lines) and 0 <= first <= last < len(lines[line - 1]),
        where,
        f"the concept at {at} points outside the text ({len(lines)} lines)",
    )
    found = " ".join(lines[line - 1][first : last + 1])
    require(
        found.lower() == match[1].lower(),
        where,
        f"the concept at {at} does not match the words of the text at those tokens",
    )
    return line, first, last


def tokens(lines, span):
    line, first, last = span
    return " ".join(lines[line - 1][first : last + 1])
