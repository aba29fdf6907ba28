# The two commands of the README: `make demo` and `make test`. Each creates
# .venv on first use (system packages included) and reinstalls when
# pyproject.toml changes. `make` alone lists the targets: each target's
# `## text` is its line there.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help demo demo-host test lint typecheck unit bench tempest clean
.DEFAULT_GOAL := help

help: ## list the targets (this text)
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml scripts/install-system-packages
	bash scripts/install-system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

DEMO_HOST := .demo/compute-dpu-01

# The whole flow: a cloud of four simulated hosts (BlueField-2, BlueField-3, two
# ConnectX-6 Dx) in one process, two servers booted through openstacksdk, then one
# live-migrated and one cold-migrated.
demo: $(STAMP) ## boot a remote-managed and a direct port on simulated hosts, then move them
	$(BIN)/offpath demo

# One simulated BlueField-2 host whose second PF lost its VPD, checked against
# the example nova.conf: which VFs can serve remote-managed ports, and why not.
demo-host: $(STAMP) ## simulate one BlueField-2 host, check its nova.conf, show what is usable
	$(BIN)/offpath sim host --profile bluefield2 --out $(DEMO_HOST) \
		--hostname compute-dpu-01 --vfs 4 --fault no-vpd@0000:03:00.1
	$(BIN)/offpath devspec check --config-file examples/bluefield2-nova.conf \
		--sysfs-root $(DEMO_HOST)
	$(BIN)/offpath vpd decode $(DEMO_HOST)/bus/pci/devices/0000:03:00.0/vpd
	$(BIN)/offpath inventory --config-file examples/bluefield2-nova.conf \
		--sysfs-root $(DEMO_HOST)
	$(BIN)/python examples/place_port.py $(DEMO_HOST) examples/bluefield2-nova.conf

test: lint typecheck unit ## the whole suite: lint, typecheck, unit

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check src tests bench examples tempest
	$(BIN)/ruff format --check src tests bench examples tempest

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

unit: $(STAMP) ## pytest on 2 workers
	$(BIN)/pytest -n 2

bench: $(STAMP) ## the discovery, pool, scheduling, boot, operations, OVN binding and identity benchmarks
	$(BIN)/python bench/discovery.py
	$(BIN)/python bench/pools.py --against-nova
	$(BIN)/python bench/schedule.py --against-nova
	$(BIN)/python bench/boot.py
	$(BIN)/python bench/operations.py
	$(BIN)/python bench/identity.py
	$(BIN)/python bench/ovn_bind.py

# Tempest 47.0.0, in its own .tempest-venv (made on first use), against a fresh
# `offpath serve` with two simulated hosts; tempest/include.txt and exclude.txt
# say which tests, docs/tempest.md why. Exits non-zero when a test failed.
tempest: $(STAMP) ## run OpenStack Tempest against offpath serve; a table per module
	PYTHONPATH=tempest $(BIN)/python -m offpath_tempest $(TEMPEST_ARGS)

clean: ## remove .venv, caches and the demo host
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis .demo .tempest
