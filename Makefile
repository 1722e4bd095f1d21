# minidl: two commands do everything on a fresh machine.
#   make lab    set up .venv (first time only) and open the notebooks in JupyterLab
#   make test   set up .venv and the browser (first time only) and run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# JupyterLab refuses to run as root unless told; containers often run as root.
ROOT_OK := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
PYTEST := $(BIN)/python -m pytest

.PHONY: setup lab playground test test-unit test-notebooks test-browser test-class site bench lint browser clean student grade

# The venv is rebuilt only when the dependency files change. torch is pinned to the CPU
# build in constraints.txt (a bare `torch` would pull a multi-GB CUDA build).
# etc/jupyterlab-overrides.json: no "Jupyter news?" prompt or update check in a teaching setting.
$(STAMP): pyproject.toml constraints.txt etc/jupyterlab-overrides.json
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e ".[notebooks,test,course,class]"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp etc/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

setup: $(STAMP)

lab: setup
	$(BIN)/jupyter lab $(ROOT_OK) notebooks/

playground: setup
	JUPYTER_PATH=$(CURDIR)/etc/jupyter JUPYTER_CONFIG_PATH=$(CURDIR)/etc/jupyter $(BIN)/voila notebooks/playground.ipynb

# Debian's chromium drives the browser tests (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

# Two workers (pytest-xdist), a test file each at a time: a notebook's cells stay in one kernel, a file's fixtures
# in one process. Files are handed out in tests/conftest.py's order (slowest first, browser tests last), not
# xdist's default (most tests first, which left the hub and Binder tests for the end).
JOBS ?= 2
test: setup browser
	$(PYTEST) -n $(JOBS) --dist loadfile --no-loadscope-reorder tests notebooks --nbval-lax --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300 --durations=20

test-unit: setup
	$(PYTEST) tests/unit -q

test-notebooks: setup
	$(PYTEST) notebooks tests/notebooks --nbval-lax --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300 --durations=20

test-browser: setup browser
	$(PYTEST) tests/browser

# where the class is (issue 15): the hosted first cell, Binder, a JupyterHub with five learners, the website.
# `make test` runs these too (they live under tests/class/); this target runs only them.
test-class: setup browser
	$(PYTEST) tests/class --durations=10

# The executed series as a static website (Sphinx + myst-nb, offline, nothing re-executed): build/site/index.html
# site/conf.py says how; a warning (a broken link between notebooks) fails the build.
site: setup
	$(BIN)/python -m sphinx -q -W --keep-going -b html site build/site

bench: setup
	$(BIN)/python benchmarks/run_all.py

# The student edition (course/README.md): build/student/ (stubs, public tests), build/autograder/ (all tests).
student: setup
	$(BIN)/python -m course.editions notebooks --out build

# make grade SUBMISSIONS=<folder of filled-in student notebooks> [TIMEOUT=600] [JOBS=1]
TIMEOUT ?= 600
JOBS    ?= 1
grade: student
	@[ -d "$(SUBMISSIONS)" ] || { echo "make grade: expected SUBMISSIONS=<folder of notebooks>, got '$(SUBMISSIONS)'"; exit 2; }
	$(BIN)/python -m course.grade "$(SUBMISSIONS)" --autograders build/autograder --out build/grades.csv \
		--timeout $(TIMEOUT) --jobs $(JOBS)

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) *.egg-info test-results tests/artifacts
