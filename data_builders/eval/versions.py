"""HoC, DDI and ChemProt are in both BLURB and BLUE, which built different instances from them.

The paper's Table 5 counts are BLUE's (315 HoC abstracts, 5,761 DDI and 14,744 ChemProt pairs;
BLURB's test sets hold 371, 5,716 and 15,745). The two releases name their files alike
(`train/dev/test.tsv`); BLUE's begin with a header line whose first column is `index`
(`blue/bert/create_*_bert.py`, `blue/hoc/create_hoc.py`), BLURB's do not. A record built from
either carries `"version"`, and evaluate.py's report names it.
"""

from data_builders.readers import first_line, require
from mnlu.benchmarks import RELEASES

VERSIONS = {v: RELEASES[v] for v in ("blurb", "blue")}  # data_builders build --version
VERSIONED = ("hoc", "ddi", "chemprot")  # the evaluation datasets in both benchmarks with two builds


def release_version(path, requested):
    """The release `path` is from ("blue" or "blurb"); a `requested` version it is not is an error."""
    found = "blue" if first_line(path).split("\t")[0] == "index" else "blurb"
    require(
        requested in (None, found),
        f"{path}:1",
        f"--version {requested} asks for {VERSIONS[requested or found]}'s file, but this is "
        f"{VERSIONS[found]}'s (BLUE's files begin with a header line whose first column is 'index')",
    )
    return found
