# ecrcontrol: the targets a newcomer can guess.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-unit lint format bench bench-all binaries cluster clean node-packages chromium datastore-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev,postgres,redis]'
	touch $@

## run: ecrcontrol on the embedded defaults (local control plane + local ECR) until Ctrl-C
run: $(STAMP) binaries
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(BIN)/python manage.py runlocal

## test: lint, Django checks, then the whole suite against the real control plane (and a real node)
## on SQLite, then the integration tests once more on PostgreSQL with the Redis broker
test: $(STAMP) binaries node-packages chromium datastore-packages lint
	DJANGO_SECRET_KEY=checks $(BIN)/python manage.py check --fail-level WARNING
	DJANGO_SECRET_KEY=checks $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)
	ECRCONTROL_TEST_DATABASE=postgres ECRCONTROL_TEST_BROKER=redis $(BIN)/pytest tests/integration \
		--ignore=tests/integration/chart -m "integration and not bench" $(PYTEST_ARGS)

## test-unit: the fast tests only (no control plane)
test-unit: $(STAMP)
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the README's benchmark table at BENCH_SIZE resources (default 100, about 7 minutes;
## `make bench BENCH_SIZE=10000`): keep pace, fan-out, memory, idle, refresh, restart, admission,
## the dashboard and API at 1,000-10,000 rows, make run's supervisor. Figures printed, never asserted.
BENCH_SIZE ?= 100
BENCHES := tests/integration/bench/test_bench_size.py tests/integration/bench/test_bench_views.py \
	tests/integration/bench/test_bench_supervisor.py
bench: $(STAMP) binaries
	ECRCONTROL_BENCH_SIZE=$(BENCH_SIZE) $(BIN)/pytest -m bench -s -q $(BENCHES) $(PYTEST_ARGS)

## bench-all: every benchmark, the earlier issues' too (side-by-side table, reach, roles, scale
## modes: about an hour)
bench-all: $(STAMP) binaries
	$(BIN)/pytest -m bench -s -q $(PYTEST_ARGS)

## binaries: build (once, cached) kube-apiserver, kube-controller-manager, kubectl, etcd, helm,
## kubelet and kube-scheduler
binaries: $(STAMP)
	$(BIN)/python -m devstack.binaries

## chromium: Debian's chromium for the browser tests (Playwright drives it; its own download cannot work here)
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "chromium is missing: sudo apt-get install chromium" >&2; exit 1; fi; }

## cluster: only the local control plane and local ECR, until Ctrl-C
cluster: $(STAMP) binaries
	DJANGO_DEBUG=1 $(BIN)/python manage.py localcluster

## node-packages: the Debian packages of the chart's end-to-end test node, installed if missing
NODE_TOOLS := dockerd:docker.io containerd:containerd runc:runc iptables:iptables debootstrap:debootstrap
node-packages:
	@missing=""; \
	for t in $(NODE_TOOLS); do PATH="$$PATH:/usr/sbin:/sbin" command -v $${t%%:*} >/dev/null || missing="$$missing $${t#*:}"; done; \
	[ -x /usr/lib/cni/bridge ] || missing="$$missing containernetworking-plugins"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing the test node's Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
		else \
			echo "The chart's end-to-end test needs these Debian packages:$$missing." >&2; \
			echo "Install them as root: apt-get install$$missing" >&2; exit 1; \
		fi; \
	fi

## datastore-packages: Debian's postgresql and redis-server (the tests start their own servers)
datastore-packages:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	PATH="$$PATH:/usr/sbin:/sbin" command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing the tests' database packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
		else \
			echo "The PostgreSQL and Redis tests need these Debian packages:$$missing." >&2; \
			echo "Install them as root: apt-get install$$missing" >&2; exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
