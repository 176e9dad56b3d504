"""Relation extraction from BLURB's (or BLUE's) masked sentences: GAD, DDI-2013 and ChemProt.

DDI and ChemProt are in BLUE too, built by other scripts into other instances (the paper's
counts are BLUE's): the same `index<TAB>sentence<TAB>label` rows after a header line
(`data_builders.eval.versions`). BLUE writes a ChemProt pair with two relations as two rows with
one index; each becomes an instance, its id suffixed with its label.

BLURB replaces the two entities of a pair by placeholders (`@GENE$`, `@DISEASE$`, `@DRUG$`,
`@CHEMICAL$`; `@CHEM-GENE$`/`@DRUG-DRUG$` when the two overlap), so the entity text is gone.
Where another release keeps it, it is put back into the text and named in the question:
DDI pairs are looked up by pair id in the original DDI-2013 XML when it lies beside the BLURB
files, and the SciBERT ChemProt variant marks its entities in the text (`[[ chemical ]]`,
`<< gene >>`). Where only the placeholder remains, the question names the placeholder itself
(`the Gene entity '@GENE$'`), which is exactly what the text shows.

Relation labels become readable options (the raw label's meaning, from the dataset's
guideline); the no-relation class is passed as `negative`. Options are shuffled per pair
(deterministic per id): relation types are a nominal set, and a fixed order would put the
dominant no-relation option at the same letter in every prompt.
"""

import re
from collections import Counter
from pathlib import Path

from data_builders.eval.versions import VERSIONS, release_version
from data_builders.instruct.xmlfile import parse_xml
from data_builders.readers import (
    SPLIT_FILES,
    MissingRelease,
    find_release_file,
    label_excerpt,
    read_jsonl,
    read_tsv,
    require,
    split_file,
)

GAD_OPTIONS = {
    "1": "associated: the sentence relates the gene to the disease",
    "0": "not associated: the sentence does not relate the gene to the disease",
}
DDI_OPTIONS = {
    "DDI-mechanism": "mechanism: one drug changes the absorption, distribution, metabolism or excretion of the other",
    "DDI-effect": "effect: the text states an effect of taking the two drugs together",
    "DDI-advise": "advice: the text recommends or warns about taking the two drugs together",
    "DDI-int": "interaction: the text says the drugs interact, without further detail",
    "DDI-false": "none: the text states no interaction between the two drugs",
}
CHEMPROT_OPTIONS = {
    "CPR:3": "upregulation: the chemical activates or increases the activity or expression of the gene product",
    "CPR:4": "downregulation: the chemical inhibits or decreases the activity or expression of the gene product",
    "CPR:5": "agonist: the chemical is an agonist of the gene product",
    "CPR:6": "antagonist: the chemical is an antagonist of the gene product",
    "CPR:9": "substrate or product: the chemical is a substrate or a product of the gene product",
    "false": "none of these relations",
}
# The SciBERT variant keeps ChemProt's fine relation names; BLURB evaluates their CPR groups.
CPR_GROUP = {
    "UPREGULATOR": "CPR:3",
    "ACTIVATOR": "CPR:3",
    "INDIRECT-UPREGULATOR": "CPR:3",
    "DOWNREGULATOR": "CPR:4",
    "INHIBITOR": "CPR:4",
    "INDIRECT-DOWNREGULATOR": "CPR:4",
    "AGONIST": "CPR:5",
    "AGONIST-ACTIVATOR": "CPR:5",
    "AGONIST-INHIBITOR": "CPR:5",
    "ANTAGONIST": "CPR:6",
    "SUBSTRATE": "CPR:9",
    "PRODUCT-OF": "CPR:9",
    "SUBSTRATE_PRODUCT-OF": "CPR:9",
}
MASKED_FIELDS = ("index", "sentence", "label")
_PLACEHOLDER = re.compile(r"@[A-Z]+(?:-[A-Z]+)?\$")


def relation(dataset, split, pair_id, where, text, entities, label, options, negative, version=None):
    """(where, re_record fields) for one pair; `entities` are ((type, text), (type, text)); `version`
    names the release of a dataset in both benchmarks."""
    require(label in options, where, f"label {label_excerpt(label)} is not one of {', '.join(options)}")
    (type_1, span_1), (type_2, span_2) = entities
    fields = dict(
        id=f"{dataset}.{split}.{pair_id}",
        dataset=dataset,
        split=split,
        text=text.strip(),
        type_1=type_1,
        span_1=span_1,
        type_2=type_2,
        span_2=span_2,
        options=list(options.values()),
        answer=options[label],
        negative=options[negative],
        **({"version": version} if version else {}),
    )
    return where, fields


def gad(folder, split):
    """GAD (BLURB): `index<TAB>sentence<TAB>label`, label 1 for a gene-disease association."""
    path = split_file(folder, split)
    for lineno, row in read_tsv(path, MASKED_FIELDS, header=MASKED_FIELDS):
        entities = (("Gene", "@GENE$"), ("Disease", "@DISEASE$"))
        yield relation(
            "gad", split, row["index"], f"{path}:{lineno}", row["sentence"], entities, row["label"], GAD_OPTIONS, "0"
        )


def ddi(folder, split, version=None):
    """DDI-2013 (BLURB or BLUE `pair id<TAB>sentence<TAB>label`), unmasked from the DDI XML when present."""
    path = split_file(folder, split)
    version = release_version(path, version)
    originals = ddi_xml_pairs(folder)
    for lineno, row in read_tsv(path, MASKED_FIELDS, header=MASKED_FIELDS):
        where, text, entities = f"{path}:{lineno}", row["sentence"], (("Drug", "@DRUG$"), ("Drug", "@DRUG$"))
        if originals:
            pair = label_excerpt(row["index"])
            require(row["index"] in originals, where, f"pair {pair} is not in the DDI XML below {folder}")
            text, drug_1, drug_2 = originals[row["index"]]
            require(
                same_sentence(row["sentence"], text),
                where,
                f"pair {pair}: the sentence differs from the DDI XML's sentence of that pair",
            )
            entities = (("Drug", drug_1), ("Drug", drug_2))
        yield relation(
            "ddi", split, row["index"], where, text, entities, row["label"], DDI_OPTIONS, "DDI-false", version
        )


def ddi_xml_pairs(folder):
    """{pair id: (sentence text, drug 1 text, drug 2 text)} from every DDI-2013 XML file below `folder`."""
    pairs = {}
    for path in sorted(Path(folder).rglob("*.xml")):
        root, line_of = parse_xml(path)
        for sentence in root.iter("sentence"):
            names = {e.get("id"): e.get("text") for e in sentence.iter("entity")}
            for pair in sentence.iter("pair"):
                require(
                    pair.get("e1") in names and pair.get("e2") in names,
                    f"{path}:{line_of[pair]}",
                    f"pair {label_excerpt(pair.get('id'))} names an entity its sentence does not have",
                )
                text = " ".join(sentence.get("text", "").split())  # the XML keeps CRLF between sentences
                pairs[pair.get("id")] = (text, names[pair.get("e1")], names[pair.get("e2")])
    return pairs


def same_sentence(masked, text):
    """Whether the unmasked pieces of a BLURB sentence occur in `text`, in order.

    Only letters and digits are compared: BLURB's preprocessing rewrote some spacing and
    punctuation (a line break inside a title became `;`).
    """
    text, position = _letters_and_digits(text), 0
    for piece in map(_letters_and_digits, _PLACEHOLDER.split(masked)):
        found = text.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def _letters_and_digits(s):
    return "".join(c for c in s.casefold() if c.isalnum())


def chemprot(folder, split, version=None):
    """ChemProt: BLURB's or BLUE's masked tsv where present, else the SciBERT jsonl with marked entities.

    The SciBERT files hold only related pairs (no `false` class), and name the fine relation
    types, mapped here to the five CPR groups BLURB evaluates; they are read only when no
    version is asked for.
    """
    path = find_release_file(folder, *SPLIT_FILES[split])
    if path is not None:
        yield from chemprot_masked(path, split, release_version(path, version))
        return
    if version is not None:
        raise MissingRelease(f"no {' or '.join(SPLIT_FILES[split])} ({VERSIONS[version]}) below {folder}")
    path = find_release_file(folder, f"{split}.txt")
    if path is None:
        raise MissingRelease(
            f"no {' or '.join(SPLIT_FILES[split])} (BLURB, BLUE) or {split}.txt (SciBERT) below {folder}"
        )
    yield from chemprot_scibert(path, split)


def chemprot_masked(path, split, version):
    rows = list(read_tsv(path, MASKED_FIELDS, header=MASKED_FIELDS))
    rows_of_pair = Counter(row["index"] for _, row in rows)
    for lineno, row in rows:
        if "@CHEM-GENE$" in row["sentence"]:
            entities = (("Chemical", "@CHEM-GENE$"), ("Gene", "@CHEM-GENE$"))
        else:
            entities = (("Chemical", "@CHEMICAL$"), ("Gene", "@GENE$"))
        pair_id = row["index"] + (f".{row['label']}" if rows_of_pair[row["index"]] > 1 else "")
        yield relation(
            "chemprot",
            split,
            pair_id,
            f"{path}:{lineno}",
            row["sentence"],
            entities,
            row["label"],
            CHEMPROT_OPTIONS,
            "false",
            version,
        )


_CHEMICAL_MARK = re.compile(r"\[\[ (.+?) \]\]")
_GENE_MARK = re.compile(r"<< (.+?) >>")


def chemprot_scibert(path, split):
    """SciBERT's `{"text", "label"}` lines; the pair id is the line number (the file has no ids)."""
    for lineno, item in read_jsonl(path):
        where = f"{path}:{lineno}"
        text, label = item.get("text"), item.get("label")
        require(isinstance(text, str) and text.strip(), where, "needs a non-empty string text")
        require(
            isinstance(label, str) and label in CPR_GROUP,
            where,
            f"label {label_excerpt(label)} is not a ChemProt relation ({', '.join(CPR_GROUP)})",
        )
        chemicals, genes = _CHEMICAL_MARK.findall(text), _GENE_MARK.findall(text)
        require(
            len(chemicals) == 1 and len(genes) == 1,
            where,
            f"expected one '[[ chemical ]]' and one '<< gene >>' mark, found {len(chemicals)} and {len(genes)}",
        )
        text = _GENE_MARK.sub(r"\1", _CHEMICAL_MARK.sub(r"\1", text))
        entities = (("Chemical", chemicals[0]), ("Gene", _CHEMICAL_MARK.sub(r"\1", genes[0])))
        yield relation(
            "chemprot",
            split,
            f"line{lineno}",
            where,
            text,
            entities,
            CPR_GROUP[label],
            CHEMPROT_OPTIONS,
            "false",
            "scibert",
        )
