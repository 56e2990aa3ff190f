# Included by the Makefiles of tests/*/: a virtualenv with the folder's pinned
# requirements.txt, rebuilt when that file changes.
TESTS_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
VENV := .venv
.DEFAULT_GOAL := test

$(VENV)/.installed: requirements.txt
	$(TESTS_ROOT)/scripts/ensure-packages.sh python3-venv
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@
