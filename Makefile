# YodaSpeak: the pack and the local XSOAR toolkit around it.
# `make run` is the main job, `make test` runs every test; both set up what they need.

PYTHON      ?= python3
VENV        := .venv
SDK_VENV    := .venv-sdk
PY          := $(VENV)/bin/python
SDK         := $(SDK_VENV)/bin/demisto-sdk
PACK        := Packs/YodaSpeak
INTEGRATION := $(PACK)/Integrations/YodaSpeak
RUNTIME     := .xsoar-runtime

# make run TEXT="..."   |  make run CMD='!yoda-speak-translate text="..."'
# make run FAULT=429    |  make run REAL=1 (the real FunTranslations service; FUNTRANSLATIONS_API_KEY optional)
TEXT  ?= The prequel movies are more entertaining than the new Disney movies
CMD   ?=
FAULT ?=
REAL  ?=
ARGS  ?=
DETAILS ?= The prequel movies are more entertaining than the new Disney movies

.PHONY: run setup runtime test test-unit test-toolkit lint sdk-checks validate format-check docs-check \
        secrets pack upload playbook test-playbooks bench clean

run: setup
	$(PY) -m xsoar_local run --integration $(INTEGRATION) \
	  $(if $(CMD),--command '$(CMD)',--text "$(TEXT)") \
	  $(if $(FAULT),--fault '$(FAULT)') $(if $(REAL),--real) $(ARGS)

# ---- set-up -----------------------------------------------------------------------------
setup: $(VENV)/.installed $(SDK_VENV)/.installed $(RUNTIME)/.verified

$(VENV)/.installed: requirements/dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(SDK_VENV)/.installed: requirements/sdk.txt requirements/sdk-constraints.txt
	test -x $(SDK_VENV)/bin/python || $(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/python -m pip install --quiet -r requirements/sdk.txt -c requirements/sdk-constraints.txt
	touch $@

runtime $(RUNTIME)/.verified: $(VENV)/.installed xsoar_local/runtime.py
	$(PY) -m xsoar_local.runtime
	touch $(RUNTIME)/.verified

# ---- tests --------------------------------------------------------------------------------
test: setup lint test-unit test-toolkit sdk-checks test-playbooks

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy xsoar_local $(INTEGRATION)/YodaSpeak.py

# The integration's unit tests, with 100% line and branch coverage of YodaSpeak.py enforced.
test-unit: setup
	cd $(INTEGRATION) && ../../../../$(PY) -m pytest YodaSpeak_test.py \
	  --rootdir=../../../.. -p no:cacheprovider \
	  --cov=YodaSpeak --cov-branch --cov-report=term-missing --cov-fail-under=100

test-toolkit: setup
	$(PY) -m pytest tests

sdk-checks: validate format-check docs-check secrets pack

validate: setup
	$(SDK) validate -a
	$(SDK) validate -i $(PACK)

format-check docs-check secrets: setup

pack: setup
	@echo "make pack: not built yet"

upload: setup
	@echo "make upload: not built yet"

# make playbook DETAILS="..."  runs the pack's "Yoda Speak" playbook on an incident with those details (REAL=1: real service)
playbook: setup
	$(PY) -m xsoar_local playbook --playbook "Yoda Speak" --incident details="$(DETAILS)" $(if $(REAL),--real) $(ARGS)

# Every Packs/*/TestPlaybooks/*.yml, each on a fresh incident and its own local service; fails if one does not complete.
test-playbooks: setup
	$(PY) -m xsoar_local test-playbooks $(if $(REAL),--real)

bench: setup
	@echo "make bench: not built yet"

clean:
	rm -rf $(VENV) $(SDK_VENV) $(RUNTIME) dist .xsoar-local .pytest_cache .mypy_cache .ruff_cache .coverage
