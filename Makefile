# Two commands matter: `make run` and `make test` (see README). Both set up .venv first.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python

.PHONY: run test system-deps test-system-deps clean

system-deps:
	bash tools/install-system-deps.sh

# The 3-D view's tests open a real window on a virtual X server with software OpenGL.
test-system-deps:
	bash tools/install-system-deps.sh xvfb xauth libgl1-mesa-dri libglx-mesa0

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: system-deps $(VENV)/.installed-run
	$(VPY) -m hillwalk

# the linter first (seconds), then the tests, one process per core (at most 4: the GUI tests'
# own worker threads fill the rest)
test: test-system-deps $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VPY) -m pytest -n auto --maxprocesses 4

clean:
	rm -rf $(VENV) build *.egg-info
