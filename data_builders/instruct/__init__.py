"""MNLU-Instruct: the instruction-tuning sources, their release-format readers and their builders.

`python -m data_builders.instruct build --raw-dir RAW --out BUILT` builds every source found;
`python -m data_builders.instruct mix --built BUILT --recipe RECIPE --out mix.jsonl` mixes them.
"""
