"""Sources from the biomedical literature: PubTator, BioC, DrugProt TSV, IOB, JSON and
sentence-labelled releases.

NER sources give one record per abstract (per sentence for the IOB corpora, whose releases are
sentence-split); relation sources give one record per entity pair.
"""

import itertools
from collections import defaultdict

from data_builders.instruct.bioc import Annotation, read_bioc
from data_builders.instruct.instances import negative_pairs, relation_instance, span_instance
from data_builders.instruct.pubtator import read_pubtator
from data_builders.instruct.source import Source, fail
from data_builders.instruct.tables import tab_lines
from data_builders.readers import (
    bio_spans,
    is_count,
    label_excerpt,
    open_release,
    read_conll,
    read_exact_text,
    read_jsonl,
    read_lines,
    sentence_bounds,
)
from mnlu.cli import excerpt


def _spans(mentions, types):
    """Mentions of the declared `types` as record spans."""
    return [{"label": m.type, "text": m.text, "start": m.start, "end": m.end} for m in mentions if m.type in types]


def _check_types(path, doc_id, mentions, types):
    for m in mentions:
        if m.type not in types:
            fail(
                path,
                f"document {excerpt(doc_id)}",
                f"undeclared entity type {label_excerpt(m.type)} (declared: {', '.join(types)})",
            )


# ---------------------------------------------------------------------------------------------
# PubTator: tmVar, BioRED (entities and relations)


def build_pubtator_ner(source, paths):
    """One NER record per abstract, asking for every declared entity type."""
    types = source.labels
    for path in paths:
        for doc in read_pubtator(path):
            _check_types(path, doc.pmid, doc.mentions, types)
            yield span_instance(source, doc.pmid, doc.text, types, _spans(doc.mentions, types))


BIORED_ENTITIES = {
    "GeneOrGeneProduct": "gene or gene product",
    "DiseaseOrPhenotypicFeature": "disease or phenotypic feature",
    "ChemicalEntity": "chemical",
    "SequenceVariant": "sequence variant",
    "OrganismTaxon": "organism",
    "CellLine": "cell line",
}
BIORED_RELATIONS = {
    "Association": "association",
    "Positive_Correlation": "positive correlation",
    "Negative_Correlation": "negative correlation",
    "Bind": "binding",
    "Cotreatment": "cotreatment",
    "Comparison": "comparison",
    "Drug_Interaction": "drug interaction",
    "Conversion": "conversion",
    "None": "no relation",
}
# organisms and cell lines take part in no BioRED relation, so they make no negative pairs
BIORED_RELATED_TYPES = ("GeneOrGeneProduct", "DiseaseOrPhenotypicFeature", "ChemicalEntity", "SequenceVariant")


def build_biored(source, paths):
    """Abstract-level NER, and RE between normalised entities (first mention names each)."""
    for path in paths:
        for doc in read_pubtator(path):
            _check_types(path, doc.pmid, doc.mentions, BIORED_ENTITIES)
            yield span_instance(
                source, f"{doc.pmid}-ner", doc.text, BIORED_ENTITIES, _spans(doc.mentions, BIORED_ENTITIES)
            )
            yield from _biored_relations(source, path, doc)


def _biored_relations(source, path, doc):
    first = {}  # identifier -> (type, text) of its first mention
    for m in sorted(doc.mentions):
        for identifier in m.ids:
            first.setdefault(identifier, (m.type, m.text))
    related = {}
    for type_, id_1, id_2, lineno in doc.relations:
        if type_ not in BIORED_RELATIONS or id_1 not in first or id_2 not in first:
            fail(
                path,
                lineno,
                f"relation {label_excerpt(type_)} names an undeclared type or an identifier with no mention",
            )
        related[(id_1, id_2)] = type_
    entities = [i for i, (t, _) in first.items() if t in BIORED_RELATED_TYPES and i not in ("", "-")]
    negatives = negative_pairs(doc.pmid, list(itertools.combinations(entities, 2)), related, len(related))
    pairs = list(related.items()) + [(pair, "None") for pair in negatives]
    for k, ((id_1, id_2), answer) in enumerate(pairs):
        yield relation_instance(
            source, f"{doc.pmid}-re{k}", doc.text, first[id_1], first[id_2], BIORED_RELATIONS, answer, "None"
        )


# ---------------------------------------------------------------------------------------------
# BioC XML: DrugProt (as re-shared in BioC), GNormPlus, NLM-Gene


def build_bioc_ner(source, paths):
    """One NER record per BioC document, asking for every declared entity type."""
    for path in paths:
        for doc in read_bioc(path):
            yield _bioc_document_ner(source, path, doc)


def _bioc_document_ner(source, path, doc):
    types = source.labels
    mentions = [a for u in doc.passages for a in u.annotations]
    _check_types(path, doc.id, mentions, types)
    return span_instance(source, doc.id, doc.text, types, _spans(mentions, types))


def build_nlm_gene(source, paths):
    """`Pmidlist.Train.txt` names the train PMIDs; each is `FINAL/<pmid>.BioC.XML` beside it."""
    for path in paths:
        for lineno, line in enumerate(read_lines(path), 1):
            pmid = line.strip()
            if not pmid:
                continue
            if not is_count(pmid):
                fail(path, lineno, "expected one PMID (a number) per line")
            doc_path = path.parent / "FINAL" / f"{pmid}.BioC.XML"
            if not doc_path.exists():
                fail(path, lineno, f"no {doc_path.name} in {doc_path.parent}")
            for doc in read_bioc(doc_path):
                yield _bioc_document_ner(source, doc_path, doc)


DRUGPROT_ENTITIES = {"CHEMICAL": "chemical", "GENE-Y": "gene (normalisable)", "GENE-N": "gene (not normalisable)"}
DRUGPROT_RELATIONS = {
    "ACTIVATOR": "activator",
    "AGONIST": "agonist",
    "AGONIST-ACTIVATOR": "agonist and activator",
    "AGONIST-INHIBITOR": "agonist and inhibitor",
    "ANTAGONIST": "antagonist",
    "DIRECT-REGULATOR": "direct regulator",
    "INDIRECT-DOWNREGULATOR": "indirect downregulator",
    "INDIRECT-UPREGULATOR": "indirect upregulator",
    "INHIBITOR": "inhibitor",
    "PART-OF": "part of",
    "PRODUCT-OF": "product of",
    "SUBSTRATE": "substrate",
    "SUBSTRATE_PRODUCT-OF": "substrate and product of",
    "NONE": "no relation",
}


def build_drugprot(source, paths):
    """DrugProt from the official TSV triple or from its BioC XML re-release (by file name)."""
    for path in paths:
        docs = _drugprot_tsv(path) if path.name.endswith("abstracs.tsv") else _drugprot_bioc(path)
        for doc_id, text, mentions, sentences, related in docs:
            _check_types(path, doc_id, mentions, DRUGPROT_ENTITIES)
            yield span_instance(source, f"{doc_id}-ner", text, DRUGPROT_ENTITIES, _spans(mentions, DRUGPROT_ENTITIES))
            yield from _drugprot_pairs(source, doc_id, text, mentions, sentences, related)


def _drugprot_pairs(source, doc_id, text, mentions, sentences, related):
    """Every chemical-gene pair inside one sentence: its relation, or NONE."""
    k = 0
    for start, end in sentences:
        inside = [m for m in mentions if start <= m.start and m.end <= end]
        chemicals = [m for m in inside if m.type == "CHEMICAL"]
        genes = [m for m in inside if m.type != "CHEMICAL"]
        for chemical, gene in itertools.product(chemicals, genes):
            answer = related.get((chemical.id, gene.id), "NONE")
            yield relation_instance(
                source,
                f"{doc_id}-re{k}",
                text[start:end],
                (chemical.type, chemical.text),
                (gene.type, gene.text),
                DRUGPROT_RELATIONS,
                answer,
                "NONE",
            )
            k += 1


def _drugprot_bioc(path):
    for doc in read_bioc(path):
        units = doc.sentences or doc.passages
        mentions = [a for u in units for a in u.annotations]
        related = {(r[1], r[2]): r[0] for u in units for r in u.relations}
        yield doc.id, doc.text, mentions, [(u.offset, u.offset + len(u.text)) for u in units], related


def _drugprot_tsv(path):
    """`*_abstracs.tsv` (PMID, title, abstract) with its `*_entities.tsv` and `*_relations.tsv`."""
    stem = path.name[: -len("abstracs.tsv")]
    entities, relations = defaultdict(list), defaultdict(dict)
    for lineno, fields in _tsv(path.with_name(stem + "entities.tsv"), 6):
        pmid, tid, type_, start, end, mention = fields
        entities[pmid].append((lineno, Annotation(tid, type_, int(start), int(end), mention)))
    for lineno, fields in _tsv(path.with_name(stem + "relations.tsv"), 4):
        pmid, label, arg_1, arg_2 = fields
        if label not in DRUGPROT_RELATIONS:
            fail(path.with_name(stem + "relations.tsv"), lineno, f"undeclared relation {label_excerpt(label)}")
        relations[pmid][(arg_1.removeprefix("Arg1:"), arg_2.removeprefix("Arg2:"))] = label
    for _, (pmid, title, abstract) in _tsv(path, 3):
        text = f"{title}\t{abstract}"
        for entity_line, m in entities[pmid]:
            if text[m.start : m.end] != m.text:
                fail(
                    path.with_name(stem + "entities.tsv"),
                    entity_line,
                    f"entity {excerpt(m.id)} does not match the abstract text",
                )
        mentions = [m for _, m in entities[pmid]]
        yield pmid, text, mentions, sentence_bounds(text), relations[pmid]


def _tsv(path, n_fields):
    for lineno, fields in tab_lines(path):
        if len(fields) != n_fields or (n_fields == 6 and not (is_count(fields[3]) and is_count(fields[4]))):
            fail(path, lineno, f"expected {n_fields} tab-separated fields" + (" with offsets" if n_fields == 6 else ""))
        yield lineno, fields


# ---------------------------------------------------------------------------------------------
# EU-ADR (BioBERT relation TSV, entities masked as @GENE$ / @DISEASE$)


def build_euadr(source, paths):
    """The whole corpus (fold 1 train + test = every sentence once): gene-disease association."""
    for path in paths:
        for lineno, fields in tab_lines(path):
            if fields == ["index", "sentence", "label"]:
                continue
            sentence, label = fields[-2:] if len(fields) in (2, 3) else ("", None)
            if label not in ("0", "1") or "@GENE$" not in sentence or "@DISEASE$" not in sentence:
                fail(path, lineno, "expected `[index<TAB>]sentence<TAB>0|1` with @GENE$ and @DISEASE$")
            yield relation_instance(
                source,
                f"{path.parent.name}-{path.stem}-{lineno}",
                sentence,
                ("gene", "@GENE$"),
                ("disease", "@DISEASE$"),
                ("1", "0"),
                label,
                "0",
            )


# ---------------------------------------------------------------------------------------------
# IOB token files: LINNAEUS, BC4CHEMD


def build_iob_ner(source, paths):
    """One NER record per sentence of an IOB file (the shared CoNLL reader, conlleval's IOB rules)."""
    for path in paths:
        for sentence in read_conll(path):
            text, spans = bio_spans(sentence.tokens, sentence.tags)
            for span in spans:
                if span["type"] not in source.labels:
                    fail(path, sentence.lines[0], f"undeclared entity type {label_excerpt(span['type'])}")
            spans = [{"label": s["type"], "text": s["text"], "start": s["start"], "end": s["end"]} for s in spans]
            yield span_instance(source, f"{path.stem}-{sentence.lines[0]}", text, source.labels, spans)


# ---------------------------------------------------------------------------------------------
# JSON releases: GENIA (nested NER, Yu et al. 2020 jsonlines), PICO-data (Nguyen et al. 2017)


def build_genia(source, paths):
    """One NER record per sentence; `ner` spans are inclusive token indices over the document."""
    for path in paths:
        for lineno, doc in read_jsonl(path):
            sentences, ner = doc.get("sentences"), doc.get("ner")
            if (
                not isinstance(doc.get("doc_key"), str)
                or not isinstance(sentences, list)
                or not isinstance(ner, list)
                or len(ner) != len(sentences)
                or not all(isinstance(n, list) for n in ner)
                or not all(isinstance(t, list) and t and all(isinstance(x, str) for x in t) for t in sentences)
            ):
                fail(
                    path, lineno, "expected a doc_key, sentences (lists of token strings) and one ner list per sentence"
                )
            offset = 0
            for k, (tokens, entities) in enumerate(zip(sentences, ner)):
                text, starts = " ".join(tokens), _token_starts(tokens)
                spans = []
                for entity in entities:
                    first, last, label = entity if isinstance(entity, list) and len(entity) == 3 else (None,) * 3
                    if not (
                        _is_int(first)
                        and _is_int(last)
                        and 0 <= first - offset <= last - offset < len(tokens)
                        and isinstance(label, str)
                        and label in source.labels
                    ):
                        fail(
                            path,
                            lineno,
                            f"sentence {k}: entity {excerpt(entity)} is not [first, last, type] "
                            "inside it with a declared type",
                        )
                    i, j = first - offset, last - offset
                    spans.append(
                        {
                            "label": label,
                            "text": text[starts[i] : starts[j] + len(tokens[j])],
                            "start": starts[i],
                            "end": starts[j] + len(tokens[j]),
                        }
                    )
                offset += len(tokens)
                yield span_instance(source, f"{doc['doc_key']}-{k}", text, source.labels, spans)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _token_starts(tokens):
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    return starts


def build_pico_data(source, paths):
    """Participants spans of the crowd aggregation (HMMCrowd) over the abstract in docs/<id>.txt."""
    for path in paths:
        docs_dir = path.parents[2] / "docs"
        for lineno, annotation in read_jsonl(path):
            docid = annotation.get("docid")
            if not isinstance(docid, str) or not docid.strip() or "/" in docid:
                fail(path, lineno, "expected a docid (the name of an abstract in docs/)")
            doc_path = docs_dir / f"{docid}.txt"
            if not doc_path.is_file():
                fail(path, lineno, f"no abstract {excerpt(docid)}.txt in {docs_dir}")
            text = read_exact_text(doc_path)
            participants = annotation.get("Participants")
            ranges = participants.get("HMMCrowd") if isinstance(participants, dict) else None
            if not isinstance(ranges, list) or not all(
                isinstance(r, list)
                and len(r) == 2
                and _is_int(r[0])
                and _is_int(r[1])
                and 0 <= r[0] < r[1] <= len(text)
                for r in ranges
            ):
                fail(
                    path,
                    lineno,
                    "missing HMMCrowd Participants spans, or a span that is not [start, end] in the abstract",
                )
            spans = [{"label": "Participants", "text": text[s:e], "start": s, "end": e} for s, e in ranges]
            yield span_instance(source, annotation["docid"], text, source.labels, spans)


# ---------------------------------------------------------------------------------------------
# Sentence-labelled abstracts: PubMed PICO (Jin & Szolovits, 2018)

# the sentence labels the paper maps from the section headings of structured abstracts; only the
# PICO elements are asked for, so a record extracts the sentences of an abstract that describe
# its participants, intervention(s) and outcome(s), and the other labels stay unasked
PUBMED_PICO_LABELS = {
    "P": "participants (population or problem)",
    "I": "intervention",
    "O": "outcome",
    "A": "aim",
    "M": "method",
    "R": "results",
    "C": "conclusion",
}
PUBMED_PICO_ELEMENTS = ("P", "I", "O")


def build_pubmed_pico(source, paths):
    """One span record per abstract: its sentences joined by spaces, the P, I and O sentences as spans."""
    for path in paths:
        for pmid, sentences in _pico_abstracts(path):
            text, spans = "", []
            for label, sentence in sentences:
                start = len(text) + (1 if text else 0)
                text = f"{text} {sentence}" if text else sentence
                if label in PUBMED_PICO_ELEMENTS:
                    spans.append({"label": label, "text": sentence, "start": start, "end": len(text)})
            yield span_instance(source, pmid, text, PUBMED_PICO_ELEMENTS, spans)


def _pico_abstracts(path):
    """(pmid, [(label, sentence)]) of `###<pmid>` blocks of `heading|label|sentence` lines."""
    pmid, sentences = None, []
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if line.startswith("###"):
                if pmid is not None and sentences:
                    yield pmid, sentences
                pmid, sentences = line[3:].strip(), []
            elif line:
                fields = line.split("|", 2)
                if pmid is None or len(fields) != 3 or not fields[2].strip():
                    fail(path, lineno, "expected `heading|label|sentence` after a `###<PMID>` line")
                if fields[1] not in PUBMED_PICO_LABELS:
                    fail(
                        path,
                        lineno,
                        f"undeclared sentence label {label_excerpt(fields[1])} "
                        f"(declared: {', '.join(PUBMED_PICO_LABELS)})",
                    )
                sentences.append((fields[1], " ".join(fields[2].split())))
    if pmid is not None and sentences:
        yield pmid, sentences


SOURCES = [
    Source(
        "tmvar",
        "tmVar (Wei et al., 2013)",
        ("ner",),
        "biomedical",
        "PubTator",
        ("tmVar/*/corpora/original/tmVar/train.PubTator.txt",),
        {
            "DNAMutation": "DNA mutation",
            "ProteinMutation": "protein mutation",
            "SNP": "single nucleotide polymorphism (SNP)",
        },
        build_pubtator_ner,
    ),
    Source(
        "biored",
        "BioRED (Luo et al., 2022)",
        ("ner", "re"),
        "biomedical",
        "PubTator",
        ("BioRED/*/*/data/BioRED/Train.PubTator",),
        {**BIORED_ENTITIES, **BIORED_RELATIONS},
        build_biored,
    ),
    Source(
        "drugprot",
        "DrugProt (Miranda et al., 2021)",
        ("ner", "re"),
        "biomedical",
        "DrugProt TSV / BioC XML",
        ("DrugProt/*/training/drugprot_training_abstracs.tsv", "DrugProt/*/data/drugprot_two_dev/train.bioc.xml"),
        {**DRUGPROT_ENTITIES, **DRUGPROT_RELATIONS},
        build_drugprot,
    ),
    Source(
        "euadr",
        "EU-ADR (van Mulligen et al., 2012)",
        ("re",),
        "biomedical",
        "BioBERT RE TSV",
        ("EU-ADR/*/datasets/RE/euadr/1/train.tsv", "EU-ADR/*/datasets/RE/euadr/1/test.tsv"),
        {"1": "the gene is associated with the disease", "0": "no association", "gene": "gene", "disease": "disease"},
        build_euadr,
    ),
    Source(
        "gnormplus",
        "GNormPlus / BioCreative II GN (Wei et al., 2015)",
        ("ner",),
        "biomedical",
        "BioC XML",
        ("GNormPlus/*/BC2GNtrain.BioC.xml", "GNormPlus/*/NLMIAT.BioC.xml"),
        {"Gene": "gene", "FamilyName": "gene family", "DomainMotif": "protein domain or motif"},
        build_bioc_ner,
    ),
    Source(
        "nlm_gene",
        "NLM-Gene (Islamaj et al., 2021)",
        ("ner",),
        "biomedical",
        "BioC XML",
        ("NLM-Gene/*/Corpus/Pmidlist.Train.txt",),
        {
            "Gene": "gene",
            "GENERIF": "gene reference into a function (GeneRIF)",
            "STARGENE": "gene (focus of the article)",
            "Domain": "protein domain",
            "Other": "other gene-related mention",
        },
        build_nlm_gene,
    ),
    Source(
        "linnaeus",
        "LINNAEUS (Gerner et al., 2010)",
        ("ner",),
        "biomedical",
        "CoNLL/IOB",
        ("LINNAEUS/*/linnaeus-IOB/train.tsv",),
        {"Species": "species"},
        build_iob_ner,
    ),
    Source(
        "bc4chemd",
        "BC4CHEMD / CHEMDNER (Krallinger et al., 2015)",
        ("ner",),
        "biomedical",
        "CoNLL/IOB",
        ("BC4CHEMD/*/BC4CHEMD-IOB/train.tsv",),
        {"Chemical": "chemical"},
        build_iob_ner,
    ),
    Source(
        "genia",
        "GENIA nested NER (Kim et al., 2003; Yu et al., 2020 split)",
        ("ner",),
        "biomedical",
        "JSON lines",
        ("GENIA/*/genia/train.json",),
        {"DNA": "DNA", "RNA": "RNA", "protein": "protein", "cell_line": "cell line", "cell_type": "cell type"},
        build_genia,
    ),
    Source(
        "pico_data",
        "PICO-data crowd annotations (Nguyen et al., 2017)",
        ("ner",),
        "biomedical",
        "JSON lines + text",
        ("EBM-NLP-PICO/*/annotations/train/PICO-annos-crowdsourcing-agg.json",),
        {"Participants": "participants (population)"},
        build_pico_data,
    ),
    Source(
        "pubmed_pico",
        "PubMed PICO element detection (Jin & Szolovits, 2018)",
        ("ner",),
        "biomedical",
        "`###PMID` + `heading|label|sentence` lines",
        ("PubMed-PICO/*/**/splitted/*train*.txt",),
        PUBMED_PICO_LABELS,
        build_pubmed_pico,
    ),
]
