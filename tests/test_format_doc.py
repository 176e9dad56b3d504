"""docs/format.md compares every string a model reads with the paper: it must quote the code's strings."""

import json
import re
from pathlib import Path

from data_builders.eval.hoc import HALLMARKS
from data_builders.eval.i2b2_2010 import ALL_OPTIONS
from data_builders.eval.ner import JNLPBA_TYPES, PICO_TYPES, SINGLE_TYPE
from data_builders.eval.nli import OPTIONS as MEDNLI_OPTIONS
from data_builders.eval.qa import BIOASQ_OPTIONS, PUBMEDQA_OPTIONS
from data_builders.eval.relations import CHEMPROT_OPTIONS, DDI_OPTIONS, GAD_OPTIONS
from data_builders.eval.sts import CRITERIA
from data_builders.instruct.registry import SOURCES
from mnlu import tasks
from mnlu.benchmarks import JNLPBA_UNTYPED_LABEL
from mnlu.tasks import make_record

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "format.md").read_text(encoding="utf-8")
QUOTED = set(re.findall(r"`([^`]+)`", DOC))


def test_every_instruction_is_quoted_verbatim():
    instructions = [value for name, value in vars(tasks).items() if name.endswith("_INSTRUCTION")]
    assert len(instructions) == 7
    for instruction in instructions:
        assert instruction in QUOTED, instruction


def test_every_evaluation_option_is_quoted_verbatim_in_its_dataset_row():
    label_sets = {
        "bc2gm": [SINGLE_TYPE["bc2gm"]],
        "bc5cdr_chem": [SINGLE_TYPE["bc5cdr_chem"]],
        "bc5cdr_disease": [SINGLE_TYPE["bc5cdr_disease"]],
        "ncbi_disease": [SINGLE_TYPE["ncbi_disease"]],
        "jnlpba": [*JNLPBA_TYPES.values(), JNLPBA_UNTYPED_LABEL],
        "ebm_pico": list(PICO_TYPES.values()),
        "hoc": HALLMARKS,
        "pubmedqa": PUBMEDQA_OPTIONS,
        "bioasq": BIOASQ_OPTIONS,
        "gad": list(GAD_OPTIONS.values()),
        "ddi": list(DDI_OPTIONS.values()),
        "chemprot": list(CHEMPROT_OPTIONS.values()),
        "i2b2_2010": list(ALL_OPTIONS.values()),
        "mednli": list(MEDNLI_OPTIONS.values()),
        "biosses": [text for _, text in CRITERIA],
    }
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in DOC.splitlines() if line.startswith("| ")}
    for dataset, options in label_sets.items():
        row = next(line for name, line in rows.items() if dataset in name.split(", "))
        quoted = re.findall(r"`([^`]+)`", row.split(" | ")[1])
        assert [o for o in quoted if o in options] == options, dataset  # every option, in the code's order


def test_the_generif_expansion_quoted_is_the_builders():
    assert SOURCES["nlm_gene"].labels["GENERIF"] in QUOTED


def test_record_examples_are_what_the_renderer_makes_of_the_demo_fixtures():
    shown = [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", DOC, re.S)]
    fixtures = json.loads((ROOT / "tests" / "fixtures" / "unified_format.json").read_text())
    assert shown == [make_record(f["task"], **f["fields"]) for f in fixtures]
