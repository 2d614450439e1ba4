# Two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_DATA := $(abspath ../shared/datasets)
# Real data sets: ../shared/datasets when it exists (CI lays it out beside the clone).
ifeq ($(strip $(PORTRAIT_DATA_HOME)),)
ifneq ($(wildcard $(SHARED_DATA)),)
export PORTRAIT_DATA_HOME := $(SHARED_DATA)
endif
endif

.PHONY: install demo test bench clean chromium

$(BIN)/portrait: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

install: $(BIN)/portrait

demo: install
	$(BIN)/portrait demo --dir demo-output

# Browser tests drive Debian's chromium (no browser download is possible here); without root or
# apt they are skipped with a reason.
# fonts-wqy-microhei draws the console's Chinese labels in screenshots.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && dpkg -s fonts-wqy-microhei >/dev/null 2>&1; } || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null); } || \
	echo "chromium not installed: browser tests will be skipped"

test: install chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python bench/build.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
