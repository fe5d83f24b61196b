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

# Two test processes (pytest-xdist), each taking whole files: the suite is mostly process start-up and
# single-threaded work, so two workers on two cores take ~10 minutes where one takes ~17.
TEST_WORKERS ?= 2

test: venv
	@$(VPY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

clean-venv:
	rm -rf $(VENV)
