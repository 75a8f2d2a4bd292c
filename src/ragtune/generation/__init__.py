"""Generators answer chat messages. Built-ins register by name, as plugins do."""

from ragtune.generation import fake, llamacpp, openai_compat, transformers_lm  # noqa: F401  (registers them)
from ragtune.generation.protocol import GENERATORS, Completion, Generator, Message

__all__ = ["GENERATORS", "Completion", "Generator", "Message"]
