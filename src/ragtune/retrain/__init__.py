"""Keeping a served tuned model current: the drift report (what changed since its training data was built) and
the retraining pipeline (rebuild, tune, bake off, promote behind a canary)."""
