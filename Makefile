# Two entry points for a fresh Debian machine with Python 3.11 and a JDK:
#   make demo  - set up, train the zebraify sample, generate its app into build/zebraify, check it
#   make test  - set up and run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAMPLES := build/samples

.PHONY: demo test setup system-deps benchmark goldens clean

$(VENV)/.installed: pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the wheels the generator is tested with (see docs/ARCHITECTURE.md).
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	# ExecuTorch after torch, so pip keeps the torch above; versions as in generator/versions.py
	# (EXECUTORCH_PIP, TORCHAO_PIP): the exporter must never be newer than the apps' runtime.
	$(PY) -m pip install --quiet executorch==1.4.1 torchao==0.18.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# JUnit 4 runs the generated host tests; Debian's Python needs python3-venv for `-m venv`.
# Debian's gradle is not installed: its wrapper jar is not an official one, so scaffold would
# not use it (an official Gradle 8.13, e.g. Android Studio's, is used when present).
system-deps:
	@PKGS=""; \
	[ -f /usr/share/java/junit4.jar ] || PKGS="$$PKGS junit4"; \
	$(PYTHON) -c "import ensurepip" 2>/dev/null || PKGS="$$PKGS python3-venv"; \
	if [ -n "$$PKGS" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$PKGS >/dev/null; \
	fi

setup: $(VENV)/.installed system-deps

$(SAMPLES)/zebraify/cyclegan.pt: $(VENV)/.installed samples/zebraify/*.py samples/reproducible.py
	$(PY) samples/zebraify/train.py --out $(SAMPLES)/zebraify

$(SAMPLES)/classifier/classifier.pt: $(VENV)/.installed samples/classifier/*.py samples/reproducible.py samples/classifier/labels.txt
	$(PY) samples/classifier/train.py --out $(SAMPLES)/classifier

$(SAMPLES)/detector/detector.pt: $(VENV)/.installed samples/detector/*.py samples/reproducible.py samples/detector/labels.txt
	$(PY) samples/detector/train.py --out $(SAMPLES)/detector

demo: setup $(SAMPLES)/zebraify/cyclegan.pt
	$(VENV)/bin/scaffold new zebraify --model $(SAMPLES)/zebraify/cyclegan.pt \
	  --sample-image $(SAMPLES)/zebraify/horse.png --output build/zebraify --force
	$(VENV)/bin/scaffold check build/zebraify

# The samples are trained first, alone: two training threads beside other tests crawl.
test: setup $(SAMPLES)/zebraify/cyclegan.pt $(SAMPLES)/classifier/classifier.pt $(SAMPLES)/detector/detector.pt
	SCAFFOLD_SAMPLES=$(SAMPLES) $(PY) -m pytest -n 2 -q tests

benchmark: setup
	$(PY) benchmarks/bench_new.py
	$(PY) benchmarks/bench_pixels.py
	$(PY) benchmarks/bench_runtimes.py

goldens: setup
	$(PY) tests/refresh_goldens.py

clean:
	rm -rf build
