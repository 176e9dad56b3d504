"""BIOSSES sentence similarity (BLURB release: `pair_id<TAB>sent1<TAB>sent2<TAB>score`).

The options are the five levels of the BIOSSES annotation guideline (Soğancıoğlu et al., 2017,
Table 1), in scale order (an ordinal scale is not shuffled); the gold option is the level
nearest the annotators' mean score, and the real score is kept for Pearson's r.
"""

from data_builders.readers import decimal, label_excerpt, read_tsv, require, split_file

CRITERIA = [
    (0, "The two sentences are on different topics (score 0)."),
    (1, "The two sentences are not equivalent, but are on the same topic (score 1)."),
    (2, "The two sentences are not equivalent, but share some details (score 2)."),
    (3, "The two sentences are roughly equivalent, but some important information differs or is missing (score 3)."),
    (4, "The two sentences are completely or mostly equivalent, as they mean the same thing (score 4)."),
]
FIELDS = ("pair_id", "sent1", "sent2", "score")


def biosses(folder, split):
    path = split_file(folder, split)
    for lineno, row in read_tsv(path, FIELDS, header=FIELDS):
        where = f"{path}:{lineno}"
        score = decimal(row["score"])  # a plain decimal: no nan, inf or exponent can become a gold score
        require(
            score is not None and 0 <= score <= 4,
            where,
            f"score {label_excerpt(row['score'])} is not a number from 0 to 4 (like 3 or 3.8)",
        )
        fields = dict(
            id=f"biosses.{split}.{row['pair_id']}",
            dataset="biosses",
            split=split,
            sentence_1=row["sent1"],
            sentence_2=row["sent2"],
            criteria=CRITERIA,
            score=score,
            shuffle=False,
        )
        yield where, fields
