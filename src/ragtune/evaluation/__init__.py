"""Retrieval and answer metrics, the LLM judge, and the evaluation runs that use them."""

from ragtune.evaluation import judge_fake, judge_openai  # noqa: F401  (registers the built-in judges)
