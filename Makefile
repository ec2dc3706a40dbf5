# netlib: the two set-up commands of the README live here.
#   make docs   build the site into _build/html  (creates .venv, installs the lock)
#   make test   ruff + the whole test suite       (creates .venv, installs the lock)
#   make lock   re-solve requirements/lock.txt after a change to the dependencies
#               in pyproject.toml (keeps every other pin); make lock-upgrade moves
#               every pin to the newest release. See the README, "Set-up".
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

# One lock for the whole environment: the extras test, docs and bench (derive is
# a subset), pip and the build backend setuptools, each pinned with its hashes.
# Made by uv for CPython 3.11 on Linux x86_64, whatever machine runs `make lock`.
LOCK      := requirements/lock.txt
LOCK_IN   := requirements/lock.in
UV_LOCK   := requirements/uv.txt
UV        := $(VENV)/bin/uv
UV_FLAGS  := --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu
INSTALLED := $(VENV)/.installed-from-lock

.PHONY: docs test venv install clean browser-test system-deps browser-deps lock lock-upgrade \
	browser-assets serve

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

venv: $(PY)

# Every package from the lock, hash-checked (pip refuses anything unpinned or
# whose file does not match), then netlib itself, editable, with no dependency
# resolution and built by the locked setuptools. Redone when the lock or
# pyproject.toml changes.
$(INSTALLED): $(LOCK) pyproject.toml | $(PY)
	@$(PY) -c 'import sys; v = sys.version_info[:2]; v == (3, 11) or print(f"note: $(LOCK) is solved for Python 3.11; this venv has {v[0]}.{v[1]}")'
	$(PIP) install --require-hashes -r $(LOCK)
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

install: $(INSTALLED)

test: $(INSTALLED) system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest

# The Python that the site's "Ask a question" page (docs/ask.md) runs in the
# reader's browser, served by the site itself: Pyodide from npm (pinned with
# its integrity hash in package-lock.json, installed by `npm ci`), the SymPy
# and mpmath wheels of requirements/browser-wheels.txt (sha256-checked), and
# a wheel of the engine built from this checkout (tools/browser_assets.py).
# conf.py copies $(BROWSER_ASSETS) into the site's _static/.
BROWSER_ASSETS := .cache/browser-assets
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make docs needs npm to fetch Pyodide for the Ask page; on Debian: sudo apt-get install nodejs npm" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

browser-assets: $(INSTALLED) node_modules/.package-lock.json
	$(PY) tools/browser_assets.py $(BROWSER_ASSETS)

docs: $(INSTALLED) system-deps browser-assets
	@start=$$(date +%s); \
	$(PY) -m sphinx -j 2 -W --keep-going -T -b html -c . docs _build/html || exit 1; \
	end=$$(date +%s); \
	echo "Site built in $$((end - start)) s (make clean first for a clean build)."; \
	echo "Open file://$(CURDIR)/_build/html/index.html"; \
	echo "(the Ask page runs Python, which browsers refuse from files: make serve)"

# The built site over HTTP on this machine only (the Ask page's WebAssembly
# needs it); Ctrl-C stops it. PORT=8001 make serve picks another port.
PORT ?= 8000
serve:
	@test -f _build/html/index.html || { echo "serve: no site in _build/html; run make docs first"; exit 1; }
	@echo "Serving _build/html on http://127.0.0.1:$(PORT)/ (Ask a question: http://127.0.0.1:$(PORT)/ask.html); Ctrl-C stops."
	$(PYTHON) -m http.server --bind 127.0.0.1 --directory _build/html $(PORT)

# Headless Chromium loads the built pages (run after `make docs`; needs the
# Debian package chromium, which only this target asks for). Not part of
# `make test`: it tests the built site.
browser-test: $(INSTALLED) browser-deps
	@test -f _build/html/index.html || { echo "browser-test: no site in _build/html; run make docs first"; exit 1; }
	$(PY) -m pytest tests/test_site.py -m browser -q
	$(PY) -m pytest tests/test_ask_browser.py -m browser -q

# The lock tool, uv, is itself pinned with its hash in requirements/uv.txt.
$(UV): $(UV_LOCK) | $(PY)
	$(PIP) install --require-hashes -r $(UV_LOCK)
	@touch $@

# The wheels the site serves to the browser (the Ask page): SymPy and what it
# needs, at the versions of the lock above, with their hashes.
BROWSER_WHEELS_LOCK = $(UV) pip compile $(UV_FLAGS) requirements/browser-wheels.in -c $(LOCK) \
	-o requirements/browser-wheels.txt

# Needs PyPI. `make lock` keeps the pins already in the lock and solves only
# what pyproject.toml or requirements/lock.in changed; `make lock-upgrade`
# takes the newest releases of everything (the lock tool included).
lock: $(UV)
	$(UV) pip compile $(UV_FLAGS) pyproject.toml $(LOCK_IN) --extra test --extra docs --extra bench -o $(LOCK)
	$(BROWSER_WHEELS_LOCK)

lock-upgrade: $(UV)
	$(UV) pip compile $(UV_FLAGS) --upgrade requirements/uv.in -o $(UV_LOCK)
	$(UV) pip compile $(UV_FLAGS) --upgrade pyproject.toml $(LOCK_IN) --extra test --extra docs --extra bench -o $(LOCK)
	$(BROWSER_WHEELS_LOCK)

clean:
	rm -rf _build .jupyter_cache
