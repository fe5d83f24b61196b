# `make demo`: train a small StyleGAN on the built-in dataset (CPU is fine) and generate images.
# `make test`: run the test suite.
# Both create or refresh .venv from the requirements first.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python

.PHONY: demo test venv clean-venv

$(VENV)/.stamp: requirements.txt requirements-test.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-test.txt
	touch $@

venv: $(VENV)/.stamp

demo: venv
	$(VPY) demo.py

test: venv
	@$(VPY) -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

clean-venv:
	rm -rf $(VENV)
