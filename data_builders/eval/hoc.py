"""HoC, the Hallmarks of Cancer corpus (BLURB release): multi-label classification of abstracts.

BLURB ships one row per sentence (`labels<TAB>sentence<TAB>index`, index `PMID_s<n>`, labels ten
`k_v` flags); the benchmark scores abstracts, so sentences are put back in order into their
abstract and its label set is the union of its sentences' labels. An abstract with no hallmark
has the empty answer (`None`). Options are shuffled per abstract (a nominal label set).
"""

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
FIELDS = ("labels", "sentence", "index")


def hoc(folder, split):
    path = split_file(folder, split)
    abstracts = {}  # PMID -> {sentence number: (sentence, hallmark set)}, in file order
    first_line = {}
    for lineno, row in read_tsv(path, FIELDS, header=FIELDS):
        where = f"{path}:{lineno}"
        pmid, _, number = row["index"].rpartition("_s")
        require(pmid.strip() and is_count(number), where, f"index {label_excerpt(row['index'])} is not PMID_s<number>")
        sentences = abstracts.setdefault(pmid, {})
        require(int(number) not in sentences, where, f"sentence {label_excerpt(row['index'])} appears twice")
        sentences[int(number)] = (row["sentence"].strip(), hallmarks(row["labels"], where))
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
        )
        yield f"{path}:{first_line[pmid]}", fields


def hallmarks(flags, where):
    """The hallmark names set in a `0_0,1_1,...,9_0` label column."""
    pairs = [flag.split("_") for flag in flags.split(",")]
    expected = [str(k) for k in range(len(HALLMARKS))]
    require(
        [p[0] for p in pairs] == expected and all(len(p) == 2 and p[1] in ("0", "1") for p in pairs),
        where,
        f"labels {label_excerpt(flags)} are not the ten flags 0_v,...,9_v with v 0 or 1",
    )
    return {HALLMARKS[int(k)] for k, v in pairs if v == "1"}
