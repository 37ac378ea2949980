# Parley: `make demo` runs the main job offline; `make test` runs the test suite.
# Both install what is missing first (Debian packages, virtualenv, Python packages).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APERTIUM_PACKAGES := apertium apertium-apy apertium-eng-spa apertium-fr-es apertium-es-pt apertium-eng-cat
STAMP := $(VENV)/.installed

.PHONY: demo test console lint typecheck bench system-packages clean

demo: $(STAMP) system-packages
	$(BIN)/parley demo

test: $(STAMP) system-packages
	$(BIN)/pytest -q

console: $(STAMP) system-packages
	$(BIN)/parley console

lint: $(STAMP)
	$(BIN)/ruff check bot workers config tests bench demo

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP) system-packages
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/detect.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Apertium (the offline translation engine) comes from Debian packages. Installing them
# needs root; without root the command says which packages are missing.
system-packages:
	@missing=""; for p in $(APERTIUM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
