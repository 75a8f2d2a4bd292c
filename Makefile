.PHONY: setup demo test test-unit bench lint mutation
setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/ragtune demo

test: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q

test-unit: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -m "not integration"

# Static checks: ruff over src/, bench/, tests/ and scripts/, mypy over src/ (both pinned in the dev extra; configured in pyproject.toml)
lint: setup
	.venv/bin/ruff check src bench tests scripts
	.venv/bin/mypy

# Mutation testing of the modules the bake-off's and decide's numbers rest on (docs/mutation-testing.md);
# in .ci/run (about 1.5 minutes on 2 cores). Starts clean so the scores are the whole run's.
mutation: setup
	rm -rf mutants
	HF_HUB_OFFLINE=1 .venv/bin/mutmut run
	.venv/bin/python scripts/mutation_report.py
