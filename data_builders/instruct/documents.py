"""Document classification sources: NLI4CT (SemEval-2024 Task 2), TrialStop, MTSamples."""

import csv

from data_builders.instruct.instances import choice_instance
from data_builders.instruct.source import Source, fail
from data_builders.instruct.tables import csv_rows, tab_lines
from data_builders.readers import label_excerpt, open_release, read_json
from mnlu.tasks import instance_rng

NLI4CT_LABELS = {
    "Entailment": "the trial report(s) entail the statement",
    "Contradiction": "the trial report(s) contradict the statement",
}


def build_nli4ct(source, paths):
    """Statement + the named section of the primary (and secondary) trial -> entail or contradict."""
    for path in paths:
        trials_dir = path.parent / "CT json"
        statements = read_json(path)
        if not isinstance(statements, dict):
            fail(path, 1, "expected a JSON object of statements keyed by their id")
        for uuid, item in statements.items():
            keys = ("Type", "Section_id", "Primary_id", "Statement", "Label")
            if (
                not isinstance(item, dict)
                or not all(isinstance(item.get(k), str) and item[k].strip() for k in keys)
                or item["Label"] not in NLI4CT_LABELS
            ):
                fail(
                    path,
                    f"statement {label_excerpt(uuid)}",
                    f"needs {', '.join(keys)} as non-empty strings, with Label Entailment|Contradiction",
                )
            parts = [("Primary trial", item["Primary_id"])]
            if item["Type"] == "Comparison":
                parts.append(("Secondary trial", item.get("Secondary_id")))
            text = "\n".join(
                f"{name}:\n{_section(path, uuid, trials_dir, nct, item['Section_id'])}" for name, nct in parts
            )
            yield choice_instance(
                source,
                "dc",
                uuid,
                text=text,
                what=f'whether the statement "{item["Statement"].strip()}" holds',
                options=list(NLI4CT_LABELS),
                answers=[item["Label"]],
            )


def _section(path, uuid, trials_dir, nct, section):
    where = f"statement {label_excerpt(uuid)}"
    if not isinstance(nct, str) or "/" in nct or not (trials_dir / f"{nct}.json").is_file():
        fail(path, where, f"no trial report {label_excerpt(nct)}.json in {trials_dir}")
    trial_path = trials_dir / f"{nct}.json"
    trial = read_json(trial_path)
    lines = trial.get(section) if isinstance(trial, dict) else None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        fail(trial_path, 1, f"no {label_excerpt(section)} section (a list of lines)")
    return "\n".join(line.strip() for line in lines)


TRIALSTOP_LABELS = {
    "Insufficient_Enrollment": "insufficient enrollment",
    "Business_Administrative": "business or administrative",
    "Negative": "negative results (lack of efficacy)",
    "Logistics_Resources": "logistics or resources",
    "Study_Design": "study design",
    "Invalid_Reason": "invalid reason",
    "Study_Staff_Moved": "study staff moved",
    "Covid19": "COVID-19",
    "Another_Study": "another study",
    "Safety_Sideeffects": "safety or side effects",
    "Regulatory": "regulatory",
    "No_Context": "no context",
    "Interim_Analysis": "interim analysis",
    "Endpoint_Met": "endpoint met",
    "Insufficient_Data": "insufficient data",
    "Ethical_Reason": "ethical reason",
    "Success": "success",
}


def build_trialstop(source, paths):
    """Stop reason -> class; the release's columns shift where dates are missing, so the class is
    the last non-empty field of the line (the `prediction` column)."""
    for path in paths:
        for lineno, fields in tab_lines(path):
            fields = [f for f in fields if f.strip()]
            if lineno == 1 and fields[:1] == ["stop_reason"]:
                continue
            if len(fields) < 3 or fields[-1] not in TRIALSTOP_LABELS:
                fail(path, lineno, "expected a stop reason and a declared class in the last column")
            yield choice_instance(
                source,
                "dc",
                f"{lineno}-{fields[2]}",
                text=fields[0].strip(),
                what="why the clinical trial stopped",
                options=list(TRIALSTOP_LABELS),
                answers=[fields[-1]],
            )


MTSAMPLES_SPECIALTIES = (
    "Allergy / Immunology",
    "Autopsy",
    "Bariatrics",
    "Cardiovascular / Pulmonary",
    "Chiropractic",
    "Consult - History and Phy.",
    "Cosmetic / Plastic Surgery",
    "Dentistry",
    "Dermatology",
    "Diets and Nutritions",
    "Discharge Summary",
    "ENT - Otolaryngology",
    "Emergency Room Reports",
    "Endocrinology",
    "Gastroenterology",
    "General Medicine",
    "Hematology - Oncology",
    "Hospice - Palliative Care",
    "IME-QME-Work Comp etc.",
    "Lab Medicine - Pathology",
    "Letters",
    "Nephrology",
    "Neurology",
    "Neurosurgery",
    "Obstetrics / Gynecology",
    "Office Notes",
    "Ophthalmology",
    "Orthopedic",
    "Pain Management",
    "Pediatrics - Neonatal",
    "Physical Medicine - Rehab",
    "Podiatry",
    "Psychiatry / Psychology",
    "Radiology",
    "Rheumatology",
    "SOAP / Chart / Progress Notes",
    "Sleep Medicine",
    "Speech - Language",
    "Surgery",
    "Urology",
)
MTSAMPLES_OPTIONS = 10  # 40 specialties are too many letters: the gold one and 9 others drawn per note


def build_mtsamples(source, paths):
    """Kaggle CSV `index, description, medical_specialty, sample_name, transcription, keywords`
    (with or without its header); notes with an empty transcription are not instances."""
    for path in paths:
        for line, row in _mtsamples_rows(path):
            index, specialty, transcription = row[0].strip(), row[2].strip(), row[4].strip()
            if not (row[1].strip() == "description" and specialty == "medical_specialty") and transcription:
                if specialty not in MTSAMPLES_SPECIALTIES:
                    fail(path, line, f"undeclared specialty {label_excerpt(specialty)}")
                key = f"note{index}"
                others = [s for s in MTSAMPLES_SPECIALTIES if s != specialty]
                options = [specialty] + instance_rng(f"{source.name}-{key}").sample(others, MTSAMPLES_OPTIONS - 1)
                yield choice_instance(
                    source,
                    "dc",
                    key,
                    text=transcription,
                    what="the medical specialty of the note",
                    options=options,
                    answers=[specialty],
                )


def _mtsamples_rows(path):
    """(line the row starts on, its 6 fields) of the MTSamples CSV, which may lack its header."""
    with open_release(path, newline="") as f:
        reader = csv.reader(f)
        line = 1
        try:
            for row in reader:
                if len(row) != 6:
                    fail(path, line, f"expected 6 columns, got {len(row)}")
                yield line, row
                line = reader.line_num + 1
        except csv.Error as e:
            fail(path, reader.line_num, f"malformed CSV ({e})")


DRSM_CATEGORIES = {
    "1.1. CLINICAL CHARACTERISTICS OR DISEASE PATHOLOGY": "clinical characteristics, disease pathology or diagnosis",
    "1.3. THERAPEUTICS IN THE CLINIC": "therapeutics in the clinic",
    "2.1. DISEASE MECHANISM": "disease mechanism",
    "3.4. PATIENT-BASED THERAPEUTICS": "patient-based therapeutics (clinical trials, drug surveillance or repurposing)",
    "0.3. OTHER": "other",
    "IRRELEVANT": "not a primary research article",
}


def build_drsm(source, paths):
    """`final_data.tsv` (quoted, tab-separated): title and abstract -> research categories
    (comma-separated), or IRRELEVANT when the paper is not primary research."""
    for path in paths:
        header = ("ID_PAPER", "TITLE", "ABSTRACT", "IRRELEVANT", "DISEASE_NAME", "URI", "CATEGORIES")
        for lineno, row in csv_rows(path, header, delimiter="\t"):
            answers = [c.strip() for c in row["CATEGORIES"].split(",") if c.strip()]
            answers += ["IRRELEVANT"] if row["IRRELEVANT"].strip() else []
            if not answers or any(a not in DRSM_CATEGORIES for a in answers):
                fail(path, lineno, "expected declared CATEGORIES (comma-separated) or an IRRELEVANT mark")
            text = f"{row['TITLE'].strip()}\n{row['ABSTRACT'].strip()}"
            yield choice_instance(
                source,
                "dc",
                row["ID_PAPER"],
                text=text,
                what="the kind of disease research reported",
                options=list(DRSM_CATEGORIES),
                answers=answers,
                multi_label=True,
            )


SOURCES = [
    Source(
        "nli4ct",
        "SemEval-2024 Task 2, NLI4CT (Jullien et al., 2024)",
        ("dc",),
        "biomedical",
        "JSON",
        ("NLI4CT-SemEval2024/*/training_data/train.json",),
        NLI4CT_LABELS,
        build_nli4ct,
    ),
    Source(
        "trialstop",
        "TrialStop, why clinical trials stop (Razuvayevskaya et al., 2024)",
        ("dc",),
        "biomedical",
        "TSV",
        ("TrialStop/*/data/stopped_predictions_*.tsv",),
        TRIALSTOP_LABELS,
        build_trialstop,
    ),
    Source(
        "mtsamples",
        "MTSamples medical specialty (mtsamples.com)",
        ("dc",),
        "clinical",
        "CSV",
        ("MTSamples/*/mtsamples.csv",),
        {s: s for s in MTSAMPLES_SPECIALTIES},
        build_mtsamples,
    ),
    Source(
        "czi_drsm",
        "CZI DRSM disease research state (Chan Zuckerberg Initiative, 2022)",
        ("dc",),
        "biomedical",
        "TSV",
        ("CZI-DRSM/*/final_data.tsv",),
        DRSM_CATEGORIES,
        build_drsm,
    ),
]
