"""Every MNLU-Instruct source, by name: the one list the builder, the mixer and the docs share."""

from data_builders.instruct import clinical, clinical_ie, documents, general, literature, summaries
from data_builders.instruct.source import DOMAINS
from mnlu.benchmarks import EVAL_DATASETS

SOURCES = {
    s.name: s for family in (literature, clinical, clinical_ie, general, documents, summaries) for s in family.SOURCES
}

# evaluation stays zero-shot: no evaluation dataset id may name an instruction-tuning source
assert not set(SOURCES) & set(EVAL_DATASETS), set(SOURCES) & set(EVAL_DATASETS)
assert all(s.domain in DOMAINS for s in SOURCES.values())
