# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= segmint-demo

.PHONY: demo test fuzz lint docs install install-dev chromium java bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,web]'

demo: install
	$(BIN)/segmint demo --out $(OUT)
	@echo "Outputs written to $(OUT)/: open $(OUT)/report.html in a browser"

lint: install-dev
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)

# The documentation site (mkdocs.yml, docs/): built with --strict, so a broken link or anchor
# fails. The examples in the pages are run by tests/test_docs.py.
SITE_DIR ?= site
docs: install-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(SITE_DIR)

# Browser tests (pytest marker `browser`) open reports in Debian's chromium package, never a
# downloaded browser. It is installed with apt when missing and possible; when it cannot be,
# those tests are deselected and the run says so.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else exit 0; fi; \
	  command -v apt-get >/dev/null 2>&1 || exit 0; \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -qq >/dev/null 2>&1 && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	  echo "warning: could not install chromium"; }

# Spark tests (pytest marker `spark`) run the Spark engine on a local session: they need a
# Java runtime (Debian's openjdk-17-jre-headless, installed with apt when missing and
# possible) and the `spark` extra (the pyspark wheel from PyPI).
java:
	@command -v java >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else exit 0; fi; \
	  command -v apt-get >/dev/null 2>&1 || exit 0; \
	  echo "Installing Debian's openjdk-17-jre-headless for the Spark tests"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -qq >/dev/null 2>&1 && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null 2>&1; } || \
	  echo "warning: could not install a Java runtime"; }
	@if command -v java >/dev/null 2>&1; then $(BIN)/python -m pip install --quiet -e '.[dev,web,spark]'; fi

test: lint docs chromium java
	@skip=""; \
	if ! command -v chromium >/dev/null 2>&1; then \
	  echo "warning: chromium is not installed and cannot be installed here: browser tests deselected" >&2; \
	  skip="not browser"; \
	fi; \
	if ! command -v java >/dev/null 2>&1; then \
	  echo "warning: no Java runtime and none can be installed here: Spark tests deselected" >&2; \
	  skip="$${skip:+$$skip and }not spark"; \
	fi; \
	if [ -n "$$skip" ]; then $(BIN)/python -m pytest -m "$$skip"; else $(BIN)/python -m pytest; fi

# The fuzz suite (tests/fuzz) runs in `make test` with a bounded, seeded budget; `make fuzz`
# searches deeper: FUZZ_EXAMPLES random examples per property (6 of them: 3,000 cases by default),
# failures kept in .hypothesis/ and tried first next time.
FUZZ_EXAMPLES ?= 500
fuzz: install-dev
	SEGMINT_FUZZ_PROFILE=fuzz SEGMINT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	  $(BIN)/python -m pytest tests/fuzz -p no:cacheprovider --hypothesis-show-statistics

# Benchmarks (not part of `make test`): Segmint against the pandas + scikit-learn notebook
# and a plain DuckDB GROUP BY, on generated logs. `make bench SIZES="1M 10M 50M"` for all.
SIZES ?= 1M 10M
BENCH_DIR ?= bench-data
bench: install-dev
	$(BIN)/python benchmarks/run.py --sizes $(SIZES) --data-dir $(BENCH_DIR) \
	  --results $(BENCH_DIR)/results.json

clean:
	rm -rf $(VENV) $(OUT) $(SITE_DIR) .pytest_cache build src/*.egg-info
