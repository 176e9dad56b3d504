# Two commands on a fresh machine: `make test` and `make demo`.
# Both create .venv with the CPU build of torch, install mnlu into it, then run.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0

.PHONY: install test demo clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[test,plot]'
	touch $@

test: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/python scripts/demo.py

clean:
	rm -rf $(VENV)
