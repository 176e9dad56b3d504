"""Question answering: PubMedQA (PQA-L, official repo files) and BioASQ yes/no (BLURB release).

The question is the instruction and the abstract the text. Options keep their conventional
order in every record (PubMedQA: yes, maybe, no, as the paper lists them): an ordered,
familiar answer set, not shuffled.
"""

import math
import random

from data_builders.readers import (
    MissingRelease,
    find_release_file,
    is_count,
    label_excerpt,
    read_json,
    read_tsv,
    require,
    split_file,
)

PUBMEDQA_OPTIONS = ["yes", "maybe", "no"]  # the paper's order, as the questions show them
SPLIT_ORDER = ["yes", "no", "maybe"]  # the order in which the official split script groups the answers
BIOASQ_OPTIONS = ["yes", "no"]


def pubmedqa(folder, split):
    """PQA-L from `ori_pqal.json`: test = the PMIDs of `test_ground_truth.json`, dev/train = fold 0.

    BLURB trains on fold 0 of the official 10-fold split of the other 500 questions (450 train,
    50 dev); `official_split` recomputes it, and checks that it gives back the released test set.
    The test gold is read from `test_ground_truth.json`, the answer key the authors publish.
    """
    path = find_release_file(folder, "ori_pqal.json")
    truth_path = find_release_file(folder, "test_ground_truth.json")
    if path is None or truth_path is None:
        raise MissingRelease(f"no ori_pqal.json and test_ground_truth.json below {folder}")
    questions, truth = read_json(path), read_json(truth_path)
    require(isinstance(questions, dict) and questions, path, "expected a JSON object of questions keyed by PMID")
    require(isinstance(truth, dict) and truth, truth_path, "expected a JSON object of answers keyed by PMID")
    for pmid, answer in truth.items():
        where = f"{truth_path}: PMID {label_excerpt(pmid)}"
        require(answer in PUBMEDQA_OPTIONS, where, f"answer {label_excerpt(answer)} is not yes, no or maybe")
        require(pmid in questions, where, f"not a PMID of {path.name}")
    for pmid, item in questions.items():
        where = f"{path}: PMID {label_excerpt(pmid)}"
        require(is_count(pmid), where, "the keys must be PMIDs (numbers)")
        check_question(item, where)
    splits = official_split(questions, path)
    require(
        set(splits["test"]) == set(truth),
        truth_path,
        f"its PMIDs are not the official test split of {path.name} (is this the released file?)",
    )
    for pmid in splits[split]:
        item = questions[pmid]
        answer = truth[pmid] if split == "test" else item["final_decision"]
        fields = dict(
            id=f"pubmedqa.{split}.{pmid}",
            dataset="pubmedqa",
            split=split,
            question=item["QUESTION"].strip(),
            text=contexts(item),
            options=PUBMEDQA_OPTIONS,
            answer=answer,
            shuffle=False,
        )
        yield f"{path}: PMID {pmid}", fields


def check_question(item, where):
    """Every field a PubMedQA question is built from, with its JSON type: a wrong one is named, not a crash."""
    require(isinstance(item, dict), where, "expected an object with QUESTION, CONTEXTS, LABELS and final_decision")
    require(
        isinstance(item.get("QUESTION"), str) and item["QUESTION"].strip(), where, "QUESTION must be a non-empty string"
    )
    paragraphs, labels = item.get("CONTEXTS"), item.get("LABELS")
    require(
        isinstance(paragraphs, list) and paragraphs and all(isinstance(p, str) and p.strip() for p in paragraphs),
        where,
        "CONTEXTS must be a non-empty list of non-empty strings",
    )
    require(
        isinstance(labels, list) and all(isinstance(x, str) for x in labels) and len(labels) == len(paragraphs),
        where,
        "LABELS must be a list of strings, one section label per CONTEXTS paragraph",
    )
    require(
        item.get("final_decision") in PUBMEDQA_OPTIONS,
        where,
        f"final_decision {label_excerpt(item.get('final_decision'))} is not yes, no or maybe",
    )


def contexts(item):
    """The abstract without its conclusion: each context paragraph after its section label."""
    return "\n".join(f"{label}: {text.strip()}" for label, text in zip(item["LABELS"], item["CONTEXTS"]))


def official_split(questions, where):
    """{"train", "dev", "test"} PMIDs as the PubMedQA repo's `split_dataset.py pqal` makes them.

    Its algorithm, restated: seed Python's `random` with 0; split the 1000 questions in two,
    stratified by answer (shuffle each answer's PMIDs, cut into equal parts), the second half
    being test; then split the first half the same way into ten folds. Fold 0 is dev.
    """
    rng = random.Random(0)
    cv, test = stratified_folds(questions, 2, rng, where)
    folds = stratified_folds(cv, 10, rng, where)
    return {"train": [p for fold in folds[1:] for p in fold], "dev": list(folds[0]), "test": list(test)}


def stratified_folds(questions, n, rng, where):
    by_answer = {answer: [] for answer in SPLIT_ORDER}
    for pmid in questions:
        by_answer[questions[pmid]["final_decision"]].append(pmid)
    parts = {}
    for answer, pmids in by_answer.items():
        rng.shuffle(pmids)
        size = math.ceil(len(pmids) / n)
        parts[answer] = [pmids[i * size : (i + 1) * size] if i < n - 1 else pmids[i * size :] for i in range(n)]
    folds = [{p: questions[p] for answer in by_answer for p in parts[answer][i]} for i in range(n)]
    require(all(folds), where, f"{len(questions)} questions are too few for {n} folds (PQA-L has 1000)")
    if len(folds[-1]) != len(folds[0]):  # uneven: move one random PMID from each fold to the last
        for fold in folds[:-1]:
            pmid = rng.choice(list(fold))
            folds[-1][pmid] = fold.pop(pmid)
    return folds


def bioasq(folder, split):
    """BioASQ task 7b yes/no, BLURB's `question_id<TAB>question<TAB>snippets<TAB>label` rows."""
    path = split_file(folder, split)
    for lineno, row in read_tsv(path, ("id", "question", "context", "label")):
        where = f"{path}:{lineno}"
        require(row["label"] in BIOASQ_OPTIONS, where, f"label {label_excerpt(row['label'])} is not yes or no")
        fields = dict(
            id=f"bioasq.{split}.{row['id']}",
            dataset="bioasq",
            split=split,
            question=row["question"].strip(),
            text=row["context"].strip(),
            options=BIOASQ_OPTIONS,
            answer=row["label"],
            shuffle=False,
        )
        yield where, fields
