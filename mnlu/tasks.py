"""The unified instruction format (the paper's Table 1): one function per task, instance -> record.

Every medical NLU task becomes a user turn (an instruction, the text, lettered options) and an
assistant turn in one of two answer shapes:

    spans     one line per label, in the order the labels were listed:  `Disease: fever...cough`
              or `Disease: None`; spans in order of appearance, `...` between them.
    choices   the chosen option(s) in full, one per line:               `(B) entailment`

The text always follows a fixed `Medical text: ` line so parsers and people can find it, and the
options a fixed `Options:` line. Entity types and options are shuffled per instance with a
generator seeded from the instance id, so the same build twice gives identical files while the
model never learns a fixed label order; pass `shuffle=False` to keep the given order.
Abbreviated labels are replaced through an optional per-dataset `expand` map before rendering.

The `gold` of each record is the structure the answer was rendered from (see mnlu.records), so
`mnlu.parse` applied to the answer gives the gold back.

An instance the format cannot render (a label holding ':', repeated options, an answer that is no
option) raises RecordError, bad input its caller reports as such. Its message names the instance
and the field, never the text: an option or an answer may be a sentence, so it is named by its
index; a label is shown as a bounded excerpt.
"""

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mnlu.cli import excerpt
from mnlu.records import LETTERS, Record, RecordError

NER_INSTRUCTION = (
    "Extract all relevant medical named entities from the medical text below. "
    "Focus on identifying following entities: {types}"
)
EVENT_ARGUMENT_INSTRUCTION = "What is the {attribute} attribute of the {trigger} '{span}' in the medical text below?"
DC_INSTRUCTION = "Which options best describe {what} from the medical text below?"
RE_INSTRUCTION = (
    "What is the relation between the {type_1} entity '{span_1}' and the {type_2} entity "
    "'{span_2}' from the medical text below?"
)
NLI_INSTRUCTION = (
    "What is the relation between the premise and hypothesis? Premise: {premise}. Hypothesis: {hypothesis}"
)
STS_INSTRUCTION = "How similar are the two sentences below? Sentence 1: {sentence_1}. Sentence 2: {sentence_2}."
SUMM_INSTRUCTION = "Summarize the medical text below."

TEXT_MARKER = "\nMedical text: "
OPTIONS_MARKER = "\nOptions:\n"
SPAN_SEPARATOR = "..."
NO_SPAN = "None"


def instance_rng(instance_id: str) -> random.Random:
    """A generator that depends on the instance id only (not on PYTHONHASHSEED or build order)."""
    digest = hashlib.sha256(instance_id.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def normalize_space(s: str) -> str:
    """Collapse runs of white space: spans and labels are rendered on one line."""
    return " ".join(s.split())


# ---------------------------------------------------------------------------------------------
# span tasks: NER, event trigger extraction (ete), event argument extraction (eae)


def ner_record(
    *,
    id: str,
    dataset: str,
    split: str,
    text: str,
    labels: Iterable[str],
    spans: Iterable[Mapping[str, Any]],
    task: str = "ner",
    expand: Mapping[str, str] | None = None,
    shuffle: bool = True,
) -> Record:
    """NER or event-trigger extraction: which spans of `text` are of each label.

    `spans` are dicts with `label` and `text`, plus `start`/`end` character offsets where known.
    """
    labels = [(expand or {}).get(x, x) for x in labels]
    spans = [{**s, "label": (expand or {}).get(s["label"], s["label"])} for s in spans]
    if shuffle:
        instance_rng(id).shuffle(labels)
    instruction = NER_INSTRUCTION.format(types=", ".join(labels))
    return _span_record(id, dataset, split, task, instruction, text, labels, spans)


def eae_record(
    *,
    id: str,
    dataset: str,
    split: str,
    text: str,
    trigger: str,
    trigger_span: str,
    attribute: str,
    spans: Iterable[Mapping[str, Any]],
    expand: Mapping[str, str] | None = None,
) -> Record:
    """Event argument extraction: which spans fill `attribute` of one trigger mention."""
    trigger, attribute = (expand or {}).get(trigger, trigger), (expand or {}).get(attribute, attribute)
    label = f"{trigger} - {attribute}"
    instruction = EVENT_ARGUMENT_INSTRUCTION.format(attribute=attribute, trigger=trigger, span=trigger_span)
    spans = [{"label": label, **s} for s in spans]
    return _span_record(id, dataset, split, "eae", instruction, text, [label], spans)


def _refuse(dataset: str, id: str, what: str) -> RecordError:
    """The RecordError of an instance the format cannot render: `<dataset> instance '<id>': what`."""
    return RecordError(f"{dataset} instance {excerpt(id)}: {what}")


def _span_record(
    id: str,
    dataset: str,
    split: str,
    task: str,
    instruction: str,
    text: str,
    labels: list[str],
    spans: list[dict[str, Any]],
) -> Record:
    seen = set()
    for label in labels:
        if not normalize_space(label) or "\n" in label or ":" in label:
            raise _refuse(dataset, id, f"label {excerpt(label)} is empty or holds a newline or ':'")
        if normalize_space(label).casefold() in seen:
            raise _refuse(dataset, id, f"label {excerpt(label)} repeats (ignoring case and spacing)")
        seen.add(normalize_space(label).casefold())
    for i, span in enumerate(spans):
        if span["label"] not in labels:
            raise _refuse(dataset, id, f"spans[{i}] has the label {excerpt(span['label'])}, which is not asked for")
        if not normalize_space(span["text"]):
            raise _refuse(dataset, id, f"spans[{i}] is empty (white space only)")
    ordered = sorted(spans, key=lambda s: (s["start"], s["end"])) if all("start" in s for s in spans) else spans
    answer = "\n".join(render_span_line(label, [s["text"] for s in ordered if s["label"] == label]) for label in labels)
    gold = {"labels": labels, "spans": ordered}
    return _record(id, dataset, split, task, instruction + TEXT_MARKER + text, answer, gold)


def render_span_line(label: str, span_texts: Iterable[str]) -> str:
    """`Label: span1...span2`, or `Label: None` when there is no span."""
    spans = SPAN_SEPARATOR.join(normalize_space(t) for t in span_texts)
    return f"{label}: {spans or NO_SPAN}"


# ---------------------------------------------------------------------------------------------
# choice tasks: event argument classification (eac), document classification (dc), relation
# extraction (re), question answering (qa), inference (nli), sentence similarity (sts)


def eac_record(
    *,
    id: str,
    dataset: str,
    split: str,
    text: str,
    trigger: str,
    trigger_span: str,
    attribute: str,
    options: Iterable[str],
    answer: str,
    expand: Mapping[str, str] | None = None,
    shuffle: bool = True,
) -> Record:
    """Event argument classification: which option is the value of `attribute` of one trigger."""
    trigger, attribute = (expand or {}).get(trigger, trigger), (expand or {}).get(attribute, attribute)
    label = f"{trigger} - {attribute}"
    instruction = EVENT_ARGUMENT_INSTRUCTION.format(attribute=attribute, trigger=trigger, span=trigger_span)
    return _choice_record(
        id,
        dataset,
        split,
        "eac",
        instruction,
        text,
        options,
        [answer],
        expand,
        shuffle,
        answer_prefix=f"{label}: ",
        gold_extra={"label": label},
    )


def dc_record(
    *,
    id: str,
    dataset: str,
    split: str,
    text: str,
    what: str,
    options: Iterable[str],
    answers: Iterable[str],
    multi_label: bool = False,
    expand: Mapping[str, str] | None = None,
    shuffle: bool = True,
) -> Record:
    """Document classification; `multi_label` documents may have several answers, or none."""
    instruction = DC_INSTRUCTION.format(what=what)
    return _choice_record(
        id, dataset, split, "dc", instruction, text, options, answers, expand, shuffle, multi_label=multi_label
    )


def re_record(
    *,
    id: str,
    dataset: str,
    split: str,
    text: str,
    type_1: str,
    span_1: str,
    type_2: str,
    span_2: str,
    options: Iterable[str],
    answer: str,
    negative: str | None = None,
    expand: Mapping[str, str] | None = None,
    shuffle: bool = True,
) -> Record:
    """Relation extraction between two marked entities; `negative` names the no-relation option."""
    expand = expand or {}
    instruction = RE_INSTRUCTION.format(
        type_1=expand.get(type_1, type_1), span_1=span_1, type_2=expand.get(type_2, type_2), span_2=span_2
    )
    extra = {} if negative is None else {"negative": expand.get(negative, negative)}
    return _choice_record(
        id, dataset, split, "re", instruction, text, options, [answer], expand, shuffle, gold_extra=extra
    )


def qa_record(
    *,
    id: str,
    dataset: str,
    split: str,
    question: str,
    text: str,
    options: Iterable[str],
    answer: str,
    expand: Mapping[str, str] | None = None,
    shuffle: bool = True,
) -> Record:
    """Question answering over a text (PubMedQA, BioASQ): the question is the instruction."""
    return _choice_record(id, dataset, split, "qa", question, text, options, [answer], expand, shuffle)


def nli_record(
    *,
    id: str,
    dataset: str,
    split: str,
    premise: str,
    hypothesis: str,
    options: Iterable[str],
    answer: str,
    expand: Mapping[str, str] | None = None,
    shuffle: bool = True,
) -> Record:
    """Natural language inference: premise and hypothesis live in the instruction, no text."""
    instruction = NLI_INSTRUCTION.format(premise=_clause(premise), hypothesis=hypothesis.strip())
    return _choice_record(id, dataset, split, "nli", instruction, None, options, [answer], expand, shuffle)


def sts_record(
    *,
    id: str,
    dataset: str,
    split: str,
    sentence_1: str,
    sentence_2: str,
    criteria: Sequence[tuple[float, str]],
    score: float,
    shuffle: bool = True,
) -> Record:
    """Sentence similarity as a choice among the dataset's scoring criteria.

    `criteria` are (value, option text) pairs, e.g. (0, "The two sentences are on different
    topics (score 0)."). The gold option is the criterion nearest to the real-valued `score`
    (ties go to the lower value); the score itself is kept in gold for Pearson correlation.
    """
    values = [float(v) for v, _ in criteria]
    nearest = min(range(len(criteria)), key=lambda i: (abs(values[i] - score), values[i]))
    instruction = STS_INSTRUCTION.format(sentence_1=_clause(sentence_1), sentence_2=_clause(sentence_2))
    record = _choice_record(
        id,
        dataset,
        split,
        "sts",
        instruction,
        None,
        [t for _, t in criteria],
        [criteria[nearest][1]],
        None,
        shuffle,
        gold_extra={"score": float(score)},
    )
    value_of = {text: v for v, text in zip(values, (t for _, t in criteria))}
    record["gold"]["option_scores"] = [value_of[o] for o in record["gold"]["options"]]
    return record


def _clause(sentence: str) -> str:
    """Drop one trailing period: the instruction template supplies its own."""
    sentence = sentence.strip()
    return sentence[:-1] if sentence.endswith(".") else sentence


def _choice_record(
    id: str,
    dataset: str,
    split: str,
    task: str,
    instruction: str,
    text: str | None,
    options: Iterable[str],
    answers: Iterable[str],
    expand: Mapping[str, str] | None,
    shuffle: bool,
    *,
    multi_label: bool = False,
    answer_prefix: str = "",
    gold_extra: Mapping[str, Any] | None = None,
) -> Record:
    options = [(expand or {}).get(o, o) for o in options]
    answers = [(expand or {}).get(a, a) for a in answers]
    if len(set(options)) != len(options) or not 1 < len(options) <= len(LETTERS):
        raise _refuse(
            dataset,
            id,
            f"options must be 2-{len(LETTERS)} distinct strings, got {len(options)} "
            f"of which {len(set(options))} distinct",
        )
    for k, answer in enumerate(answers):
        if answer not in options:
            raise _refuse(dataset, id, f"answers[{k}] is not one of the options")
        if answer in answers[:k]:
            raise _refuse(dataset, id, f"answers[{k}] repeats an earlier answer")
    if not multi_label and len(answers) != 1:
        raise _refuse(dataset, id, f"a single-label task needs exactly one answer, got {len(answers)}")
    if shuffle:
        instance_rng(id).shuffle(options)
    letters = [LETTERS[i] for i, o in enumerate(options) if o in answers]
    chosen = [options[LETTERS.index(x)] for x in letters]
    lines = [f"{answer_prefix}({x}) {o}" for x, o in zip(letters, chosen)]
    user = instruction + ("" if text is None else TEXT_MARKER + text) + OPTIONS_MARKER
    user += "\n".join(f"({x}) {o}" for x, o in zip(LETTERS, options))
    gold = {"options": options, "letters": letters, "answers": chosen, "multi_label": multi_label, **(gold_extra or {})}
    return _record(id, dataset, split, task, user, "\n".join(lines) or NO_SPAN, gold)


# ---------------------------------------------------------------------------------------------
# summarization (training only)


def summ_record(*, id: str, dataset: str, split: str, text: str, summary: str) -> Record:
    """Summarization: a training-only task that keeps the model fluent on free text."""
    return _record(
        id, dataset, split, "summ", SUMM_INSTRUCTION + TEXT_MARKER + text, summary.strip(), {"summary": summary.strip()}
    )


def _record(id: str, dataset: str, split: str, task: str, user: str, assistant: str, gold: dict[str, Any]) -> Record:
    return {
        "id": id,
        "dataset": dataset,
        "task": task,
        "split": split,
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        "gold": gold,
    }


def user_turn(record: Record) -> str:
    """The content of a record's (first) user turn: its whole question."""
    return next(m["content"] for m in record["messages"] if m["role"] == "user")


def source_text(record: Record) -> str | None:
    """The text after `Medical text: ` in the user turn (None for NLI/STS, which have none)."""
    _, marker, text = user_turn(record).partition(TEXT_MARKER)
    if not marker:
        return None
    if "options" in record["gold"]:
        before, options, _ = text.rpartition(OPTIONS_MARKER)
        return before if options else text
    return text


def make_record(task: str, **fields: Any) -> Record:
    """The record function of `task`, called with `fields` (ete is NER's format on event triggers)."""
    if task == "ete":
        return ner_record(task="ete", **fields)
    makers = {
        "ner": ner_record,
        "eae": eae_record,
        "eac": eac_record,
        "dc": dc_record,
        "re": re_record,
        "qa": qa_record,
        "nli": nli_record,
        "sts": sts_record,
        "summ": summ_record,
    }
    if task not in makers:
        raise ValueError(f"unknown task {task!r}")
    return makers[task](**fields)
