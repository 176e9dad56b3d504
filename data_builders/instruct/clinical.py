"""Clinical-note sources (i2b2/n2c2, credentialed): read in their documented release formats and
tested on fixtures written in those formats. Long notes are cut into pieces at line ends.

Event extraction (2009 medications, 2018 ADE, 2022 SDoH) gives three kinds of records: trigger
extraction over a note piece (ete); argument extraction for one trigger mention (eae), asked for
each argument it has and, where the roles are fixed, for one it lacks (answer None), drawn with a
generator seeded by the mention; and argument classification (eac) for its classified attributes.
"""

import itertools
from pathlib import Path

from data_builders.instruct.brat import read_brat
from data_builders.instruct.i2b2_formats import TokenIndex, concept_lines, inline_tagged, standoff_xml
from data_builders.instruct.instances import (
    choice_instance,
    line_window,
    negative_pairs,
    note_instances,
    relation_instance,
)
from data_builders.instruct.source import Source, fail
from data_builders.instruct.xmlfile import parse_xml
from data_builders.readers import label_excerpt, read_text
from mnlu.tasks import instance_rng, make_record


def _argument_instance(source, key, text, offset, trigger, trigger_text, attribute, spans):
    return make_record(
        "eae",
        id=f"{source.name}-{key}",
        dataset=source.name,
        split="train",
        text=text,
        trigger=trigger,
        trigger_span=trigger_text,
        attribute=attribute,
        expand=source.labels,
        spans=[{"text": t, "start": s - offset, "end": e - offset} for s, e, t in spans],
    )


def _arguments(source, key, text, trigger, trigger_range, trigger_text, found, roles):
    """eae records for the roles `found` ({role: [(start, end, text)]}) and one role of `roles` not found."""
    missing = sorted(set(roles) - set(found))
    asked = dict(found)
    if missing:
        asked[instance_rng(f"{source.name}-{key}").choice(missing)] = []
    for role, spans in sorted(asked.items()):
        offset, window = line_window(text, [trigger_range, *((s, e) for s, e, _ in spans)])
        yield _argument_instance(source, f"{key}-{role}", window, offset, trigger, trigger_text, role, spans)


def _check(path, line, value, declared, what):
    if not isinstance(value, str) or value not in declared:
        fail(path, line, f"undeclared {what} {label_excerpt(value)}")


# ---------------------------------------------------------------------------------------------
# de-identification: 2006 (inline PHI tags), 2014 (standoff tags)

DEID_2006 = {
    "PATIENT": "patient name",
    "DOCTOR": "doctor name",
    "HOSPITAL": "hospital",
    "ID": "identifier",
    "DATE": "date",
    "LOCATION": "location",
    "PHONE": "phone number",
    "AGE": "age over 89",
}


def build_deid_2006(source, paths):
    """`<RECORD ID><TEXT>... <PHI TYPE="DOCTOR">name</PHI> ...</TEXT></RECORD>`."""
    for path in paths:
        root, line_of = parse_xml(path)
        for record in root.iter("RECORD"):
            if record.find("TEXT") is None:
                fail(path, line_of[record], "<RECORD> has no <TEXT>")
            text, tags = inline_tagged(record.find("TEXT"))
            for tag, _, _ in tags:
                _check(path, line_of[tag], tag.get("TYPE"), DEID_2006, f"<{tag.tag}> TYPE")
            spans = [{"label": t.get("TYPE"), "text": text[s:e], "start": s, "end": e} for t, s, e in tags]
            yield from note_instances(source, record.get("ID"), text, DEID_2006, spans)


DEID_2014 = {
    "NAME": "name",
    "PROFESSION": "profession",
    "LOCATION": "location",
    "AGE": "age",
    "DATE": "date",
    "CONTACT": "contact (phone, fax, email or URL)",
    "ID": "identifier",
}


def build_deid_2014(source, paths):
    """`<deIdi2b2><TEXT>...</TEXT><TAGS><NAME start end text TYPE/>...</TAGS>`: the tag is the category."""
    for path in paths:
        _, text, tags = standoff_xml(path)
        for tag, line in tags:
            _check(path, line, tag.tag, DEID_2014, "PHI category")
            if "start" not in tag.attrib:
                fail(path, line, f"<{tag.tag}> has no start and end")
        spans = [
            {
                "label": t.tag,
                "text": text[int(t.get("start")) : int(t.get("end"))],
                "start": int(t.get("start")),
                "end": int(t.get("end")),
            }
            for t, _ in tags
        ]
        yield from note_instances(source, path.stem, text, DEID_2014, spans)


# ---------------------------------------------------------------------------------------------
# document classification: 2006 smoking, 2008 obesity, 2018 cohort selection

SMOKING = {
    "CURRENT SMOKER": "current smoker",
    "PAST SMOKER": "past smoker",
    "NON-SMOKER": "never smoked",
    "SMOKER": "smoker, current or past unknown",
    "UNKNOWN": "smoking status not mentioned",
}


def build_smoking(source, paths):
    """`<RECORD ID><SMOKING STATUS="..."/><TEXT>...</TEXT></RECORD>`."""
    for path in paths:
        root, line_of = parse_xml(path)
        for record in root.iter("RECORD"):
            status = record.find("SMOKING")
            _check(path, line_of[record], None if status is None else status.get("STATUS"), SMOKING, "smoking status")
            yield choice_instance(
                source,
                "dc",
                record.get("ID"),
                text=record.findtext("TEXT", "").strip(),
                what="the patient's smoking status",
                options=list(SMOKING),
                answers=[status.get("STATUS")],
            )


OBESITY = {
    "Asthma": "asthma",
    "CAD": "coronary artery disease",
    "CHF": "congestive heart failure",
    "Depression": "depression",
    "Diabetes": "diabetes",
    "Gallstones": "gallstones",
    "GERD": "gastroesophageal reflux disease",
    "Gout": "gout",
    "Hypercholesterolemia": "hypercholesterolemia",
    "Hypertension": "hypertension",
    "Hypertriglyceridemia": "hypertriglyceridemia",
    "OA": "osteoarthritis",
    "Obesity": "obesity",
    "OSA": "obstructive sleep apnea",
    "PVD": "peripheral vascular disease",
    "Venous Insufficiency": "venous insufficiency",
}


def build_obesity(source, paths):
    """Records `<doc id><text>` with the intuitive judgments of the standoff annotation files:
    the comorbidities judged present (Y) are the answers of a multi-label question."""
    judgments = {}
    for path in (p for p in paths if "annotations" in p.name):
        root, line_of = parse_xml(path)
        for diseases in root.iter("diseases"):
            if diseases.get("source") != "intuitive":
                continue
            for disease in diseases.iter("disease"):
                _check(path, line_of[disease], disease.get("name"), OBESITY, "disease")
                for doc in disease.iter("doc"):
                    judgments.setdefault(doc.get("id"), {})[disease.get("name")] = doc.get("judgment")
    for path in (p for p in paths if "annotations" not in p.name):
        root, line_of = parse_xml(path)
        for doc in root.iter("doc"):
            if doc.get("id") not in judgments:
                fail(path, line_of[doc], f"document {label_excerpt(doc.get('id'))} has no intuitive judgments")
            yield choice_instance(
                source,
                "dc",
                doc.get("id"),
                text=doc.findtext("text", "").strip(),
                what="the conditions the patient has",
                options=list(OBESITY),
                answers=[d for d in OBESITY if judgments[doc.get("id")].get(d) == "Y"],
                multi_label=True,
            )


COHORT = {
    "ABDOMINAL": "history of intra-abdominal surgery",
    "ADVANCED-CAD": "advanced cardiovascular disease",
    "ALCOHOL-ABUSE": "alcohol use over weekly recommended limits",
    "ASP-FOR-MI": "aspirin to prevent myocardial infarction",
    "CREATININE": "serum creatinine above the upper limit of normal",
    "DIETSUPP-2MOS": "dietary supplement (not vitamin D) in the past 2 months",
    "DRUG-ABUSE": "drug abuse, current or past",
    "ENGLISH": "speaks English",
    "HBA1C": "any HbA1c value between 6.5% and 9.5%",
    "KETO-1YR": "ketoacidosis in the past year",
    "MAJOR-DIABETES": "major diabetes-related complication",
    "MAKES-DECISIONS": "makes their own medical decisions",
    "MI-6MOS": "myocardial infarction in the past 6 months",
}


def build_cohort(source, paths):
    """`<PatientMatching><TEXT>..</TEXT><TAGS><ABDOMINAL met="met"/>...`: the criteria met."""
    for path in paths:
        _, text, tags = standoff_xml(path)
        for tag, line in tags:
            _check(path, line, tag.tag, COHORT, "criterion")
            _check(path, line, tag.get("met"), ("met", "not met"), f"<{tag.tag}> met value")
        yield choice_instance(
            source,
            "dc",
            path.stem,
            text=text.strip(),
            what="the selection criteria the patient meets",
            options=list(COHORT),
            answers=[t.tag for t, _ in tags if t.get("met") == "met"],
            multi_label=True,
        )


# ---------------------------------------------------------------------------------------------
# 2011 coreference (.txt, .con, .chains) and 2012 temporal relations (TimeML-style standoff XML)

COREF_CONCEPTS = {
    "person": "person",
    "problem": "problem",
    "test": "test",
    "treatment": "treatment",
    "pronoun": "pronoun",
}
COREF_RELATIONS = {
    "coreferent": "the two mentions refer to the same thing",
    "not coreferent": "the two mentions refer to different things",
}


def build_coref(source, paths):
    """`concepts/<doc>.txt.con` with `docs/<doc>.txt` and `chains/<doc>.txt.chains`: concept NER,
    and RE between consecutive mentions of a chain (coreferent) or of one type outside it."""
    for path in paths:
        name = path.name.removesuffix(".con")
        text_path, chains_path = path.parents[1] / "docs" / name, path.parents[1] / "chains" / f"{name}.chains"
        if not text_path.exists() or not chains_path.exists():
            fail(path, 1, f"needs {text_path} and {chains_path}")
        text = read_text(text_path)
        index, concepts = TokenIndex(text), []
        for lineno, fields in concept_lines(path):
            (_, mention, ranges), (key, type_, _) = fields[0], fields[-1]
            _check(path, lineno, type_ if key == "t" else None, COREF_CONCEPTS, "concept type")
            start, end = index.span(path, lineno, *ranges[0], mention)
            concepts.append((start, end, text[start:end], type_))
        concepts.sort()
        doc = f"{path.parents[1].name}-{Path(name).stem}"  # Train_Beth and Train_Partners may share names
        yield from note_instances(
            source,
            doc,
            text,
            COREF_CONCEPTS,
            [{"label": t, "text": m, "start": s, "end": e} for s, e, m, t in concepts],
        )
        yield from _coref_pairs(source, doc, text, index, chains_path, concepts)


def _coref_pairs(source, doc, text, index, chains_path, concepts):
    type_of, linked = {(s, e): t for s, e, _, t in concepts}, set()
    for lineno, fields in concept_lines(chains_path):
        mentions = sorted(index.span(chains_path, lineno, *r[0], m) for key, m, r in fields if key == "c")
        if any(m not in type_of for m in mentions):
            fail(chains_path, lineno, "a chain mention is not a concept of the .con file")
        linked.update(zip(mentions, mentions[1:]))
    same_type = [(a, b) for a, b in itertools.combinations(sorted(type_of), 2) if type_of[a] == type_of[b]]
    nearby = [(a, b) for a, b in same_type if text.count("\n", a[1], b[0]) <= 2]
    negatives = negative_pairs(f"{source.name}-{doc}", nearby, linked, len(linked))
    for k, ((a, b), answer) in enumerate(
        [(p, "coreferent") for p in sorted(linked)] + [(p, "not coreferent") for p in negatives]
    ):
        offset, window = line_window(text, [a, b])
        yield relation_instance(
            source,
            f"{doc}-re{k}",
            window,
            (type_of[a], text[a[0] : a[1]]),
            (type_of[b], text[b[0] : b[1]]),
            COREF_RELATIONS,
            answer,
            "not coreferent",
        )


TEMPORAL_ENTITIES = {
    "PROBLEM": "problem",
    "TEST": "test",
    "TREATMENT": "treatment",
    "CLINICAL_DEPT": "clinical department",
    "EVIDENTIAL": "evidential event",
    "OCCURRENCE": "occurrence",
    "DATE": "date",
    "TIME": "time",
    "DURATION": "duration",
    "FREQUENCY": "frequency",
}
TEMPORAL_RELATIONS = {
    "BEFORE": "before",
    "AFTER": "after",
    "OVERLAP": "overlap",
    "SIMULTANEOUS": "simultaneous",
    "BEFORE_OVERLAP": "before and overlapping",
    "DURING": "during",
    "BEGUN_BY": "begun by",
    "ENDED_BY": "ended by",
}


def build_temporal(source, paths):
    """`<TEXT>` + `<TAGS>` of EVENT and TIMEX3 (typed spans) and TLINK (fromID, toID, type)."""
    for path in paths:
        _, text, tags = standoff_xml(path)
        mentions, links = {}, []
        for tag, line in tags:
            if tag.tag in ("EVENT", "TIMEX3"):
                _check(path, line, tag.get("type"), TEMPORAL_ENTITIES, f"<{tag.tag}> type")
                if "start" not in tag.attrib:
                    fail(path, line, f"<{tag.tag}> has no start and end")
                mentions[tag.get("id")] = (int(tag.get("start")), int(tag.get("end")), tag.get("type"))
            elif tag.tag == "TLINK":
                _check(path, line, (tag.get("type") or "").upper(), TEMPORAL_RELATIONS, "TLINK type")
                links.append((line, tag.get("fromID"), tag.get("toID"), tag.get("type").upper()))
        spans = [{"label": t, "text": text[s:e], "start": s, "end": e} for s, e, t in sorted(mentions.values())]
        yield from note_instances(source, path.stem, text, TEMPORAL_ENTITIES, spans)
        for k, (line, from_id, to_id, type_) in enumerate(links):
            if from_id not in mentions or to_id not in mentions:
                fail(path, line, "TLINK refers to an id that is no EVENT or TIMEX3")
            (s1, e1, t1), (s2, e2, t2) = mentions[from_id], mentions[to_id]
            offset, window = line_window(text, [(s1, e1), (s2, e2)])
            yield relation_instance(
                source,
                f"{path.stem}-re{k}",
                window,
                (t1, text[s1:e1]),
                (t2, text[s2:e2]),
                TEMPORAL_RELATIONS,
                type_,
                None,
            )


# ---------------------------------------------------------------------------------------------
# event extraction: 2009 medications (.entries), 2018 ADE (BRAT), 2022 SDoH (BRAT events)

MEDICATION_2009 = {
    "m": "medication",
    "do": "dosage",
    "mo": "mode",
    "f": "frequency",
    "du": "duration",
    "r": "reason",
    "ln": "context",
    "list": "in a list of medications",
    "narrative": "in the narrative text",
}
MEDICATION_ARGUMENTS = ("do", "mo", "f", "du", "r")


def build_medication_2009(source, paths):
    """`<doc>.i2b2.entries` (m="..." l:t l:t||do=...||ln="list") over the note of the same name in
    the release's text folder `train.test.released.8.17.09/`."""
    for path in paths:
        doc = path.name.split(".")[0]
        text_path = next(
            (
                p / "train.test.released.8.17.09" / doc
                for p in path.parents
                if (p / "train.test.released.8.17.09" / doc).exists()
            ),
            None,
        )
        if text_path is None:
            fail(path, 1, f"no note {doc} in a train.test.released.8.17.09 folder above it")
        text = read_text(text_path)
        index, medications = TokenIndex(text), []
        for lineno, fields in concept_lines(path):
            values = {
                key: (value, [index.span(path, lineno, *r, value if len(ranges) == 1 else None) for r in ranges])
                for key, value, ranges in fields
            }
            if "m" not in values or not values["m"][1]:
                fail(path, lineno, "entry has no medication (m) with offsets")
            _check(path, lineno, values.get("ln", ("",))[0], ("list", "narrative"), "ln value")
            medications.append(values)
        triggers = [
            {"label": "m", "text": text[s:e], "start": s, "end": e} for m in medications for s, e in m["m"][1][:1]
        ]
        yield from note_instances(source, doc, text, ["m"], triggers, task="ete")
        for k, values in enumerate(medications):
            (start, end), key = values["m"][1][0], f"{doc}-m{k}"
            found = {
                role: [(s, e, text[s:e]) for s, e in values[role][1]]
                for role in MEDICATION_ARGUMENTS
                if role in values and values[role][1]
            }
            yield from _arguments(source, key, text, "m", (start, end), text[start:end], found, MEDICATION_ARGUMENTS)
            offset, window = line_window(text, [(start, end)])
            yield choice_instance(
                source,
                "eac",
                f"{key}-ln",
                text=window,
                trigger="m",
                trigger_span=text[start:end],
                attribute="ln",
                options=["list", "narrative"],
                answer=values["ln"][0],
            )


ADE_2018 = {
    "Drug": "drug",
    "Strength": "strength",
    "Form": "form",
    "Dosage": "dosage",
    "Frequency": "frequency",
    "Route": "route",
    "Duration": "duration",
    "Reason": "reason",
    "ADE": "adverse drug event",
}


def build_ade_2018(source, paths):
    """BRAT notes: Drug triggers, and each drug's attributes through `<Attribute>-Drug` relations."""
    for path in paths:
        notes = read_brat(path)
        for entity in notes.entities.values():
            _check(path, entity.line, entity.type, ADE_2018, "entity type")
        drugs = sorted((e for e in notes.entities.values() if e.type == "Drug"), key=lambda e: e.start)
        triggers = [{"label": "Drug", "text": d.text, "start": d.start, "end": d.end} for d in drugs]
        yield from note_instances(source, path.stem, notes.text, ["Drug"], triggers, task="ete")
        for drug in drugs:
            found = {}
            for _, arg_1, arg_2 in notes.relations:
                if arg_2 == drug.id and notes.entities[arg_1].type != "Drug":
                    a = notes.entities[arg_1]
                    found.setdefault(a.type, []).append((a.start, a.end, a.text))
            yield from _arguments(
                source,
                f"{path.stem}-{drug.id}",
                notes.text,
                "Drug",
                (drug.start, drug.end),
                drug.text,
                {r: sorted(s) for r, s in found.items()},
                [t for t in ADE_2018 if t != "Drug"],
            )


SDOH_TRIGGERS = {
    "Alcohol": "alcohol use",
    "Drug": "drug use",
    "Tobacco": "tobacco use",
    "Employment": "employment",
    "LivingStatus": "living status",
}
SDOH_VALUES = {  # the classified arguments: attribute type -> its values
    "StatusTimeVal": ("none", "current", "past", "future"),
    "StatusEmployVal": ("employed", "unemployed", "retired", "on_disability", "student", "homemaker"),
    "TypeLivingVal": ("alone", "with_family", "with_others", "homeless"),
}
SDOH_SPAN_ROLES = {
    "Amount": "amount",
    "Frequency": "frequency",
    "Duration": "duration",
    "History": "history",
    "Type": "type",
    "Method": "method",
}
SDOH_LABELS = {
    **SDOH_TRIGGERS,
    **SDOH_SPAN_ROLES,
    "Status": "status",
    "TypeLiving": "living arrangement",
    **{v: v.replace("_", " ") for values in SDOH_VALUES.values() for v in values},
}


def build_sdoh_2022(source, paths):
    """BRAT events `E Trigger:T Role:T ...`: triggers (ete), span arguments (eae, the roles present),
    status and living arrangement values from `A <type>Val T value` (eac)."""
    for path in paths:
        notes, doc = read_brat(path), f"{path.parent.name}-{path.stem}"  # mimic and uw notes may share names
        events = sorted(notes.events, key=lambda ev: notes.entities[ev.trigger].start)
        for event in events:
            _check(path, event.line, event.type, SDOH_TRIGGERS, "event type")
        triggers = [
            {
                "label": ev.type,
                "text": notes.entities[ev.trigger].text,
                "start": notes.entities[ev.trigger].start,
                "end": notes.entities[ev.trigger].end,
            }
            for ev in events
        ]
        yield from note_instances(source, doc, notes.text, SDOH_TRIGGERS, triggers, task="ete")
        for event in events:
            trigger = notes.entities[event.trigger]
            found = {}
            for role, i in event.arguments:
                argument = notes.entities[i]
                if role in SDOH_SPAN_ROLES and argument.type != "TypeLiving":
                    found.setdefault(role, []).append((argument.start, argument.end, argument.text))
                else:
                    yield from _sdoh_value(source, path, doc, notes, event, trigger, role, argument)
            yield from _arguments(
                source,
                f"{doc}-{event.id}",
                notes.text,
                event.type,
                (trigger.start, trigger.end),
                trigger.text,
                found,
                (),
            )


def _sdoh_value(source, path, doc, notes, event, trigger, role, argument):
    attribute = f"{argument.type}Val"
    if attribute not in SDOH_VALUES:
        fail(
            path,
            event.line,
            f"argument {label_excerpt(role)} ({label_excerpt(argument.type)}) is neither a span role "
            "nor a classified one",
        )
    value = notes.attributes.get((argument.id, attribute))
    _check(path, event.line, value, SDOH_VALUES[attribute], f"{attribute} of {label_excerpt(argument.id)}")
    offset, window = line_window(notes.text, [(trigger.start, trigger.end), (argument.start, argument.end)])
    yield choice_instance(
        source,
        "eac",
        f"{doc}-{event.id}-{argument.id}",
        text=window,
        trigger=event.type,
        trigger_span=trigger.text,
        attribute="TypeLiving" if argument.type == "TypeLiving" else "Status",
        options=list(SDOH_VALUES[attribute]),
        answer=value,
    )


def _clinical(name, title, tasks, format_, files, labels, build):
    return Source(name, title, tasks, "clinical", format_, files, labels, build, credentialed=True)


SOURCES = [
    _clinical(
        "i2b2_2006_deid",
        "i2b2 2006 de-identification (Uzuner et al., 2007)",
        ("ner",),
        "i2b2 inline XML",
        ("i2b2-2006-deid/*/deid_surrogate_train_all_version2.xml",),
        DEID_2006,
        build_deid_2006,
    ),
    _clinical(
        "i2b2_2006_smoking",
        "i2b2 2006 smoking status (Uzuner et al., 2008)",
        ("dc",),
        "i2b2 XML",
        ("i2b2-2006-smoking/*/smokers_surrogate_train_all_version2.xml",),
        SMOKING,
        build_smoking,
    ),
    _clinical(
        "i2b2_2008_obesity",
        "i2b2 2008 obesity and comorbidities (Uzuner, 2009)",
        ("dc",),
        "i2b2 XML + standoff XML",
        (
            "i2b2-2008-obesity/*/obesity_patient_records_training*.xml",
            "i2b2-2008-obesity/*/obesity_standoff_annotations_training*.xml",
        ),
        OBESITY,
        build_obesity,
    ),
    _clinical(
        "i2b2_2009_medication",
        "i2b2 2009 medication extraction (Uzuner et al., 2010)",
        ("ete", "eae", "eac"),
        "i2b2 entries (line:token)",
        ("i2b2-2009-medication/*/**/converted.noduplicates.sorted/*.i2b2.entries",),
        MEDICATION_2009,
        build_medication_2009,
    ),
    _clinical(
        "i2b2_2011_coref",
        "i2b2 2011 coreference (Uzuner et al., 2012)",
        ("ner", "re"),
        ".txt + .con + .chains",
        ("i2b2-2011-coref/*/**/concepts/*.txt.con",),
        {**COREF_CONCEPTS, **COREF_RELATIONS},
        build_coref,
    ),
    _clinical(
        "i2b2_2012_temporal",
        "i2b2 2012 temporal relations (Sun et al., 2013)",
        ("ner", "re"),
        "TimeML-style XML",
        ("i2b2-2012-temporal/*/2012-07-15.original-annotation.release/*.xml",),
        {**TEMPORAL_ENTITIES, **TEMPORAL_RELATIONS},
        build_temporal,
    ),
    _clinical(
        "i2b2_2014_deid",
        "i2b2 2014 de-identification (Stubbs et al., 2015)",
        ("ner",),
        "i2b2 standoff XML",
        ("i2b2-2014-deid/*/training-PHI-Gold-Set*/*.xml",),
        DEID_2014,
        build_deid_2014,
    ),
    _clinical(
        "n2c2_2018_cohort",
        "n2c2 2018 cohort selection, track 1 (Stubbs et al., 2019)",
        ("dc",),
        "n2c2 XML",
        ("n2c2-2018-cohort/*/train/*.xml",),
        COHORT,
        build_cohort,
    ),
    _clinical(
        "n2c2_2018_ade",
        "n2c2 2018 ADE and medication extraction, track 2 (Henry et al., 2020)",
        ("ete", "eae"),
        "BRAT standoff",
        ("n2c2-2018-ade/*/train*/*.ann",),
        ADE_2018,
        build_ade_2018,
    ),
    _clinical(
        "n2c2_2022_sdoh",
        "n2c2 2022 social determinants of health (Lybarger et al., 2023)",
        ("ete", "eae", "eac"),
        "BRAT standoff",
        ("n2c2-2022-sdoh/*/**/train/**/*.ann",),
        SDOH_LABELS,
        build_sdoh_2022,
    ),
]
