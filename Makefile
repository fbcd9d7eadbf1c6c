PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install test test-unit test-integration demo bench docs clean

install:
	$(PIP) install -q -e . -r requirements/test.txt

test: install
	$(PYTHON) -m pytest -q -n 2 --dist loadfile t/unit t/integration

test-unit:
	$(PYTHON) -m pytest -q t/unit

test-integration:
	$(PYTHON) -m pytest -q t/integration

demo:
	$(PIP) install -q -e .
	$(PYTHON) examples/tutorial/run_demo.py

bench:
	for f in t/benchmarks/bench_*.py; do echo "== $$f"; $(PYTHON) $$f || exit 1; done

docs:
	$(PIP) install -q -r requirements/docs.txt
	$(PYTHON) -m sphinx -q -b html docs docs/_build/html

clean:
	rm -rf build dist *.egg-info docs/_build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
