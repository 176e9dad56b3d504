"""The 15 evaluation datasets of BLURB and BLUE: task, headline metric and benchmark membership.

One table shared by the data builders (which dataset ids exist) and evaluate.py (how each is
scored and averaged). The order is the paper's Table 5.
"""

from typing import NamedTuple


class EvalDataset(NamedTuple):
    task: str  # the unified-format task its records use
    metric: str  # the benchmark's own headline metric
    blurb: bool  # counted in the BLURB average
    blue: bool  # counted in the BLUE average
    blurb_type: str  # BLURB task type, for BLURB's official task-macro score ("" outside BLURB)


# BLURB's own JNLPBA files are untyped (B/I): built from them, JNLPBA asks for this one type
# instead of the five GENIA types, and evaluate.py's report says so beside its score.
JNLPBA_UNTYPED_LABEL = "Biomedical entity"

# The releases a dataset's records can be built from, where there is more than one (the record's
# "version"): HoC, DDI and ChemProt are in BLURB and BLUE, and ChemProt's SciBERT files are a third.
RELEASES = {"blurb": "BLURB", "blue": "BLUE", "scibert": "SciBERT (related pairs only)"}

EVAL_DATASETS = {
    "bc2gm": EvalDataset("ner", "entity-level F1", True, False, "NER"),
    "bc5cdr_chem": EvalDataset("ner", "entity-level F1", True, True, "NER"),
    "bc5cdr_disease": EvalDataset("ner", "entity-level F1", True, True, "NER"),
    "ncbi_disease": EvalDataset("ner", "entity-level F1", True, False, "NER"),
    "jnlpba": EvalDataset("ner", "entity-level F1", True, False, "NER"),
    "ebm_pico": EvalDataset("ner", "token-level macro F1", True, False, "PICO"),
    "hoc": EvalDataset("dc", "micro F1", True, True, "DC"),
    "pubmedqa": EvalDataset("qa", "accuracy", True, False, "QA"),
    "bioasq": EvalDataset("qa", "accuracy", True, False, "QA"),
    "gad": EvalDataset("re", "micro F1", True, False, "RE"),
    "ddi": EvalDataset("re", "micro F1", True, True, "RE"),
    "chemprot": EvalDataset("re", "micro F1", True, True, "RE"),
    "i2b2_2010": EvalDataset("re", "micro F1", False, True, ""),
    "mednli": EvalDataset("nli", "accuracy", False, True, ""),
    "biosses": EvalDataset("sts", "Pearson", True, True, "STS"),
}
