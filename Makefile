.PHONY: setup demo test test-unit bench lint
setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/ragtune demo

test: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q

test-unit: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -m "not integration"

# Static checks over src/ (ruff and mypy, pinned in the dev extra; configured in pyproject.toml)
lint: setup
	.venv/bin/ruff check src
	.venv/bin/mypy
