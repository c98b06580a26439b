# Named tasks. `make run` and `make test` are the two set-up commands of the README.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DB     ?= sqlite:///dualdraw.db
ADDR   ?= 127.0.0.1:50051
HTTP_ADDR ?= 127.0.0.1:8080
NATS_URL ?= nats://127.0.0.1:4222

.PHONY: help run test test-fast lint typecheck protos protos-check proto-gates bench bench-scale bench-districts load clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml clients/python/pyproject.toml $(wildcard service/dualdraw/domain/*.c service/dualdraw/domain/*.h service/dualdraw/adapters/store/*.c service/dualdraw/entrypoints/grpc/*.c)
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ./clients/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create the virtual environment and install dualdraw and dualdraw-client with the dev tools

run: $(STAMP)  ## install, migrate the SQLite file, load demo data if empty, serve gRPC on 127.0.0.1:50051, HTTP/JSON on 127.0.0.1:8080; events to a local NATS when one answers
	auth=$${DUALDRAW_AUTH:-off}; local=$$([ "$$auth" = off ] && echo 1 || echo 0); \
	events=$${DUALDRAW_EVENTS_URL-$$($(PY) -c "import socket; socket.create_connection(('127.0.0.1', 4222), 1)" 2>/dev/null && echo $(NATS_URL))}; \
	DUALDRAW_EVENTS_URL=$$events DUALDRAW_AUTH=$$auth DUALDRAW_ALLOW_LOCAL_ENTROPY=$${DUALDRAW_ALLOW_LOCAL_ENTROPY:-$$local} DUALDRAW_DATABASE_URL=$${DUALDRAW_DATABASE_URL:-$(DB)} $(VENV)/bin/dualdraw serve --address $(ADDR) --http-address $(HTTP_ADDR) --migrate --demo-if-empty

test: $(STAMP)  ## install and run the whole suite (SQLite and PostgreSQL)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff (lint and format) and mypy --strict
	$(VENV)/bin/ruff check service clients tests $(wildcard bench)
	$(VENV)/bin/ruff format --check service clients tests $(wildcard bench)
	$(VENV)/bin/mypy service/dualdraw clients/python/dualdraw_client clients/python/generate_stubs.py clients/python/proto_gates.py $(wildcard bench)

protos: $(STAMP)  ## regenerate the committed gRPC modules from protos/
	$(PY) clients/python/generate_stubs.py

protos-check: $(STAMP)  ## fail when the committed gRPC modules differ from a regeneration
	$(PY) clients/python/generate_stubs.py --check

proto-gates: $(STAMP)  ## buf lint held to protos/lint-exceptions.yaml; buf breaking against AGAINST (default HEAD~1)
	npm ci --prefix clients/node --cache $(CURDIR)/.cache/npm --prefer-offline --no-audit --no-fund
	$(PY) clients/python/proto_gates.py lint
	$(PY) clients/python/proto_gates.py breaking --against $(or $(AGAINST),HEAD~1)

bench: $(STAMP)  ## run the benchmarks in bench/
	$(PY) -m bench.run $(BENCH_ARGS)

bench-scale: $(STAMP)  ## generate, import, draw, export the line bundle and verify at 1M and 3M objects on PostgreSQL: time, CPU and process-tree memory per stage (SCALE_ARGS="--sizes 10000000")
	$(PY) -m bench.scale $(SCALE_ARGS)

bench-districts: $(STAMP)  ## 200 district branches x 5,000 objects drawing at once through 3 servers on PostgreSQL (DISTRICT_ARGS="--districts 20")
	$(PY) -m bench.district_load $(DISTRICT_ARGS)

load: $(STAMP)  ## load test: 50 clients mixing reads, imports and draws for 120 s on PostgreSQL (LOAD_ARGS="--duration 30")
	$(PY) -m bench.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info dualdraw.db dualdraw.db.audit-key.pem
