"""The words keyword search sees in a text: bm25s's tokenizer, English stop words dropped, Snowball's
English stemmer. One definition for ragtune's own BM25 (``retrieval/bm25.py``) and for the engines
that rank ragtune's words themselves (Qdrant's sparse vectors), so both rank the same words."""

from __future__ import annotations

import bm25s
import Stemmer

_STEMMER = Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> bm25s.tokenization.Tokenized:
    """Each text's tokens as ids into one vocabulary (``.ids``, ``.vocab``: token -> id)."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)
