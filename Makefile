# Two commands do all set-up on a fresh machine with Python 3.11:
#   make run    start the server on 127.0.0.1:8000 (SQLite file ./breakouts.db)
#   make test   install what the tests need and run the whole suite
# The CLI is then .venv/bin/breakouts (`source .venv/bin/activate` puts `breakouts` on the PATH).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1

.PHONY: run test lint bench bench-pg bench-size clean

# pip is quiet and the first install takes a while: one line says so before anything starts.
NEW_VENV := test -x $(BIN)/python || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet --upgrade pip; }

$(VENV)/.installed: pyproject.toml
	@echo "Installing breakouts and its dependencies into $(VENV)/ with pip" \
	  "(about 40 s the first time; again only when pyproject.toml changes)..."
	@$(NEW_VENV)
	@$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml
	@echo "Installing breakouts, its dependencies and the test tools into $(VENV)/ with pip" \
	  "(1-2 minutes the first time; again only when pyproject.toml changes)..."
	@$(NEW_VENV)
	@$(BIN)/pip install --quiet -e '.[test]'
	@touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/breakouts serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The DELETE on PostgreSQL (S_pg, B, the DELETE over HTTP; 1 and 2 processes). Needs PostgreSQL:
# BREAKOUTS_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test.
bench-pg: $(VENV)/.installed-test
	$(BIN)/python -m bench.pg $(BENCH_ARGS)

# DELETE latency with 10 k and with 1 M meetings, on SQLite (and PostgreSQL when it answers).
bench-size: $(VENV)/.installed-test
	$(BIN)/python -m bench.size $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
