# Baton: `make run` to try it, `make test` to check it.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
PORT    ?= 8000

.PHONY: run test lint format clean image base-image wheelhouse lock

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py up --port $(PORT)

test: $(STAMP)
	$(VENV)/bin/pytest -n 3 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var

# --- Deploying (README "Deploying") ------------------------------------------------------
DOCKER  ?= docker
IMAGE   ?= baton:latest

# The image: wheels fetched here first (by this machine's pip, its index and certificates), so
# the build needs no access to the package index; --network host for its apt-get step.
image: wheelhouse
	$(DOCKER) build --network host -t $(IMAGE) .

wheelhouse: $(STAMP) requirements.lock
	$(PY) -m pip download --quiet --only-binary=:all: --no-deps --dest deploy/wheelhouse \
		--requirement requirements.lock

# Where the Dockerfile's base (python:3.11-slim-bookworm) cannot be pulled: made from Debian
# packages with debootstrap, and stand-ins for compose.yaml's postgres and redis images.
base-image:
	DOCKER=$(DOCKER) sh deploy/base-image.sh

# requirements.lock from pyproject.toml; pins already in the lock are kept.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --output-file requirements.lock --generate-hashes \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header
