"""MedNLI (official PhysioNet release, `mli_{train,dev,test}_v1.jsonl`; credentialed, built from
the user's own copy). The options are worded as the paper's Table 4 words them (entails / neutral /
contradicts, for the release's entailment / neutral / contradiction) and keep that order in every
record, not shuffled.
"""

from data_builders.readers import MissingRelease, find_release_file, label_excerpt, read_jsonl, require

OPTIONS = {"entailment": "entails", "neutral": "neutral", "contradiction": "contradicts"}  # release label -> option


def mednli(folder, split):
    path = find_release_file(folder, f"mli_{split}_v1.jsonl")
    if path is None:
        raise MissingRelease(f"no mli_{split}_v1.jsonl below {folder}")
    for lineno, item in read_jsonl(path):
        where = f"{path}:{lineno}"
        require(
            all(isinstance(item.get(k), str) and item[k].strip() for k in ("pairID", "sentence1", "sentence2")),
            where,
            "needs pairID, sentence1 and sentence2 as non-empty strings",
        )
        require(
            item.get("gold_label") in OPTIONS,
            where,
            f"gold_label {label_excerpt(item.get('gold_label'))} is not one of {', '.join(OPTIONS)}",
        )
        fields = dict(
            id=f"mednli.{split}.{item['pairID']}",
            dataset="mednli",
            split=split,
            premise=item["sentence1"],
            hypothesis=item["sentence2"],
            options=list(OPTIONS.values()),
            answer=OPTIONS[item["gold_label"]],
            shuffle=False,
        )
        yield where, fields
