"""mnlu: the BioMistral-NLU recipe, readable end to end.

One unified instruction format (`mnlu.tasks`), one record contract (`mnlu.records`), one parser of
model outputs (`mnlu.parse`); the scripts at the top of the repository (train, merge, infer,
evaluate) read and write those records.
"""

__version__ = "0.2.0"  # CHANGELOG.md says what each version changed
