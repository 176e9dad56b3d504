"""Line-numbered readers for the delimited and JSON releases (TSV, CSV, JSON lines, JSON)."""

import csv

from data_builders.instruct.source import fail
from data_builders.readers import open_release


def tab_lines(path):
    """Yield (line, fields) of a tab-separated file without quoting rules (STS-B quotes freely)."""
    with open_release(path) as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                yield lineno, line.rstrip("\n").split("\t")


def csv_rows(path, header, delimiter=","):
    """Yield (line, row dict) of a CSV file (quoted fields may hold newlines) whose first row must
    start with `header`; `line` is where the row starts."""
    with open_release(path, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            first = next(reader, [])
            if first[: len(header)] != list(header):
                fail(path, 1, f"expected a header starting with {','.join(header)}")
            line = reader.line_num + 1
            for row in reader:
                if len(row) != len(first):
                    fail(path, line, f"expected {len(first)} columns, got {len(row)}")
                yield line, dict(zip(first, row))
                line = reader.line_num + 1
        except csv.Error as e:
            fail(path, reader.line_num, f"malformed CSV ({e})")


def csv_columns(path, columns, delimiter=","):
    """Yield (line, row dict) of a CSV file whose header names at least `columns`, in any order:
    releases exported with pandas or `datasets` order (and add to) their columns freely."""
    for lineno, row in csv_rows(path, (), delimiter):
        missing = [c for c in columns if c not in row]
        if missing:
            fail(path, 1, f"the header lacks the column(s) {', '.join(missing)}")
        yield lineno, row
