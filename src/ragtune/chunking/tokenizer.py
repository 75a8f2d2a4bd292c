"""Token counting with the embedder's own tokenizer, so chunk sizes mean what the embedder sees."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

from ragtune.errors import RagtuneError


class TokenCounter(Protocol):
    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text``, special tokens excluded."""
        ...


class WordPieceCounter:
    """The packaged all-MiniLM-L6-v2 tokenizer (the ``tokenizers`` library, no torch needed)."""

    special_tokens = 2  # [CLS] and [SEP]

    def __init__(self, tokenizer_file: str):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(tokenizer_file)
        self._tok.no_truncation()
        self._tok.no_padding()

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self._tok.encode(text, add_special_tokens=False).offsets)

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)


class WhitespaceCounter:
    """Words as tokens: for fakes and tests, where no real tokenizer is wanted."""

    special_tokens = 0

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"\S+", text)]

    def count(self, text: str) -> int:
        return len(text.split())


@lru_cache(maxsize=4)
def get_counter(name: str) -> WordPieceCounter | WhitespaceCounter:
    if name == "whitespace":
        return WhitespaceCounter()
    if name == "minilm":
        from ragtune.packaged import minilm_dir

        return WordPieceCounter(str(minilm_dir() / "tokenizer.json"))
    raise RagtuneError(f"unknown tokenizer {name!r}; known: minilm, whitespace")
