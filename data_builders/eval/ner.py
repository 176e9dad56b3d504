"""NER datasets of BLURB (BLURB/BioBERT release: `token<TAB>tag`, one sentence per block).

One record per sentence for the entity datasets; one per abstract for EBM-NLP PICO, whose
elements (who was studied, what was given, what was measured) are annotated over the whole
abstract. Labels are listed in a fixed order: a dataset's entity types carry no ranking, and
a fixed order keeps every prompt of a dataset the same (`shuffle=False`).
"""

from data_builders.readers import (
    SPLIT_FILES,
    ReleaseError,
    bio_spans,
    chunks,
    join_tokens,
    label_excerpt,
    read_conll,
    split_file,
)
from mnlu.benchmarks import JNLPBA_UNTYPED_LABEL

# BLURB's files for these four are untyped (B/I/O); the type is the dataset's one entity type.
SINGLE_TYPE = {"bc2gm": "Gene", "bc5cdr_chem": "Chemical", "bc5cdr_disease": "Disease", "ncbi_disease": "Disease"}

# JNLPBA's five GENIA types, as written in the typed release tags, and their readable labels.
JNLPBA_TYPES = {"protein": "Protein", "DNA": "DNA", "RNA": "RNA", "cell_line": "Cell line", "cell_type": "Cell type"}
JNLPBA_UNTYPED = {"": JNLPBA_UNTYPED_LABEL}  # BLURB's B/I files: one type for every entity

# EBM-NLP PICO elements (IO tags `I-PAR`, `I-INT`, `I-OUT`).
PICO_TYPES = {"PAR": "Participants", "INT": "Interventions", "OUT": "Outcomes"}


def single_type_builder(dataset):
    """The builder of a single-type NER dataset (BC2GM, BC5CDR-chem/-disease, NCBI-disease)."""

    def build(folder, split):
        return build_sentences(dataset, split_file(folder, split), split, {"": SINGLE_TYPE[dataset]})

    return build


def jnlpba(folder, split):
    """JNLPBA with its five types from the typed release (`devel.tsv`, MTL `train/test.tsv`), else
    with one type from BLURB's untyped files.

    For dev the typed `devel.tsv` is preferred over BLURB's `dev.tsv` (same tokens). A file whose
    first entity tag is untyped is BLURB's: every entity is a "Biomedical entity" (no type is
    guessed), and a typed tag later in it is an error, as in the other single-type files.
    """
    names = {**SPLIT_FILES, "dev": ("devel.tsv", "dev.tsv")}
    path = split_file(folder, split, names)
    first = next((tag for s in read_conll(path) for tag in s.tags if tag != "O"), "B-")
    return build_sentences("jnlpba", path, split, JNLPBA_UNTYPED if first in ("B", "I") else JNLPBA_TYPES)


def build_sentences(dataset, path, split, types):
    """Yield (where, ner_record fields) for each sentence of a CoNLL file, typed through `types`."""
    for n, sentence in enumerate(read_conll(path)):
        check_types(path, sentence, types)
        text, spans = bio_spans(sentence.tokens, sentence.tags)
        fields = dict(
            id=f"{dataset}.{split}.{n}",
            dataset=dataset,
            split=split,
            text=text,
            labels=list(types.values()),
            spans=[labelled(span, types) for span in spans],
            shuffle=False,
        )
        yield f"{path}:{sentence.lines[0]}", fields


def ebm_pico(folder, split):
    """EBM-NLP PICO: one record per `-DOCSTART- (PMID)` abstract, sentences joined by single spaces.

    Chunks are found sentence by sentence, so no element span crosses a sentence boundary.
    """
    path = split_file(folder, split)
    documents = {}
    for sentence in read_conll(path):
        if not sentence.doc:
            raise ReleaseError(f"{path}:{sentence.lines[0]}: sentence before the first -DOCSTART- (PMID) line")
        check_types(path, sentence, PICO_TYPES)
        documents.setdefault(sentence.doc, []).append(sentence)
    for pmid, sentences in documents.items():
        tokens = [t for s in sentences for t in s.tokens]
        text, offsets = join_tokens(tokens)
        spans, first = [], 0
        for sentence in sentences:
            for kind, start, end in chunks(sentence.tags):
                begin, stop = offsets[first + start][0], offsets[first + end - 1][1]
                spans.append(
                    labelled({"type": kind, "text": text[begin:stop], "start": begin, "end": stop}, PICO_TYPES)
                )
            first += len(sentence.tokens)
        fields = dict(
            id=f"ebm_pico.{split}.{pmid}",
            dataset="ebm_pico",
            split=split,
            text=text,
            labels=list(PICO_TYPES.values()),
            spans=spans,
            shuffle=False,
        )
        yield f"{path}:{sentences[0].lines[0]}", fields


def check_types(path, sentence, types):
    """Every tag's type must be one the dataset names (untyped `B`/`I` have the type "")."""
    for tag, line in zip(sentence.tags, sentence.lines):
        if tag != "O" and tag[2:] not in types:
            if list(types) == [""]:
                raise ReleaseError(f"{path}:{line}: typed tag {label_excerpt(tag)} in a file of untyped B/I tags")
            expected = ", ".join(types)
            what = (
                "an untyped tag; this dataset needs its typed release"
                if tag in ("B", "I")
                else "not a type of this dataset"
            )
            raise ReleaseError(f"{path}:{line}: {label_excerpt(tag)} is {what} (types: {expected})")


def labelled(span, types):
    """A reader span (with the release's `type`) as a record span (with the readable `label`)."""
    return {"label": types[span["type"]], "text": span["text"], "start": span["start"], "end": span["end"]}
