"""Release-format readers: CoNLL/BIO edge cases, the tags -> spans -> tags round trip, errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_builders.readers import (
    ReleaseError,
    bio_spans,
    chunks,
    find_release_file,
    join_tokens,
    read_conll,
    read_jsonl,
    read_lines,
    read_tsv,
    spans_to_tags,
)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_lines_split_at_newlines_only(tmp_path):
    path = tmp_path / "train.source"
    path.write_bytes("Results one\u2028continued\x85.\r\nResults\x0ctwo.\n".encode("utf-8"))
    assert read_lines(path) == ["Results one\u2028continued\x85.", "Results\x0ctwo."]


def test_conll_docstart_variants_crlf_blank_lines_and_tokens_with_white_space(tmp_path):
    path = write(
        tmp_path,
        "dev.tsv",
        "\ufeff-DOCSTART-\tO\r\n\r\nIL-2\tB-protein\r\ngene\tI-protein\r\n\r\n"
        "-DOCSTART- 95369245\r\n\r\nthe 5 mg\tO\r\ndose\tB\r\n"
        "-DOCSTART- (10037531)\n\nSox\t2\tB\nhere\tO\n\n\n\n",
    )
    sentences = read_conll(path)
    assert [s.tokens for s in sentences] == [["IL-2", "gene"], ["the 5 mg", "dose"], ["Sox 2", "here"]]
    assert [s.tags for s in sentences] == [["B-protein", "I-protein"], ["O", "B"], ["B", "O"]]
    assert [s.lines for s in sentences] == [[3, 4], [8, 9], [12, 13]]
    assert [s.doc for s in sentences] == ["", "95369245", "10037531"]


def test_sentence_text_offsets_are_hand_computed():
    text, spans = bio_spans(
        ["The", "IL-2", "gene", "binds", "NF kappa B", "."], ["O", "B-DNA", "I-DNA", "O", "B-protein", "O"]
    )
    assert text == "The IL-2 gene binds NF kappa B ."
    assert spans == [
        {"type": "DNA", "text": "IL-2 gene", "start": 4, "end": 13},
        {"type": "protein", "text": "NF kappa B", "start": 20, "end": 30},
    ]
    assert join_tokens(["a", "bc", "d"]) == ("a bc d", [(0, 1), (2, 4), (5, 6)])


def test_iob_errors_are_read_as_conlleval_does():
    # I- after O, I- after another type, and a B- right after a chunk of the same type
    tags = ["I-X", "I-X", "O", "I-X", "I-Y", "B-Y", "I-Y", "I", "B", "I"]
    assert chunks(tags) == [("X", 0, 2), ("X", 3, 4), ("Y", 4, 5), ("Y", 5, 7), ("", 7, 8), ("", 8, 10)]


TYPES = st.sampled_from(["", "protein", "DNA", "cell_line"])
TOKENS = st.text(alphabet="ab-1 é", min_size=1, max_size=6).map(lambda t: " ".join(t.split())).filter(bool)


@st.composite
def iob2_sentences(draw):
    """Valid IOB2: a sequence of O's and chunks, each chunk B-X followed by I-X's."""
    tags = []
    for piece in draw(st.lists(st.one_of(st.none(), st.tuples(TYPES, st.integers(1, 4))), min_size=1, max_size=12)):
        if piece is None:
            tags.append("O")
        else:
            kind, length = piece
            suffix = f"-{kind}" if kind else ""
            tags += [f"B{suffix}"] + [f"I{suffix}"] * (length - 1)
    return draw(st.lists(TOKENS, min_size=len(tags), max_size=len(tags))), tags


def round_trip(tokens, tags, scheme="IOB2"):
    text, spans = bio_spans(tokens, tags)
    for span in spans:
        assert text[span["start"] : span["end"]] == span["text"]
    return spans_to_tags(join_tokens(tokens)[1], spans, scheme)


@given(iob2_sentences())
def test_valid_iob2_tags_round_trip_through_character_offsets(sentence):
    tokens, tags = sentence
    assert round_trip(tokens, tags) == tags


@given(st.lists(st.sampled_from(["O", "B-X", "I-X", "B-Y", "I-Y", "B", "I"]), min_size=1, max_size=15))
def test_any_tags_round_trip_to_their_conlleval_repair(tags):
    # reference repair, written independently: an I- that does not continue its type becomes B-
    def kind(tag):
        return None if tag == "O" else tag[2:]

    repaired = [
        f"B{t[1:]}" if t.startswith("I") and (i == 0 or kind(tags[i - 1]) != kind(t)) else t for i, t in enumerate(tags)
    ]
    assert round_trip([f"t{i}" for i in range(len(tags))], tags) == repaired


@given(st.lists(st.sampled_from(["O", "I-PAR", "I-INT", "I-OUT"]), min_size=1, max_size=15))
def test_io_tags_round_trip(tags):
    assert round_trip([f"t{i}" for i in range(len(tags))], tags, scheme="IO") == tags


@pytest.mark.parametrize(
    "content, message",
    [
        ("IL-2\tB\ngene I\n", "dev.tsv:2: expected 'token<TAB>tag', found no tab"),
        ("IL-2\tB\ngene\tX-protein\n", "dev.tsv:2: tag 'X-protein' is not O, B, I"),
        ("\tB\n", "dev.tsv:1: empty token"),
        (b"IL-2\tB\n\xff\tO\n", "dev.tsv:2: not UTF-8"),
        ("-DOCSTART-\tO\n\n", "dev.tsv: no sentence"),
    ],
)
def test_malformed_conll_names_file_and_line(tmp_path, content, message):
    path = write(tmp_path, "dev.tsv", content)
    with pytest.raises(ReleaseError, match=message.replace("(", r"\(")) as error:
        read_conll(path)
    assert str(error.value).startswith(str(path))


def test_tsv_skips_its_header_and_names_a_short_row(tmp_path):
    path = write(tmp_path, "dev.tsv", "index\tsentence\tlabel\r\n0\tA @GENE$ text.\t1\r\n\r\n1\tno label\r\n")
    rows = read_tsv(path, ("index", "sentence", "label"), header=("index", "sentence", "label"))
    assert next(rows) == (2, {"index": "0", "sentence": "A @GENE$ text.", "label": "1"})
    with pytest.raises(
        ReleaseError, match=r"dev.tsv:4: expected 3 tab-separated fields \(index, sentence, label\), found 2"
    ):
        next(rows)


def test_jsonl_names_the_bad_line(tmp_path):
    path = write(tmp_path, "train.txt", '{"text": "a"}\n\n["not", "an object"]\n')
    rows = read_jsonl(path)
    assert next(rows) == (1, {"text": "a"})
    with pytest.raises(ReleaseError, match="train.txt:3: expected a JSON object, got list"):
        next(rows)


def test_release_files_are_found_below_the_folder_and_copies_are_refused(tmp_path):
    write(tmp_path, "a/data/dev.tsv", "x\tO\n")
    assert find_release_file(tmp_path, "devel.tsv", "dev.tsv") == tmp_path / "a/data/dev.tsv"
    assert find_release_file(tmp_path, "test.tsv") is None
    write(tmp_path, "b/dev.tsv", "x\tO\n")
    with pytest.raises(ReleaseError, match="2 files named dev.tsv"):
        find_release_file(tmp_path, "dev.tsv")
