# YodaSpeak: the pack and the local XSOAR toolkit around it.
# `make run` is the main job, `make test` runs every test; both set up what they need.

PYTHON      ?= python3
VENV        := .venv
SDK_VENV    := .venv-sdk
PY          := $(VENV)/bin/python
SDK         := $(SDK_VENV)/bin/demisto-sdk
PACK        := Packs/YodaSpeak
INTEGRATION := $(PACK)/Integrations/YodaSpeak
PLAYBOOK    ?= Yoda Speak
STANDIN     ?= funtranslations
RUNTIME     := .xsoar-runtime

# make run TEXT="..."   |  make run CMD='!yoda-speak-translate text="..."'
# make run FAULT=429    |  make run REAL=1 (the real FunTranslations service; FUNTRANSLATIONS_API_KEY optional)
TEXT  ?= The prequel movies are more entertaining than the new Disney movies
CMD   ?=
FAULT ?=
REAL  ?=
ARGS  ?=
DETAILS ?= The prequel movies are more entertaining than the new Disney movies

.PHONY: help wheel run setup runtime test test-unit test-toolkit lint sdk-checks validate format-check docs-check \
        secrets pack upload playbook test-playbooks serve server bench clean \
        browser screenshot

# User values reach the commands through the environment, unexpanded, and are never spliced into a recipe:
# xsoar_local/makevars.py builds the command line ($, quotes, spaces and newlines arrive as typed).
unexport TEXT CMD FAULT REAL ARGS DETAILS PLAYBOOK STANDIN
export MAKEVAR_TEXT = $(value TEXT)
export MAKEVAR_CMD = $(value CMD)
export MAKEVAR_FAULT = $(value FAULT)
export MAKEVAR_REAL = $(value REAL)
export MAKEVAR_ARGS = $(value ARGS)
export MAKEVAR_DETAILS = $(value DETAILS)
export MAKEVAR_INTEGRATION = $(INTEGRATION)
export MAKEVAR_PLAYBOOK = $(value PLAYBOOK)
export MAKEVAR_STANDIN = $(value STANDIN)

run: setup ## translate TEXT (or run CMD) with the pack's integration against the local service
	@$(PY) -m xsoar_local.makevars run

# ---- set-up -----------------------------------------------------------------------------
# Set-up reports on stderr, so that `make run ARGS=--json` prints nothing but the JSON on stdout.
# The runtime check comes first and needs only the system Python: without a runtime it fails in one line, before
# a minute of installs.
setup: $(RUNTIME)/.verified $(VENV)/.installed $(SDK_VENV)/.installed ## create .venv, .venv-sdk and .xsoar-runtime

$(VENV)/.installed: requirements/dev.txt requirements/demisto-py.txt pyproject.toml standins/pyproject.toml | $(RUNTIME)/.verified
	@echo "setup: installing the pinned dependencies into $(VENV)" >&2
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet -r requirements/dev.txt >&2
	@$(PY) -m pip install --quiet --no-deps -r requirements/demisto-py.txt >&2
	@$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . -e ./standins >&2
	@touch $@

$(SDK_VENV)/.installed: requirements/sdk.txt requirements/sdk-constraints.txt | $(RUNTIME)/.verified
	@echo "setup: installing demisto-sdk into $(SDK_VENV)" >&2
	@test -x $(SDK_VENV)/bin/python || $(PYTHON) -m venv $(SDK_VENV)
	@$(SDK_VENV)/bin/python -m pip install --quiet -r requirements/sdk.txt -c requirements/sdk-constraints.txt >&2
	@touch $@

# xsoar_local.runtime uses the standard library only, so the system Python checks (and fetches) the runtime.
runtime $(RUNTIME)/.verified: xsoar_local/runtime.py ## fetch and verify the XSOAR runtime (XSOAR_RUNTIME_DIR, ../shared, or the pinned URLs)
	@$(PYTHON) -m xsoar_local.runtime >&2
	@touch $(RUNTIME)/.verified

# ---- tests --------------------------------------------------------------------------------
test: setup lint test-unit test-toolkit sdk-checks test-playbooks ## every check CI runs

lint: setup ## ruff, ruff format --check, mypy --strict, import-linter contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy xsoar_local standins $(INTEGRATION)/YodaSpeak.py $(INTEGRATION)/YodaSpeak_test.py
	$(VENV)/bin/lint-imports --config .importlinter

# The integration's unit tests, with 100% line and branch coverage of YodaSpeak.py enforced.
test-unit: setup ## the integration's unit tests, 100% line and branch coverage
	cd $(INTEGRATION) && COVERAGE_FILE=$(CURDIR)/.coverage HYPOTHESIS_STORAGE_DIRECTORY=$(CURDIR)/.hypothesis \
	  ../../../../$(PY) -m pytest YodaSpeak_test.py \
	  --rootdir=../../../.. -p no:cacheprovider \
	  --cov=YodaSpeak --cov-branch --cov-report=term-missing --cov-fail-under=100

test-toolkit: setup browser ## the toolkit's tests (tests/)
	CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) $(PY) -m pytest tests

# The web War Room's browser tests (tests/web) drive Debian's chromium through Debian's chromedriver; set-up installs
# both when they are missing (as root; CI runs as root). Selenium is pointed at them, so nothing downloads a browser.
CHROMIUM     ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
browser: ## install Debian's chromium and chromium-driver for the browser tests (as root)
	@if [ -x "$(CHROMIUM)" ] && [ -x "$(CHROMEDRIVER)" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "setup: the browser tests need Debian's chromium and chromium-driver ($(CHROMIUM), $(CHROMEDRIVER)):" \
	       "run 'sudo apt-get install -y chromium chromium-driver', or set CHROMIUM=... CHROMEDRIVER=..." >&2; \
	  exit 2; \
	fi; \
	echo "setup: installing Debian's chromium and chromium-driver for the browser tests" >&2; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q >&2 && apt-get install -y -q chromium chromium-driver >&2

# Re-draws docs/images/war-room.png (the README's screenshot) from the browser test that translates in the War Room.
screenshot: setup browser ## redraw the README's War Room screenshot
	WAR_ROOM_SCREENSHOT=$(CURDIR)/docs/images/war-room.png CHROMIUM=$(CHROMIUM) CHROMEDRIVER=$(CHROMEDRIVER) \
	  $(PY) -m pytest tests/web/test_browser.py -q -k "translate_shows_the_table"

# ---- demisto-sdk: validate, format, docs, secrets, the uploadable pack -----------------------
# Every sdk step runs offline. DEMISTO_SDK_OFFLINE_ENV must stay unset (validate and format refuse
# to run with it); the two variables below stop the version check against the package index and
# the "not a content repository" banner. Settings: .demisto-sdk-conf -> validation_config.toml.
SDK_RUN       := env -u DEMISTO_SDK_OFFLINE_ENV DEMISTO_SDK_SKIP_VERSION_CHECK=1 \
                 DEMISTO_SDK_IGNORE_CONTENT_WARNING=1 $(SDK)
PACK_DIST     := dist
PACK_ZIP      := $(PACK_DIST)/YodaSpeak.zip
PACK_UNIFIED  := $(PACK_DIST)/integration-YodaSpeak.yml
# Text files of the pack as git sees them (tracked or new, not ignored): what `secrets` scans.
PACK_TEXT_FILES = $(shell git ls-files -co --exclude-standard $(PACK) | grep -v '\.png$$' | paste -sd, -)
# Extra flags for `demisto-sdk upload`, e.g. PACK_UPLOAD_ARGS="--insecure" or "-x" (XSIAM / XSOAR 8).
PACK_UPLOAD_ARGS ?=

sdk-checks: validate format-check docs-check secrets pack ## every demisto-sdk check

# Both modes, strict config, zero errors; the pack ignores no error (.pack-ignore is empty).
validate: setup ## demisto-sdk validate -a and -i the pack
	$(SDK_RUN) validate -a
	$(SDK_RUN) validate -i $(PACK)

# `demisto-sdk format -nv` on a temporary copy of the pack must change nothing.
format-check: setup ## demisto-sdk format changes nothing
	DEMISTO_SDK="$(SDK)" $(PY) tools/format_check.py

# The generated READMEs match `demisto-sdk generate-docs`; the logo and the playbook picture match
# the scripts that draw them.
docs-check: setup ## generated READMEs, logo and playbook image are current
	DEMISTO_SDK="$(SDK)" $(PY) tools/docs_check.py
	$(PY) tools/make_logo.py --check
	$(PY) tools/make_playbook_image.py --check

secrets: setup ## demisto-sdk secrets on the pack
	$(SDK_RUN) secrets -i "$(PACK_TEXT_FILES)"

# dist/YodaSpeak.zip (upload it in Cortex XSOAR's Marketplace page: "Upload pack") and dist/integration-YodaSpeak.yml
# (the unified integration: code, logo, description in one file); the same two for Cortex XSIAM (marketplacev2) in
# dist/marketplacev2/. Each is prepared for its marketplace: for XSIAM, playbook names, descriptions and
# ${incident.*} become alert ones; README text in <~XSIAM>...</~XSIAM> or <~XSOAR>...</~XSOAR> is kept for that
# marketplace only. prepare-content, not zip-packs: zip-packs (1.39) builds for XSOAR only, and rewrites the
# pack's README in place.
PACK_XSIAM := $(PACK_DIST)/marketplacev2
pack: setup ## dist/YodaSpeak.zip and the unified YAML, for XSOAR and XSIAM
	rm -rf $(PACK_ZIP) $(PACK_UNIFIED) $(PACK_XSIAM)
	mkdir -p $(PACK_XSIAM)
	$(SDK_RUN) prepare-content -i $(PACK) -o $(PACK_DIST) -mp xsoar
	$(SDK_RUN) prepare-content -i $(INTEGRATION) -o $(PACK_DIST) -mp xsoar
	$(SDK_RUN) prepare-content -i $(PACK) -o $(PACK_XSIAM) -mp marketplacev2
	$(SDK_RUN) prepare-content -i $(INTEGRATION) -o $(PACK_XSIAM) -mp marketplacev2
	@for file in $(PACK_ZIP) $(PACK_UNIFIED) $(PACK_XSIAM)/YodaSpeak.zip $(PACK_XSIAM)/integration-YodaSpeak.yml; do \
	  test -s $$file || { echo "make pack: $$file was not written" >&2; exit 1; }; done
	@echo "make pack: wrote $(PACK_ZIP) and $(PACK_UNIFIED) (Cortex XSOAR), and the same two in $(PACK_XSIAM)/ (Cortex XSIAM)"

# make upload DEMISTO_BASE_URL=https://xsoar.example.com DEMISTO_API_KEY=...  [XSIAM_AUTH_ID=...]
# Installs the pack on a server with `demisto-sdk upload` (the only step that needs a network).
upload: pack-upload-env setup ## install the pack on a server (DEMISTO_BASE_URL, DEMISTO_API_KEY)
	mkdir -p $(PACK_DIST)
	$(SDK_RUN) upload -i $(PACK) -z --keep-zip $(PACK_DIST) $(PACK_UPLOAD_ARGS)

.PHONY: pack-upload-env
pack-upload-env:
	@test -n "$$DEMISTO_BASE_URL" || { echo "make upload: DEMISTO_BASE_URL is not set; set it to the server's address, e.g. DEMISTO_BASE_URL=https://xsoar.example.com" >&2; exit 2; }
	@test -n "$$DEMISTO_API_KEY" || { echo "make upload: DEMISTO_API_KEY is not set; create an API key on the server (Settings > API Keys) and set DEMISTO_API_KEY to it (XSOAR 8 also needs XSIAM_AUTH_ID, the key's ID)" >&2; exit 2; }

# make playbook DETAILS="..."  runs the pack's "Yoda Speak" playbook (PLAYBOOK=... another) on an incident with
# those details (REAL=1: the real service)
playbook: setup ## run the pack's playbook on an incident with DETAILS
	@$(PY) -m xsoar_local.makevars playbook

# Every Packs/*/TestPlaybooks/*.yml, each on a fresh incident and its own local service; fails if one does not complete.
test-playbooks: setup ## run every test playbook of Packs/ (REAL=1: the real services)
	$(PY) -m xsoar_local test-playbooks $(if $(REAL),--real)

# API calls for 1,000 translations (YodaSpeak vs a naive client), in-process overhead and cold start, against the
# local service. BENCH_ARGS="--markdown docs/benchmark.md" also rewrites that page with the figures.
# A service stand-in on its own, for other clients (`xsoar-local serve`; STANDIN names one of standins/, default the
# FunTranslations one): make serve ARGS="--port 8080 --tls --fault 429"
serve: setup ## a service stand-in on its own (STANDIN, ARGS)
	@$(PY) -m xsoar_local.makevars serve

# A local XSOAR server for demisto-sdk and demisto-py (`xsoar-local server`; Ctrl-C stops it): make server ARGS="--port 8080 --tls"
# (--state-dir DIR, --cold, --auth-id ID, --host H --allow-remote; ARGS=--help lists them). It prints its URL and key.
server: setup ## a local XSOAR server for demisto-sdk and demisto-py (ARGS)
	@$(PY) -m xsoar_local.makevars server

bench: setup ## API-call, overhead and cold-start figures
	$(PY) -m bench.run $(BENCH_ARGS)

# dist/xsoar_local-*.whl and dist/xsoar_local_funtranslations-*.whl: the tool and its stand-in plugin, for
# `pip install dist/xsoar_local-*.whl` (add the plugin's wheel for the `funtranslations` extra).
wheel: setup ## build the xsoar-local wheel and the stand-in plugin's wheel into dist/
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w $(PACK_DIST) . ./standins
	rm -rf build standins/build

# Every target with a `## ` description, in the order of this file.
help: ## list the targets
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z][^:=\t]*:.*## / {split($$1, names, " "); printf "  %-16s %s\n", names[1], $$2}' $(MAKEFILE_LIST)

clean: ## remove the environments, the runtime and every generated file
	rm -rf $(VENV) $(SDK_VENV) $(RUNTIME) dist .xsoar-local .pytest_cache .mypy_cache .ruff_cache .coverage \
	  .import_linter_cache .grimp_cache
