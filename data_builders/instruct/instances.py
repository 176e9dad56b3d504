"""Read annotations -> unified records: one place for record ids, the split and label expansion.

Every MNLU-Instruct record is a train-split record whose id is `<source>-<key>`; labels are
passed as released and expanded by `mnlu.tasks` through the source's `labels` map.
"""

from mnlu.tasks import instance_rng, make_record

SPLIT = "train"


def span_instance(source, key, text, labels, spans, task="ner"):
    """NER (or event-trigger) record over `text`; spans are {label, text, start, end}."""
    return make_record(task, id=f"{source.name}-{key}", dataset=source.name, split=SPLIT, text=text,
                       labels=list(labels), spans=spans, expand=source.labels)


def relation_instance(source, key, text, head, tail, options, answer, negative):
    """RE record between two typed mentions `head`/`tail` = (type, span text)."""
    return make_record("re", id=f"{source.name}-{key}", dataset=source.name, split=SPLIT, text=text,
                       type_1=head[0], span_1=head[1], type_2=tail[0], span_2=tail[1],
                       options=list(options), answer=answer, negative=negative, expand=source.labels)


def choice_instance(source, task, key, **fields):
    """A dc / nli / eac record with the source's label expansion."""
    return make_record(task, id=f"{source.name}-{key}", dataset=source.name, split=SPLIT,
                       expand=source.labels, **fields)


def negative_pairs(key, candidates, related, limit):
    """At most `limit` candidate pairs not in `related`, drawn with a generator seeded by `key`.

    Corpora that annotate relations at document level list only the positive pairs; sampling as
    many negatives as positives keeps the no-relation option frequent but not dominant.
    """
    pool = [pair for pair in candidates if pair not in related and pair[::-1] not in related]
    instance_rng(key).shuffle(pool)
    return pool[:limit]
