"""Few-shot prompts, the paper's baseline setting for models not trained on the unified format.

`--shots 2` puts two solved instances from the dataset's train split before the question, as
earlier chat turns. Span tasks also get an explanation of the answer format in every user turn
(the released evaluation.py's wording), since an untrained model cannot guess `Type: a...b` or
`None`; choice tasks already list their options. Demonstrations are drawn with a generator
seeded by (seed, dataset, id): the same instance always gets the same demonstrations, whatever
the order of the file or a resume, and never itself.
"""

import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mnlu.chat import Message
from mnlu.cli import InputError, excerpt
from mnlu.records import SPAN_TASKS, Record, read_records
from mnlu.tasks import TEXT_MARKER, instance_rng, normalize_space, source_text, user_turn

FORMAT_EXPLANATION = (
    "Your answer should use the following format, with one entity type per line. "
    "The span refers to the original text span from the Medical text. "
    "Output None if there is no such span. Use `...' to separate multiple spans."
)
_RANDOM_DRAWS = 1000  # then every train record is tried once, in a seeded order


def paper_shots_can_answer(test_file: str | Path) -> bool:
    """Whether `infer.py --shots paper` can answer `test_file`: choice tasks take no demonstrations;
    a span task draws its two from the train.jsonl beside the file."""
    task = next(read_records(test_file))["task"]
    return task not in SPAN_TASKS or Path(test_file).with_name("train.jsonl").is_file()


def pick_demonstrations(record: Record, train: Sequence[Record], k: int, seed: int) -> list[Record]:
    """`k` train records with distinct answers, none of them `record` itself (same id or same text).

    Raises InputError when the train split has fewer than `k` usable records.
    """
    rng = instance_rng(f"{seed}/{record['dataset']}/{record['id']}")
    question, picked, answers = _question(record), [], set()
    for i in _candidate_order(rng, len(train)):
        candidate = train[i]
        answer = _answer_key(candidate)
        if candidate["id"] == record["id"] or _question(candidate) == question or answer in answers:
            continue
        picked.append(candidate)
        answers.add(answer)
        if len(picked) == k:
            return picked
    raise InputError(
        f"dataset {record['dataset']}: the train split has fewer than {k} records with distinct "
        f"answers that differ from test record {excerpt(record['id'])}"
    )


def _candidate_order(rng: random.Random, n: int) -> Iterator[int]:
    """Random indices: quick draws with replacement first, then every index once (so it ends)."""
    for _ in range(_RANDOM_DRAWS if n else 0):
        yield rng.randrange(n)
    yield from rng.sample(range(n), n)


def few_shot_messages(record: Record, demonstrations: Iterable[Record]) -> list[Message]:
    """The chat a model answers: each demonstration's question and answer, then `record`'s question."""
    messages = [m for m in record["messages"] if m["role"] == "system"]
    for demo in demonstrations:
        messages += [
            {"role": "user", "content": with_format_explanation(demo)},
            {"role": "assistant", "content": _answer(demo)},
        ]
    return messages + [{"role": "user", "content": with_format_explanation(record)}]


def with_format_explanation(record: Record) -> str:
    """The user turn of `record`, for span tasks with the answer format spelled out before the text.

    The format lists the record's own labels in its own order, as `Label: {span}` lines.
    """
    user = user_turn(record)
    if record["task"] not in SPAN_TASKS or TEXT_MARKER not in user:
        return user
    instruction, text = user.split(TEXT_MARKER, 1)
    lines = "\n".join(f"{label}: {{span}}" for label in record["gold"]["labels"])
    return f"{instruction}\n{FORMAT_EXPLANATION}\n{lines}{TEXT_MARKER}{text}"


def _question(record: Record) -> str:
    """What makes two records the same instance: their text (NLI/STS: their whole question)."""
    return source_text(record) or user_turn(record)


def _answer_key(record: Record) -> tuple[tuple[str, str], ...] | tuple[str | None, ...]:
    """The gold answer, independent of the per-instance order of labels and options."""
    gold = record["gold"]
    if "spans" in gold:
        return tuple(sorted((s["label"], normalize_space(s["text"])) for s in gold["spans"]))
    return tuple(sorted(gold.get("answers", [gold.get("summary")])))


def _answer(record: Record) -> str:
    return next(m["content"] for m in record["messages"] if m["role"] == "assistant")
