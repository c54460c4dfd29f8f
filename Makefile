# The two commands the README starts with:
#   make demo   - install, then train/evaluate/export/predict on the embedded synthetic data set
#   make test   - install, then run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED = 1

.PHONY: install install-test demo test lint benchmark clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel

# The op is compiled against the TensorFlow in the venv, hence no build isolation here.
install: $(VENV)/bin/python
	$(PIP) install -q "tensorflow>=2.20,<2.22" setuptools wheel
	$(PIP) install -q --no-build-isolation -e .

# The tests read PyTorch .pth files; the CPU wheel is enough (a plain `torch` from PyPI is a
# multi-GB CUDA build). Override TORCH_SPEC where another torch>=2.4 is at hand.
TORCH_SPEC ?= torch==2.13.0

install-test: $(VENV)/bin/python
	$(PIP) install -q "tensorflow>=2.20,<2.22" setuptools wheel "$(TORCH_SPEC)"
	$(PIP) install -q --no-build-isolation -e ".[test]"

demo: install
	$(PY) scripts/demo.py --model_dir runs/shapes_demo

test: install-test
	$(PY) -m pytest -q tests

lint: install-test
	$(VENV)/bin/ruff check .

benchmark: install
	$(PY) scripts/benchmark_deform_conv.py

clean:
	rm -rf build *.egg-info efgrnet_tf/ops/*.so runs
