# netlib: the two set-up commands of the README live here.
#   make docs   build the site into _build/html (creates .venv, installs [docs])
#   make test   ruff + the whole test suite          (creates .venv, installs [test])
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: docs test venv clean browser-test system-deps browser-deps

# Debian packages (tools/system-deps.sh installs what is missing as root, or
# says what to install and stops). Each target asks only for what it uses:
# the tests and the site read Fashion-MNIST's IDX files; only the browser test
# of the built site needs Chromium.
system-deps:
	bash tools/system-deps.sh dataset-fashion-mnist

browser-deps:
	bash tools/system-deps.sh chromium

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

venv: $(PY)

test: $(PY) system-deps
	$(PIP) install -e '.[test]'
	$(PY) -m ruff check .
	$(PY) -m pytest

docs: $(PY) system-deps
	$(PIP) install -e '.[docs]'
	@start=$$(date +%s); \
	$(PY) -m sphinx -j 2 -W --keep-going -T -b html -c . docs _build/html || exit 1; \
	end=$$(date +%s); \
	echo "Site built in $$((end - start)) s (make clean first for a clean build)."; \
	echo "Open file://$(CURDIR)/_build/html/index.html"

# Headless Chromium loads the built pages (run after `make docs`; needs the
# Debian package chromium, which only this target asks for). Not part of
# `make test`: it tests the built site.
browser-test: $(PY) browser-deps
	$(PIP) install -e '.[test]'
	@test -f _build/html/index.html || { echo "browser-test: no site in _build/html; run make docs first"; exit 1; }
	$(PY) -m pytest tests/test_site.py -m browser -q

clean:
	rm -rf _build .jupyter_cache
