"""ClinicalIE (Agrawal et al., 2022): CASI clinical snippets re-annotated for medication status and
medication attributes, released as the gated Hugging Face dataset `mitclinicalml/clinical-ie`.

The release has only validation (5 snippets) and test (100) splits, so the whole corpus is read,
as the BioMistral-NLU mixer did. Both configurations become span extraction over a snippet:
medication status as medications labelled by their status, medication attributes as medications
and their dosage, route, frequency, duration and reason.
"""

import ast
import json
import re

from data_builders.instruct.instances import span_instance
from data_builders.instruct.source import Source, fail
from data_builders.instruct.tables import csv_columns
from mnlu.parse import locate_spans

STATUS_COLUMNS = {
    "active_medications": "active",
    "discontinued_medications": "discontinued",
    "neither_medications": "neither",
}
STATUS_LABELS = {
    "active": "active medication",
    "discontinued": "discontinued medication",
    "neither": "medication neither active nor discontinued",
}
ATTRIBUTE_LABELS = {
    "Medication": "medication",
    "Dosage": "dosage",
    "Route": "route",
    "Frequency": "frequency",
    "Duration": "duration",
    "Reason": "reason",
}
ATTRIBUTE = re.compile(r"(Medication|Dosage|Route|Frequency|Duration|Reason)(\d+)")  # the digits group a medication


def build_clinical_ie(source, paths):
    """`medication_status/<split>.csv` and `medication_attr/<split>.csv`, by their folder."""
    for path in paths:
        read = {"medication_status": _status, "medication_attr": _attributes}.get(path.parent.name)
        if read is None:
            fail(path, 1, "expected the file in a medication_status or medication_attr folder")
        for lineno, snippet, labels, spans in read(path):
            yield span_instance(source, f"{path.parent.name}-{path.stem}-{lineno}", snippet, labels, spans)


def _status(path):
    """Medication names listed per status (JSON lists of strings), located in the snippet."""
    for lineno, row in csv_columns(path, ("snippet", *STATUS_COLUMNS)):
        snippet, spans = row["snippet"], []
        for column, status in STATUS_COLUMNS.items():
            names = _json_list(path, lineno, row[column], column)
            for k, found in enumerate(locate_spans(snippet, names)):
                if found is None:
                    fail(path, lineno, f"{column}[{k}] does not occur in the snippet")
                spans.append(
                    {"label": status, "text": snippet[found[0] : found[1]], "start": found[0], "end": found[1]}
                )
        yield lineno, snippet, list(STATUS_LABELS), spans


def _json_list(path, lineno, value, column):
    try:
        names = json.loads(value)
    except (ValueError, RecursionError):  # not JSON; an integer past 4,300 digits; nesting past the recursion limit
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        fail(path, lineno, f"{column} is not a JSON list of medication names")
    return names


def _attributes(path):
    """`annotations`: a Python-literal list of [start, end, "<Type><k>"], `end` inclusive (the
    offset of the span's last character); an end on white space means the offsets are not that."""
    for lineno, row in csv_columns(path, ("snippet", "annotations")):
        snippet = row["snippet"]
        try:
            annotations = ast.literal_eval(row["annotations"])
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):  # what the ast docs say it raises
            annotations = None
        if not isinstance(annotations, list):
            fail(path, lineno, "annotations is not a list literal")
        spans = [_attribute_span(path, lineno, k, snippet, a) for k, a in enumerate(annotations)]
        yield lineno, snippet, list(ATTRIBUTE_LABELS), spans


def _attribute_span(path, lineno, k, snippet, annotation):
    start, end, label = annotation if isinstance(annotation, (list, tuple)) and len(annotation) == 3 else (None,) * 3
    match = ATTRIBUTE.fullmatch(label) if isinstance(label, str) else None
    if (
        match is None
        or type(start) is not int
        or type(end) is not int  # noqa: E721 (a bool is no offset)
        or not 0 <= start <= end < len(snippet)
        or snippet[start].isspace()
        or snippet[end].isspace()
    ):
        fail(
            path,
            lineno,
            f"annotation {k} is not [start, inclusive end, '<Type><k>'] inside the snippet "
            f"with Type one of {', '.join(ATTRIBUTE_LABELS)}",
        )
    return {"label": match[1], "text": snippet[start : end + 1], "start": start, "end": end + 1}


SOURCES = [
    Source(
        "clinical_ie",
        "ClinicalIE medication status and attributes (Agrawal et al., 2022)",
        ("ner",),
        "clinical",
        "CSV export of the HF dataset",
        ("ClinicalIE/*/medication_status/*.csv", "ClinicalIE/*/medication_attr/*.csv"),
        {**STATUS_LABELS, **ATTRIBUTE_LABELS},
        build_clinical_ie,
    ),
]
