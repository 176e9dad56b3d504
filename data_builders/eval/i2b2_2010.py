"""i2b2/VA 2010 relations (official release: `.txt` + `.con` + `.rel` per discharge summary).

The release is under a data-use agreement, so it is built from the user's own copy; the tests
use files written in its format. A `.txt` holds one sentence per line, tokens split by spaces;
`.con` lines read `c="text" L:T L:T||t="problem"` and `.rel` lines
`c="text" L:T L:T||r="TrAP"||c="text" L:T L:T`, where L is the 1-based line and T the 0-based
token (both ends inclusive).

Every pair of concepts in one sentence that the guideline lets relate is an instance: treatment
then problem (TrIP, TrWP, TrCP, TrAP, TrNAP), test then problem (TeRP, TeCP), and each unordered
pair of problems (PIP). A pair without a relation is the negative. The options are the relations
that pair's types allow plus the negative, so a test is never offered "treatment improves
problem". The split is the release's: files below a folder named `*train*` are train, `*test*`
test (there is no official dev). Options are shuffled per pair, as for the other RE datasets.
"""

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
_CONCEPT = re.compile(r'^c="(.*)" (\d+):(\d+) (\d+):(\d+)$')


def i2b2_2010(folder, split):
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
        yield from document_pairs(
            text_path, annotations[text_path.stem, ".con"], annotations[text_path.stem, ".rel"], split
        )


def release_split(relative):
    """ "train" or "test" from the folder names above a release file, else None."""
    names = [part.lower() for part in relative.parts[:-1]]
    return next((s for s in ("train", "test") if any(s in name for name in names)), None)


def document_pairs(text_path, con_path, rel_path, split):
    with open_release(text_path) as f:
        lines = [line.rstrip("\n").split() for line in f]
    concepts = {}  # (line, first, last) -> type
    for where, fields in annotation_lines(con_path):
        require(
            len(fields) == 2 and fields[1].startswith('t="') and fields[1].endswith('"'),
            where,
            'expected c="..." L:T L:T||t="type"',
        )
        concepts[concept_span(fields[0], where, lines)] = fields[1][3:-1]
    relations = {}  # (concept 1, concept 2) -> relation, and (2, 1) for problem pairs
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
        relations[first, second] = label
        if pair_type == ("problem", "problem"):
            relations[second, first] = label
    by_line = {}
    for span in sorted(concepts):
        by_line.setdefault(span[0], []).append(span)
    for line, spans in sorted(by_line.items()):
        for i, first in enumerate(spans):
            for second in spans[:i] + spans[i + 1 :]:
                pair_type = (concepts[first], concepts[second])
                if pair_type not in PAIR_OPTIONS or (pair_type == ("problem", "problem") and second < first):
                    continue
                options = PAIR_OPTIONS[pair_type]
                label = relations.get((first, second))
                pair_id = f"{text_path.stem}.{line}.{first[1]}-{first[2]}.{second[1]}-{second[2]}"
                fields = dict(
                    id=f"i2b2_2010.{split}.{pair_id}",
                    dataset="i2b2_2010",
                    split=split,
                    text=" ".join(lines[line - 1]),
                    type_1=pair_type[0].capitalize(),
                    span_1=tokens(lines, first),
                    type_2=pair_type[1].capitalize(),
                    span_2=tokens(lines, second),
                    options=list(options.values()),
                    answer=options[label],
                    negative=options[None],
                )
                yield f"{text_path}:{line}", fields


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
