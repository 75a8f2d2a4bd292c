.PHONY: setup demo test test-unit bench
setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/ragtune demo

test: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q

test-unit: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -m "not integration"
