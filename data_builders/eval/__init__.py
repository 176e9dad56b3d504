"""The 15 evaluation datasets (BLURB and BLUE): release files -> records in the unified format.

A builder is a function `(folder, split) -> iterator of (where, fields)`: `where` names the
release file and line an instance came from, `fields` are the arguments of its task's record
function in `mnlu.tasks`. Builders raise `ReleaseError` for a malformed file and
`MissingRelease` when a split's files are absent; `python -m data_builders build` runs them
(`data_builders.eval.build`).
"""

from data_builders.eval import hoc, i2b2_2010, ner, nli, qa, relations, sts

# The 15 evaluation datasets of BLURB and BLUE, keyed like mnlu.benchmarks.EVAL_DATASETS.
EVAL_BUILDERS = {
    "bc2gm": ner.single_type_builder("bc2gm"),
    "bc5cdr_chem": ner.single_type_builder("bc5cdr_chem"),
    "bc5cdr_disease": ner.single_type_builder("bc5cdr_disease"),
    "ncbi_disease": ner.single_type_builder("ncbi_disease"),
    "jnlpba": ner.jnlpba,
    "ebm_pico": ner.ebm_pico,
    "hoc": hoc.hoc,
    "pubmedqa": qa.pubmedqa,
    "bioasq": qa.bioasq,
    "gad": relations.gad,
    "ddi": relations.ddi,
    "chemprot": relations.chemprot,
    "i2b2_2010": i2b2_2010.i2b2_2010,
    "mednli": nli.mednli,
    "biosses": sts.biosses,
}
# i2b2-2010's two constructions (data_builders build --i2b2-pairs); EVAL_BUILDERS holds BLUE's
I2B2_PAIRS = {"blue": i2b2_2010.i2b2_2010, "guideline": i2b2_2010.i2b2_2010_guideline}
