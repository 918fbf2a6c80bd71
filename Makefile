# Community volunteer ledger. `make run` and `make test` work on a fresh machine:
# they bootstrap uv, build .venv from uv.lock, and start an embedded PostgreSQL
# (or use DATABASE_URL when it is set).

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PY := .venv/bin/python
export UV_PYTHON_DOWNLOADS := never
# The services' own commands need DATABASE_URL; in development it is the embedded server's
# (started if need be) unless DATABASE_URL names another.
WITH_DB = DATABASE_URL="$${DATABASE_URL:-$$($(PY) -m infra.postgres start)}"

.DEFAULT_GOAL := help
.PHONY: help browser venv run test test-fast test-pg15 lint bench bench-sweep faults soak backup-test migrate rebuild db-start db-stop demo-district clean

help: ## Show the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

venv: .venv/.synced

# Browser tests drive Debian's chromium (playwright cannot download browsers here), with a
# Chinese font so the screenshots show text rather than boxes.
browser:
	@if [ -e /usr/bin/chromium ] && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-wqy-microhei) \
		|| echo "warning: could not install chromium; browser tests will be skipped"; \
	else echo "warning: chromium missing and not root; browser tests will be skipped"; fi

run: venv ## Start PostgreSQL, migrate, load the demo (DEMO=0 to skip), run both services
	$(PY) -m infra.run

test: venv browser ## Run the whole test suite (unit, integration, browser)
	$(PY) -m pytest

test-fast: venv ## Unit and integration tests only (no browser)
	$(PY) -m pytest -m "not browser"

# The same suite on Debian's PostgreSQL 15 (installed with apt when missing), in a server
# of its own: data in .pgdata-15, the port 500 above this checkout's embedded one.
PG15_BIN := /usr/lib/postgresql/15/bin
test-pg15: venv browser ## Run the whole suite against Debian's PostgreSQL 15 (initdb/pg_ctl)
	@[ -x $(PG15_BIN)/initdb ] || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq postgresql-15)
	@export PG_BINDIR=$(PG15_BIN) PGDATA_DIR=$(CURDIR)/.pgdata-15 \
		PG_PORT=$$($(PY) -c 'from infra.postgres import checkout_port, PORT_RANGE; print(checkout_port() + PORT_RANGE)'); \
	url=$$($(PY) -m infra.postgres start) || exit 1; \
	DATABASE_URL=$$url $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	$(PY) -m infra.postgres stop; exit $$rc

lint: venv ## ruff
	.venv/bin/ruff check .

bench: venv ## Benchmarks (JSON lines on stdout); slow: builds a large district
	$(PY) -m bench

bench-sweep: venv ## Check-in throughput/latency at 1, 4, 16, 64 clients; plots in docs/figures/
	$(PY) -m bench.sweep

faults: venv ## 11 faults under load (kill -9, PostgreSQL immediate stop); lost/doubled counts
	$(PY) -m bench.faults

soak: venv ## 300 check-ins/s for 10 min (SOAK_SECONDS, SOAK_RATE): memory, lag; plots
	$(PY) -m bench.soak

backup-test: venv ## Back up, restore into a fresh server, verify, rebuild to the same checksums
	$(PY) -m infra.backup drill

migrate: venv ## Apply the alembic migrations
	$(PY) -m infra.migrate

rebuild: venv ## Rebuild the reports' read models from position zero, then swap them in
	$(WITH_DB) .venv/bin/reports rebuild

demo-district: venv ## Load the full generated district (≥1M events) as tenant xinluo-full
	$(PY) -m infra.demo --tenant xinluo-full --scale district

db-start: venv ## Start the embedded PostgreSQL and print its URL
	$(PY) -m infra.postgres start

db-stop: venv ## Stop the embedded PostgreSQL
	$(PY) -m infra.postgres stop

clean: db-stop ## Remove the virtual environments and the embedded database
	rm -rf .venv .tools .pgdata .pgdata-15 test-artifacts
