# The README's two commands: `make demo` and `make test`.
#
# Without an active virtual environment every target works in `.venv` in the
# checkout (created on first use), so a fresh machine needs only Python 3.10+
# and make; with one active (VIRTUAL_ENV set), that one is used.
ifdef VIRTUAL_ENV
PYTHON ?= $(VIRTUAL_ENV)/bin/python
VENV_DEP :=
else
PYTHON ?= .venv/bin/python
VENV_DEP := .venv/bin/python
endif
PIP = $(PYTHON) -m pip

.PHONY: install install-test install-lint lint typing test test-unit test-integration test-ecosystem test-lowest test-stock services demo bench docs clean

.venv/bin/python:
	python3 -m venv .venv
	.venv/bin/python -m pip install -q --upgrade pip

# The package alone, with no extras: what the demo needs.
install: $(VENV_DEP)
	$(PIP) install -q -e .

# The package with every extra the tests exercise, and the test tools.
install-test: $(VENV_DEP)
	$(PIP) install -q -e . -r requirements/test.txt

services:
	t/services.sh

# The test requirements include lint.txt, and mypy must see the optional
# libraries the package imports (redis, SQLAlchemy, cryptography, Sphinx...).
install-lint: $(VENV_DEP)
	$(PIP) install -q -e . -r requirements/test.txt

# Ruff and mypy (strict, with the per-module exceptions in pyproject.toml),
# then the typing suite: typed tasks as a user's checker sees them.
lint: install-lint
	$(PYTHON) -m ruff check celery t extra
	$(PYTHON) -m mypy
	$(PYTHON) t/typing/run.py

typing: install-lint
	$(PYTHON) t/typing/run.py

test: install-test services
	$(PYTHON) -m pytest -q -n 2 --dist loadfile t/unit t/integration

test-unit: install-test
	$(PYTHON) -m pytest -q t/unit

test-integration: install-test services
	$(PYTHON) -m pytest -q t/integration

# The broker and worker integration tests: what test-lowest and test-stock run
# (publishing and the wire format, the worker program, the prefork pool, Redis
# redelivery; not the minute-long pool SIGKILL chaos), about two minutes on
# two cores.
BROKER_WORKER_TESTS = t/integration/messages t/integration/worker \
	t/integration/concurrency/test_prefork.py t/integration/test_redis_redelivery.py \
	--ignore=t/integration/worker/test_pool_sigkill_chaos.py

# Those tests on the lowest supported kombu, amqp, billiard, vine and redis-py
# (requirements/lowest.txt, as constraints), in a virtual environment of its own.
LOWEST_PYTHON = .venv-lowest/bin/python
test-lowest: services
	test -x $(LOWEST_PYTHON) || python3 -m venv .venv-lowest
	$(LOWEST_PYTHON) -m pip install -q -e . -r requirements/test.txt -c requirements/lowest.txt
	$(LOWEST_PYTHON) -m pytest -q -n 2 --dist loadfile $(BROKER_WORKER_TESTS)

# Those tests on kombu's stock transports: the path a user switches back to
# (CELERY_STOCK_TRANSPORTS=1, or untested dependency versions).
test-stock: install-test services
	CELERY_STOCK_TRANSPORTS=1 $(PYTHON) -m pytest -q -n 2 --dist loadfile $(BROKER_WORKER_TESTS)

# The test suites of packages built on Celery (django-celery-results,
# django-celery-beat, celery-redbeat; pytest-celery's plugin) run against
# this project.  In a virtual environment of its own: the suites want pytest 7.
ECOSYSTEM_PYTHON = .venv-ecosystem/bin/python
test-ecosystem: services
	test -x $(ECOSYSTEM_PYTHON) || python3 -m venv .venv-ecosystem
	$(ECOSYSTEM_PYTHON) -m pip install -q -e . -r requirements/ecosystem.txt
	$(ECOSYSTEM_PYTHON) -m pip install -q --no-deps -r requirements/ecosystem-packages.txt
	$(ECOSYSTEM_PYTHON) t/ecosystem/run.py

demo: install
	$(PYTHON) examples/tutorial/run_demo.py

bench: install-test services
	for f in t/benchmarks/bench_*.py; do echo "== $$f"; $(PYTHON) $$f || exit 1; done

docs: $(VENV_DEP)
	$(PIP) install -q -r requirements/docs.txt
	$(PYTHON) -m sphinx -q -b html docs docs/_build/html

clean:
	rm -rf build dist *.egg-info docs/_build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
