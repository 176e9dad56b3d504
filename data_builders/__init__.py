"""Release files of public corpora -> records in the unified format (`mnlu.records`).

    eval/       the 15 evaluation datasets of BLURB and BLUE, one builder each (`build`)
    instruct/   the 33 MNLU-Instruct sources (`build-instruct`) and the mixer with its recipes (`mix`)
    readers.py  the release-format readers and errors both share

`python -m data_builders --help` lists the commands (`__main__.py`).
"""
