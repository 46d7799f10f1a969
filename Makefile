# The two commands the README promises: `make demo` and `make test`.
# Everything they need is installed here: a virtualenv in .venv, Python packages from PyPI,
# and the control-plane binaries built from the Go module proxy into ~/.cache/janus.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-test.lock | sha1sum | cut -c1-12)

.PHONY: demo test venv bin lint unit clean assets browser postgres image test-image mutation \
	screenshots

venv: $(STAMP)

# Every dependency at the version and hashes requirements-test.lock pins (scripts/lock.sh
# regenerates it), then Janus itself editable without dependencies. The distribution was called
# `janus` before it became `janus-access`: an old editable install of that name is removed first.
$(STAMP): pyproject.toml requirements-test.lock
	@echo "[make] creating virtualenv in $(VENV) and installing janus with test extras"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet --require-hashes -r requirements-test.lock
	@! $(PY) -m pip show --quiet janus 2>/dev/null || $(PY) -m pip uninstall --quiet -y janus
	@$(PY) -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

bin:
	@tests/cluster/build.sh

# Web UI assets (xterm.js, htmx) from npm, pinned and hash-checked, into janus/web/static/vendor/.
assets:
	@scripts/fetch-web-assets.sh

# Debian's Chromium for the browser tests (never `playwright install`).
browser:
	@scripts/install-chromium.sh

# Debian's PostgreSQL server for the tests marked postgres (started per session by the tests).
postgres:
	@scripts/install-postgresql.sh

# The container image janus:dev: the Containerfile's image, built here with buildah from Debian
# packages and a cached wheelhouse (scripts/build-image.sh; needs root; ~/.cache/janus/image).
image: venv
	@scripts/build-image.sh

# Only the image's tests (tests/image, podman): the image, the controller and web app in it.
test-image: venv bin image
	@JANUS_REQUIRE_CLUSTER=1 $(PY) -m pytest -m image tests/image $(PYTEST_ARGS)

lint: venv
	@$(VENV)/bin/ruff check janus tests bench
	@$(VENV)/bin/lint-imports --no-cache
	@$(VENV)/bin/mypy

# JANUS_REQUIRE_CLUSTER=1: a missing control plane fails the run instead of skipping tests.
test: venv bin assets browser postgres image lint
	@JANUS_REQUIRE_CLUSTER=1 $(PY) -m pytest $(PYTEST_ARGS)

unit: venv
	@$(PY) -m pytest -m "not k8s_real and not browser and not image and not postgres and not faults" $(PYTEST_ARGS)

# Mutation testing of the pure decision modules (mutmut; not in CI, ~minutes per module):
# scripts/mutation.sh [approval|evaluate|lifecycle|codeowners]; scores in docs/development.md.
mutation: venv
	@scripts/mutation.sh

demo: venv bin assets
	@scripts/install-bubblewrap.sh || echo "make demo: pod shells will not be isolated" >&2
	@$(VENV)/bin/janus dev up

# The documentation's screenshots (docs/screenshots/*.png, fixed names): the demo walked in
# Chromium as alice, bob and root (scripts/screenshots.py).
screenshots: venv bin assets browser
	@scripts/install-bubblewrap.sh || echo "make screenshots: pod shells will not be isolated" >&2
	@$(PY) scripts/screenshots.py docs/screenshots

clean:
	rm -rf $(VENV) .janus-dev .pytest_cache .ruff_cache .mypy_cache
