"""HoC, the Hallmarks of Cancer corpus (BLURB or BLUE release): multi-label classification of abstracts.

Both releases ship one row per sentence, with the abstract's PMID in its index (`PMID_s<n>`):
BLURB as `labels<TAB>sentence<TAB>index` with ten `k_v` flags, BLUE as `index<TAB>sentence<TAB>labels`
after a header line, the hallmark names joined by commas (empty for none; BLUE's
`blue/hoc/create_hoc.py`). They split the corpus differently (test: 371 abstracts in BLURB, 315
in BLUE, the paper's count). The benchmark scores abstracts, so sentences are put back in order
into their abstract and its label set is the union of its sentences' labels. An abstract with
no hallmark has the empty answer (`None`). Options are shuffled per abstract (a nominal label set).
"""

from data_builders.eval.versions import release_version
from data_builders.readers import is_count, label_excerpt, read_tsv, require, split_file

# Flag k of BLURB's label column is the k-th hallmark in alphabetical order (checked against the
# original corpus's per-sentence labels, sb895/Hallmarks-of-Cancer).
HALLMARKS = [
    "activating invasion and metastasis",
    "avoiding immune destruction",
    "cellular energetics",
    "enabling replicative immortality",
    "evading growth suppressors",
    "genomic instability and mutation",
    "inducing angiogenesis",
    "resisting cell death",
    "sustaining proliferative signaling",
    "tumor promoting inflammation",
]
BLURB_FIELDS = ("labels", "sentence", "index")
BLUE_FIELDS = ("index", "sentence", "labels")


def hoc(folder, split, version=None):
    path = split_file(folder, split)
    version = release_version(path, version)
    if version == "blue":
        rows, read_labels = read_tsv(path, BLUE_FIELDS, header=True, optional=("labels",)), hallmark_names
    else:
        rows, read_labels = read_tsv(path, BLURB_FIELDS, header=BLURB_FIELDS), hallmark_flags
    abstracts = {}  # PMID -> {sentence number: (sentence, hallmark set)}, in file order
    first_line = {}
    for lineno, row in rows:
        where = f"{path}:{lineno}"
        pmid, _, number = row["index"].rpartition("_s")
        require(pmid.strip() and is_count(number), where, f"index {label_excerpt(row['index'])} is not PMID_s<number>")
        sentences = abstracts.setdefault(pmid, {})
        require(int(number) not in sentences, where, f"sentence {label_excerpt(row['index'])} appears twice")
        sentences[int(number)] = (row["sentence"].strip(), read_labels(row["labels"], where))
        first_line.setdefault(pmid, lineno)
    for pmid, sentences in abstracts.items():
        ordered = [sentences[n] for n in sorted(sentences)]
        answers = sorted(set().union(*(labels for _, labels in ordered)), key=HALLMARKS.index)
        fields = dict(
            id=f"hoc.{split}.{pmid}",
            dataset="hoc",
            split=split,
            text=" ".join(s for s, _ in ordered),
            what="the cancer hallmark",  # the paper's Table 1 wording
            options=HALLMARKS,
            answers=answers,
            multi_label=True,
            version=version,
        )
        yield f"{path}:{first_line[pmid]}", fields


def hallmark_flags(flags, where):
    """The hallmark names set in BLURB's `0_0,1_1,...,9_0` label column."""
    pairs = [flag.split("_") for flag in flags.split(",")]
    expected = [str(k) for k in range(len(HALLMARKS))]
    require(
        [p[0] for p in pairs] == expected and all(len(p) == 2 and p[1] in ("0", "1") for p in pairs),
        where,
        f"labels {label_excerpt(flags)} are not the ten flags 0_v,...,9_v with v 0 or 1",
    )
    return {HALLMARKS[int(k)] for k, v in pairs if v == "1"}


def hallmark_names(names, where):
    """The hallmarks of BLUE's label column: names joined by commas, in any case; empty for none."""
    found = {name.strip().casefold() for name in names.split(",")} - {""}
    require(
        found <= set(HALLMARKS),
        where,
        f"labels {label_excerpt(names)} are not hallmark names joined by commas (e.g. 'resisting cell death')",
    )
    return found
