# batteryloop — the two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKS ?= 2000
SEED ?= 42
YEARS ?= 10

.PHONY: install demo test test-postgres test-fast bench mutation clean system-deps interop-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Seed a pilot on the embedded SQLite store (./var/) and serve the dashboard on http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/batteryloop demo --packs $(PACKS) --years $(YEARS) --seed $(SEED)

system-deps:
	bash scripts/system-deps.sh

## The Eclipse Dataspace TCK (interop/dsp-tck) and a minimal Eclipse EDC (interop/edc), resolved from Maven
## Central into var/m2 (needs java and mvn: system-deps installs them); tests/interop/test_dsp_tck.py and
## test_edc_peer.py run them against a node
TCK_CLASSPATH := var/dsp-tck/classpath.txt
EDC_CLASSPATH := var/edc/classpath.txt
var/%/classpath.txt: interop/%/pom.xml
	@mkdir -p $(dir $@)
	mvn -B -q -Dmaven.repo.local=$(CURDIR)/var/m2 -f $< dependency:build-classpath -Dmdep.outputFile=$(CURDIR)/$@

## The Eclipse Tractus-X SDK in a venv of its own (its wheel wants Python >= 3.12 and pins FastAPI/httpx below
## ours); tests/interop/test_dtr_tractusx_sdk.py runs it against the node's Digital Twin Registry
TRACTUSX_SDK := var/tractusx-sdk-venv/bin/python
$(TRACTUSX_SDK):
	bash scripts/tractusx-sdk-venv.sh var/tractusx-sdk-venv

interop-deps: system-deps $(TCK_CLASSPATH) $(EDC_CLASSPATH) $(TRACTUSX_SDK)

## Install everything (PostgreSQL included) and run the whole test suite on SQLite and PostgreSQL
test: $(STAMP) system-deps interop-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=30

## Every test that uses a store again, on PostgreSQL (tests parametrized over both stores already ran on
## both in `make test`; tests that touch no store are deselected — see tests/conftest.py)
test-postgres: $(STAMP) system-deps
	BATTERYLOOP_TEST_STORE=postgresql $(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not slow"

## Mutation testing of the core modules: the changed ones, or MODULE=passport.lifecycle (several: space-separated),
## or MODULE=--all; prints the kill rate per module (docs/testing.md). Slow: not part of make test.
mutation: $(STAMP)
	$(BIN)/python bench/mutation.py $(MODULE)

bench: $(STAMP)
	@ls bench/*.py

clean:
	rm -rf $(VENV) var .pytest_cache build *.egg-info src/*.egg-info
