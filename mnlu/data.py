"""Records -> token ids with loss targets, and the order in which a training run sees them.

An example is `(ids, n_masked)`: the token ids of one rendered conversation, whose first `n_masked`
tokens are never predicted. With `--loss completion` that is the whole prompt, so only the
assistant answer (and its end-of-turn token) carries loss; with `--loss full` it is the first token
only, which nothing precedes.

The plan of a run is a list of global batches, each a list of sequences, each a list of example
indices (one example per sequence, or several with `--pack`). It depends on the data, the seed and
the global batch size only, never on the number of processes or the micro-batch size: that is what
lets 1 process and N processes, or 4x1 and 1x4 micro-batches, optimise the very same objective.
"""

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from mnlu.chat import prompt_token_ids, render_conversation, render_prompt
from mnlu.cli import excerpt
from mnlu.tasks import TEXT_MARKER, source_text, user_turn

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from mnlu.records import Record

IGNORE = -100  # the target of a position that carries no loss (PyTorch's cross-entropy default)
LENGTH_GROUP = 64  # global batches whose sequences are sorted by length together
Example = tuple[torch.Tensor, int]  # (ids, n_masked): one tokenized conversation
Batch = list[list[int]]  # sequences, each a list of example indices: a global batch or a micro-batch


class DataError(ValueError):
    """The data cannot be trained on; the message names the record (its id as a bounded excerpt)."""


def encode_records(
    tokenizer: "PreTrainedTokenizerBase",
    records: Iterable["Record"],
    loss: str = "completion",
    max_seq_len: int = 2048,
    progress: bool = True,
) -> tuple[list[Example], dict[str, int]]:
    """Tokenize records (any iterable, read in chunks) into examples; return (examples, stats).

    A record longer than `max_seq_len` tokens keeps its instruction, options and answer and has
    its medical text cut short instead (`shortened`, counted): cutting the end would cut the
    answer, the one part that carries the loss. A record that cannot be shortened to fit (no
    medical text, an answer quoting text beyond the cut, or too long even without its text) is
    dropped and counted, never trained on without its answer.
    """
    records = iter(records)
    examples, stats = [], {"records": 0, "shortened": 0, "dropped": 0}
    bar = tqdm(desc="tokenizing", unit=" records", disable=not progress)
    while chunk := list(itertools.islice(records, 1024)):
        for record, p, a in zip(chunk, *_token_ids(tokenizer, chunk)):
            if len(p) + len(a) > max_seq_len:
                p, a = _shortened(tokenizer, record, len(p) + len(a) - max_seq_len, max_seq_len)
                stats["shortened" if p else "dropped"] += 1
                if not p:
                    continue
            n_masked = len(p) if loss == "completion" else 1
            examples.append((torch.tensor(p + a, dtype=torch.int32), n_masked))
        stats["records"] += len(chunk)
        bar.update(len(chunk))
    bar.close()
    return examples, stats


def _split_conversations(
    tokenizer: "PreTrainedTokenizerBase", records: Iterable["Record"]
) -> tuple[list[str], list[str]]:
    """(prompts, answers): each rendered conversation cut where its generation prompt ends."""
    prompts, answers = [], []
    for record in records:
        prompt = render_prompt(tokenizer, record["messages"])
        conversation = render_conversation(tokenizer, record["messages"])
        if not conversation.startswith(prompt):
            raise DataError(
                f"record {excerpt(record['id'])}: the chat template renders the conversation "
                "without its generation prompt as a prefix, so the answer cannot be located"
            )
        prompts.append(prompt)
        answers.append(conversation[len(prompt) :])
    return prompts, answers


def _token_ids(
    tokenizer: "PreTrainedTokenizerBase", records: Sequence["Record"]
) -> tuple[list[list[int]], list[list[int]]]:
    """(prompt ids, answer ids) of each record. The prompt is tokenized alone, exactly as a model
    sees it at inference; the answer continues it."""
    prompts, answers = _split_conversations(tokenizer, records)
    return [prompt_token_ids(tokenizer, p) for p in prompts], tokenizer(answers, add_special_tokens=False).input_ids


def _shortened(
    tokenizer: "PreTrainedTokenizerBase", record: "Record", excess: int, max_seq_len: int
) -> tuple[list[int], list[int]]:
    """(prompt ids, answer ids) of `record` with its medical text cut by about `excess` tokens, so
    that both fit in `max_seq_len`; ([], []) where no cut can keep the record whole and true."""
    text = source_text(record)
    if not text:
        return [], []
    ends = [end for _, end in tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]]
    keep = len(ends) - excess
    for _ in range(4):  # the text may tokenize a little differently in context: cut a little more
        if keep <= 0:
            return [], []
        kept = text[: ends[keep - 1]]
        if not _answer_within(record, kept):
            return [], []
        (p,), (a,) = _token_ids(tokenizer, [_with_text(record, kept)])
        if len(p) + len(a) <= max_seq_len:
            return p, a
        keep -= len(p) + len(a) - max_seq_len
    return [], []


def _answer_within(record: "Record", kept: str) -> bool:
    """Whether every span the answer quotes still lies in the kept text (at its offsets, if known)."""
    for span in record["gold"].get("spans") or ():
        if span.get("end") is not None:
            if span["end"] > len(kept):
                return False
        elif span["text"] not in kept:
            return False
    return True


def _with_text(record: "Record", text: str) -> "Record":
    """`record` with the medical text of its user turn replaced by `text`."""
    user = user_turn(record)
    head, rest = user.split(TEXT_MARKER, 1)
    new = head + TEXT_MARKER + text + rest[len(source_text(record)) :]
    messages = [dict(m, content=new) if m["content"] is user else m for m in record["messages"]]
    return {**record, "messages": messages}


def targets_of(ids: torch.Tensor, n_masked: int) -> torch.Tensor:
    """targets[i] = ids[i + 1], the token position i predicts, or IGNORE where no loss is taken."""
    targets = torch.full((len(ids),), IGNORE, dtype=torch.long)
    targets[n_masked - 1 : -1] = ids[n_masked:]
    return targets


def tokens_in(sequence: Iterable[int], lengths: Sequence[int]) -> int:
    """Number of tokens of a sequence (a list of example indices)."""
    return sum(lengths[i] for i in sequence)


def pack(order: Iterable[int], lengths: Sequence[int], max_seq_len: int) -> list[list[int]]:
    """Greedily fill sequences of at most `max_seq_len` tokens with examples, in the given order."""
    sequences, current, used = [], [], 0
    for i in order:
        if current and used + lengths[i] > max_seq_len:
            sequences.append(current)
            current, used = [], 0
        current.append(i)
        used += lengths[i]
    if current:
        sequences.append(current)
    return sequences


def epoch_plan(
    lengths: Sequence[int], global_batch_size: int, seed: int, epoch: int, pack_to: int | None = None
) -> list[Batch]:
    """The global batches of one epoch: a seeded shuffle, optional packing, then length grouping.

    Length grouping sorts each run of LENGTH_GROUP global batches by length before cutting it, so a
    batch holds sequences of similar length (little padding), and then shuffles the batch order.
    The incomplete last batch is dropped: every optimizer step sees exactly `global_batch_size`.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths)).tolist()
    sequences = pack(order, lengths, pack_to) if pack_to else [[i] for i in order]
    group = LENGTH_GROUP * global_batch_size
    batches = []
    for start in range(0, len(sequences) - global_batch_size + 1, group):
        chunk = sorted(sequences[start : start + group], key=lambda seq: tokens_in(seq, lengths), reverse=True)
        chunk = chunk[: len(chunk) - len(chunk) % global_batch_size]
        batches += [chunk[i : i + global_batch_size] for i in range(0, len(chunk), global_batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def training_plan(
    lengths: Sequence[int],
    global_batch_size: int,
    seed: int,
    epochs: int,
    max_steps: int | None = None,
    pack_to: int | None = None,
) -> tuple[list[Batch], int]:
    """(global batches of the whole run, steps per epoch); `max_steps` overrides `epochs`.

    Epoch e is `epoch_plan(..., epoch=e)`, so a resumed run rebuilds the very same plan.
    """
    first = epoch_plan(lengths, global_batch_size, seed, 0, pack_to)
    if not first:
        return [], 0
    total = max_steps or epochs * len(first)
    plan, epoch = list(first), 1
    while len(plan) < total:  # packed epochs differ in length, so count them, never divide
        plan += epoch_plan(lengths, global_batch_size, seed, epoch, pack_to)
        epoch += 1
    return plan[:total], len(first)


def micro_batches(
    batch: Batch, lengths: Sequence[int], rank: int, world_size: int, micro_batch_size: int
) -> list[Batch]:
    """This rank's micro-batches of a global batch, in accumulation order.

    The batch is sorted by length and cut into consecutive micro-batches (so each pads little);
    micro-batch k goes to rank k % world_size. Every rank gets the same number of micro-batches,
    possibly empty ones (evaluation's last batch), so every rank runs every FSDP collective.
    """
    batch = sorted(batch, key=lambda seq: tokens_in(seq, lengths), reverse=True)
    per_step = micro_batch_size * world_size
    steps = max(1, -(-len(batch) // per_step))
    cut = [batch[k * micro_batch_size : (k + 1) * micro_batch_size] for k in range(steps * world_size)]
    return cut[rank::world_size]


def collate(
    sequences: Batch, examples: Sequence[Example], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded tensors (input_ids, targets, position_ids) of shape [rows, longest].

    Positions restart at 0 for every example and for the padding. Called with these position ids,
    no attention mask and `use_cache=False`, transformers reads the restarts as sequence
    boundaries (`find_packed_sequence_indices`) and masks attention block-diagonally, so a packed
    example never sees its neighbour and padding never changes a real token's logits.
    """
    if not sequences:  # an idle rank's share of a short evaluation batch: one padding token, no loss
        return torch.full((1, 1), pad_id), torch.full((1, 1), IGNORE), torch.zeros((1, 1), dtype=torch.long)
    rows = [[examples[i] for i in seq] for seq in sequences]
    width = max(sum(len(ids) for ids, _ in row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    targets = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        n = sum(len(ids) for ids, _ in row)
        input_ids[r, :n] = torch.cat([ids for ids, _ in row])
        targets[r, :n] = torch.cat([targets_of(ids, n_masked) for ids, n_masked in row])
        position_ids[r] = torch.cat([torch.arange(len(ids)) for ids, _ in row] + [torch.arange(width - n)])
    return input_ids, targets, position_ids


def padding_efficiency(plan: Iterable[Batch], lengths: Sequence[int], world_size: int, micro_batch_size: int) -> float:
    """Real tokens / tokens computed (padding included) over the plan's micro-batches."""
    real = padded = 0
    for batch in plan:
        for rank in range(world_size):
            for micro in micro_batches(batch, lengths, rank, world_size, micro_batch_size):
                sizes = [tokens_in(seq, lengths) for seq in micro]
                real += sum(sizes)
                padded += max(sizes, default=1) * max(len(sizes), 1)
    return real / padded if padded else 1.0
