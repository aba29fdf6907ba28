# The two commands of the README: `make demo` and `make test`. Each creates
# .venv on first use (system packages included) and reinstalls when
# pyproject.toml changes.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml scripts/install-system-packages
	bash scripts/install-system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

DEMO_HOST := .demo/compute-dpu-01

# A simulated BlueField-2 host whose second PF lost its VPD, checked against
# the example nova.conf: which VFs can serve remote-managed ports, and why not.
demo: $(STAMP)
	$(BIN)/offpath sim host --profile bluefield2 --out $(DEMO_HOST) \
		--hostname compute-dpu-01 --vfs 4 --fault no-vpd@0000:03:00.1
	$(BIN)/offpath devspec check --config-file examples/bluefield2-nova.conf \
		--sysfs-root $(DEMO_HOST)
	$(BIN)/offpath vpd decode $(DEMO_HOST)/bus/pci/devices/0000:03:00.0/vpd
	$(BIN)/offpath inventory --config-file examples/bluefield2-nova.conf \
		--sysfs-root $(DEMO_HOST)
	$(BIN)/python examples/place_port.py $(DEMO_HOST) examples/bluefield2-nova.conf

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python bench/discovery.py
	$(BIN)/python bench/pools.py --against-nova
	$(BIN)/python bench/schedule.py --against-nova

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis .demo
