# The two commands the README promises: `make demo` and `make test`.
# Everything they need is installed here: a virtualenv in .venv, Python packages from PyPI,
# and the control-plane binaries built from the Go module proxy into ~/.cache/janus.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test venv bin lint unit clean assets browser image test-image

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo "[make] creating virtualenv in $(VENV) and installing janus with test extras"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

bin:
	@tests/cluster/build.sh

# Web UI assets (xterm.js, htmx) from npm, pinned and hash-checked, into janus/web/static/vendor/.
assets:
	@scripts/fetch-web-assets.sh

# Debian's Chromium for the browser tests (never `playwright install`).
browser:
	@scripts/install-chromium.sh

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

# JANUS_REQUIRE_CLUSTER=1: a missing control plane fails the run instead of skipping tests.
test: venv bin assets browser image lint
	@JANUS_REQUIRE_CLUSTER=1 $(PY) -m pytest $(PYTEST_ARGS)

unit: venv
	@$(PY) -m pytest -m "not k8s_real and not browser and not image" $(PYTEST_ARGS)

demo: venv bin assets
	@$(VENV)/bin/janus dev up

clean:
	rm -rf $(VENV) .janus-dev .pytest_cache .ruff_cache
