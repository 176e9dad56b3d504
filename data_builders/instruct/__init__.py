"""MNLU-Instruct: the 33 instruction-tuning sources, their release-format readers and builders, and
the mixer that samples a training file from them by a recipe (`mix.py`, `recipes/`).

`python -m data_builders build-instruct --raw-dir RAW --out BUILT` builds every source found;
`python -m data_builders mix --built BUILT --recipe RECIPE --out mix.jsonl` mixes them.
"""
