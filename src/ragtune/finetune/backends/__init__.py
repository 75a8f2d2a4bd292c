"""Who trains a fine-tuning job: this machine (default) or a hosted provider, registered by name."""

from ragtune.finetune.backends import local, openai_ft, retriever, together_ft  # noqa: F401  (registers them)
from ragtune.finetune.backends.protocol import TUNE_BACKENDS, Launch, TuneBackend

__all__ = ["TUNE_BACKENDS", "Launch", "TuneBackend"]
