"""Counting the tokens of chat examples exactly as the base model will see them: its own
tokenizer and chat template (the one used at inference)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Protocol

from ragtune.errors import RagtuneError
from ragtune.generation.protocol import Message


class ChatTokenCounter(Protocol):
    context: int

    def count(self, messages: list[Message]) -> int: ...


class TemplateCounter:
    """A Hugging Face tokenizer with its chat template (from a GGUF file or a model folder)."""

    def __init__(self, tokenizer, context: int):
        self._tok = tokenizer
        self.context = context

    def count(self, messages: list[Message]) -> int:
        return len(self._tok.apply_chat_template(messages, tokenize=True, return_dict=False))


class WordCounter:
    """Words plus four tokens of template per message: a fast stand-in for tests and examples."""

    def __init__(self, context: int = 2048):
        self.context = context

    def count(self, messages: list[Message]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)


@lru_cache(maxsize=4)
def chat_counter(base: str) -> ChatTokenCounter:
    if base == "words":
        return WordCounter()
    from transformers import AutoConfig, AutoTokenizer

    from ragtune.generation.models import PACKAGED, resolve_gguf

    if base in PACKAGED or base.endswith(".gguf"):
        path = resolve_gguf(base)
        kw = {"gguf_file": path.name}
        folder = path.parent
    else:
        folder, kw = Path(base), {}
        if not folder.is_dir():
            raise RagtuneError(f"base model {base!r} is neither a packaged model ({', '.join(PACKAGED)}), "
                               "a GGUF file, nor a model folder")
    tok = AutoTokenizer.from_pretrained(folder, **kw)
    if not tok.chat_template:
        raise RagtuneError(f"base model {base!r} has no chat template; chat fine-tuning needs one")
    config = AutoConfig.from_pretrained(folder, **kw)
    context = getattr(config, "max_position_embeddings", None) or 2048
    return TemplateCounter(tok, int(context))
