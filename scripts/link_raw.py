"""Lay out a copy of the real release files the way the builders read them, as symbolic links.

    python scripts/link_raw.py /path/to/releases/raw --out .cache/raw-real
    python -m data_builders build --raw-dir .cache/raw-real --out data/eval --split train dev
    python -m data_builders build-instruct --raw-dir .cache/raw-real --out data/instruct

`build` reads each evaluation dataset from RAW/<dataset id>/ and `build-instruct` each MNLU-Instruct
source from RAW/<corpus folder>/<origin>/.... RAW may already be laid out so; a copy of the releases
organised its own way comes with `eval_release_dirs.json` (beside RAW, or --release-dirs) naming each
dataset's folder. This links, into one folder (nothing is copied):
- every evaluation dataset id to the folder the JSON names for it, e.g. ncbi_disease ->
  RAW/NCBI-disease/<origin>/data/NCBI-disease (without the JSON, RAW/<dataset id>/ itself);
- every folder of RAW under its own name (BioRED, LINNAEUS, ..., and the dataset ids of a RAW
  already laid out), which is where both builders look.
The evaluation ids (lower case, underscores) and the corpus folders never share a name.
"""

import argparse
import os
from pathlib import Path

from mnlu.benchmarks import EVAL_DATASETS
from mnlu.cli import InputError, run_main
from mnlu.fileio import claim_output_folder, read_json
from mnlu.records import DATASET_ID


def link_raw(raw, release_dirs, out):
    """Make `out` a folder of links to the release folders under `raw`; returns {link name: target}.

    `release_dirs` None: `raw` names its evaluation folders by dataset id already.
    """
    raw, out = raw.resolve(), Path(out)
    if release_dirs is None:
        if not any((raw / dataset).is_dir() for dataset in EVAL_DATASETS):
            raise InputError(
                f"{raw}: no folder named by an evaluation dataset id ({', '.join(EVAL_DATASETS)}), and no "
                f"eval_release_dirs.json beside it naming them (--release-dirs)"
            )
        return _link(raw, {}, out)
    dirs = read_json(release_dirs)
    if not isinstance(dirs, dict) or not all(isinstance(f, str) for f in dirs.values()):
        raise InputError(f"{release_dirs}: not a JSON object of dataset id -> folder")
    dirs = {dataset: folder for dataset, folder in dirs.items() if not dataset.startswith("_")}  # "_doc": comments
    if not all(DATASET_ID.fullmatch(dataset) for dataset in dirs):  # each becomes a link's name in --out
        raise InputError(f"{release_dirs}: dataset ids must be plain names of letters, digits, '.', '_' and '-'")
    links = {dataset: (release_dirs.parent / folder).resolve() for dataset, folder in dirs.items()}
    missing = [f"{name} -> {target}" for name, target in links.items() if not target.is_dir()]
    if missing:
        raise InputError(f"{release_dirs}: these folders do not exist: {'; '.join(missing)}")
    return _link(raw, links, out)


def _link(raw, links, out):
    """Link `links` ({name: folder}) and every folder of `raw` under its own name into `out`."""
    # DDI: link the whole copy, so the original XML release lies below the link beside the BLURB files
    if "ddi" in links and raw in links["ddi"].parents:
        links["ddi"] = raw / links["ddi"].relative_to(raw).parts[0]
    links |= {
        folder.name: folder for folder in sorted(raw.iterdir()) if folder.is_dir() and not folder.name.startswith("_")
    }
    claim_output_folder(out, "link_raw.py", inputs=[raw])
    for name, target in links.items():
        link = out / name
        if link.is_symlink():
            link.unlink()  # re-running replaces the links, so a moved copy is picked up
        elif link.exists():
            raise InputError(f"{link}: exists and is not a link; choose an empty --out")
        os.symlink(target, link, target_is_directory=True)
    return links


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", type=Path, help="the copy of the release files, e.g. /path/to/releases/raw")
    parser.add_argument(
        "--release-dirs",
        type=Path,
        help="JSON {dataset id: folder holding its release files, relative to this JSON file} "
        "(default: eval_release_dirs.json beside RAW if there is one; without it, RAW/<dataset id>/ are the folders)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the links (made if missing)")
    args = parser.parse_args(argv)
    if not args.raw.is_dir():
        raise InputError(f"{args.raw}: no such folder")
    if args.release_dirs and not args.release_dirs.is_file():
        raise InputError(f"--release-dirs {args.release_dirs}: no such file")
    beside = args.raw.resolve().parent / "eval_release_dirs.json"
    release_dirs = args.release_dirs or (beside if beside.is_file() else None)
    links = link_raw(args.raw, release_dirs, args.out)
    print(f"{len(links)} links in {args.out}")


if __name__ == "__main__":
    run_main("link_raw.py", main)
