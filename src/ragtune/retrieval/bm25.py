"""A BM25 index (bm25s) derived from the vector store's chunks and rebuilt after each ingest.

The store is the source of truth: an ingest marks the index stale before it changes the store and
the rebuild clears the mark, so an interrupted ingest can never leave BM25 out of step unnoticed."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

from ragtune.documents.types import Chunk
from ragtune.file_stamp import file_stamp
from ragtune.retrieval.metadata_columns import ColumnsBuilder, MetadataColumns
from ragtune.stores.filters import Condition
from ragtune.stores.tokenizer import tokenize

PAIRS_PER_STEP = 1 << 20
"""(document, token) pairs scored and placed at a time while building: a bounded working set."""


@dataclass
class _Postings:
    """Each document's distinct token ids and their counts, gathered batch by batch into one vocabulary:
    8 bytes per (document, token) pair, the size of the finished index, and no text or token list
    outlives its batch."""

    vocab: dict[str, int] = field(default_factory=dict)
    tokens: list[np.ndarray] = field(default_factory=list)  # int32 token ids, document by document
    counts: list[np.ndarray] = field(default_factory=list)  # float32 term frequencies, aligned with tokens
    doc_pairs: list[np.ndarray] = field(default_factory=list)  # pairs per document
    doc_lengths: list[np.ndarray] = field(default_factory=list)  # tokens per document, repeats included

    def add(self, texts: list[str]) -> None:
        if not texts:
            return
        tokenized = tokenize(texts)
        local = sorted(tokenized.vocab, key=tokenized.vocab.__getitem__)
        to_global = np.array([self.vocab.setdefault(t, len(self.vocab)) for t in local], dtype=np.int64)
        lengths = np.array([len(d) for d in tokenized.ids], dtype=np.int64)
        flat = np.fromiter((t for d in tokenized.ids for t in d), dtype=np.int64, count=int(lengths.sum()))
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        pairs, tf = np.unique(doc * (len(self.vocab) + 1) + to_global[flat], return_counts=True)
        self.tokens.append((pairs % (len(self.vocab) + 1)).astype(np.int32))
        self.counts.append(tf.astype(np.float32))
        self.doc_pairs.append(np.bincount(pairs // (len(self.vocab) + 1), minlength=len(texts)))
        self.doc_lengths.append(lengths)


def _score_matrix(postings: _Postings, k1: float, b: float) -> dict:
    """bm25s's default scoring (Lucene idf, Robertson tf), computed as bm25s computes it, so every score is
    bit for bit the same, but written straight into the column-compressed arrays bm25s searches. bm25s's own
    build holds a (score, document, token) triple per pair plus scipy's copies while converting, ~4x the
    finished index; this holds the pairs (8 bytes each) beside the finished arrays (8 bytes each)."""
    tokens, counts = np.concatenate(postings.tokens), np.concatenate(postings.counts)
    postings.tokens.clear()
    postings.counts.clear()
    doc_lengths = np.concatenate(postings.doc_lengths)
    pair_ends = np.cumsum(np.concatenate(postings.doc_pairs))
    n_docs, n_vocab, avg_len = len(doc_lengths), len(postings.vocab), doc_lengths.mean()
    df = np.bincount(tokens, minlength=n_vocab)
    idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in df.tolist()],
                   dtype=np.float32)
    indptr = np.concatenate([[0], np.cumsum(df)])
    data, indices = np.empty(len(tokens), np.float32), np.empty(len(tokens), np.int32)
    fill = indptr[:-1].copy()
    step = PAIRS_PER_STEP
    for start in range(0, len(tokens), step):
        tok, tf = tokens[start:start + step], counts[start:start + step]
        doc = np.searchsorted(pair_ends, np.arange(start, start + len(tok)), side="right").astype(np.int32)
        norm = k1 * ((1 - b) + b * doc_lengths[doc].astype(np.float64) / avg_len)
        scores = (idf[tok] * (tf / (norm + tf))).astype(np.float32)
        order = np.argsort(tok, kind="stable")  # by token, then document: each column's rows ascending
        tok = tok[order]
        place = fill[tok] + np.arange(len(tok)) - np.searchsorted(tok, tok)  # next free slot of each column
        data[place], indices[place] = scores[order], doc[order]
        fill += np.bincount(tok, minlength=n_vocab)
    return {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}


def build(batches: Iterable[list[str]]) -> bm25s.BM25 | None:
    """A bm25s index over texts given batch by batch, holding no more than a batch of texts at once;
    None when there were no texts."""
    postings = _Postings()
    for texts in batches:
        postings.add(texts)
    if not postings.doc_lengths:
        return None
    model = bm25s.BM25()
    model.scores = _score_matrix(postings, model.k1, model.b)
    model.vocab_dict = postings.vocab
    if "" not in model.vocab_dict:  # as bm25s's index() does: the token an empty query maps to
        model.vocab_dict[""] = len(model.vocab_dict)
    model.unique_token_ids_set = set(model.vocab_dict.values())
    model.nonoccurrence_array = None
    return model


class BM25Index:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._model: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._columns: MetadataColumns | None = None
        self._loaded: tuple[int, int, int] | None = None  # the stamp of the ids file this process read

    @property
    def stale_marker(self) -> Path:
        return self.folder.with_name(self.folder.name + ".stale")

    def mark_stale(self) -> None:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self.stale_marker.touch()
        self._model = self._columns = None

    def exists(self) -> bool:
        # an index from before the metadata columns counts as missing, so it is rebuilt once
        return (self.folder / "ids.json").exists() and MetadataColumns.saved_in(self.folder)

    def is_current(self) -> bool:
        return self.exists() and not self.stale_marker.exists()

    def rebuild(self, batches: Iterable[list[Chunk]], progress: Callable[[int], None] | None = None) -> int:
        ids: list[str] = []
        columns = ColumnsBuilder()

        def texts() -> Iterator[list[str]]:
            for batch in batches:
                ids.extend(c.chunk_id for c in batch)
                columns.add(batch)
                yield [c.indexed_text for c in batch]
                if progress:
                    progress(len(batch))

        model = build(texts())
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if model is not None:
            model.save(str(tmp), show_progress=False)
        columns.finish().save(tmp)
        (tmp / "ids.json").write_text(json.dumps(ids))
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)
        self.stale_marker.unlink(missing_ok=True)
        self._model = self._columns = None
        return len(ids)

    def warm_up(self) -> None:
        """Read the index from disk now rather than on the first search, and again once another process has
        rebuilt it (a server beside an ingest); an empty index stays unloaded. The retriever calls it once per
        query, so a mask and the positions it is read with come from one reading of the index."""
        stamp = file_stamp(self.folder / "ids.json")
        if self._columns is None or stamp != self._loaded:
            self._loaded = stamp
            self._ids = json.loads((self.folder / "ids.json").read_text())
            self._pos = {cid: i for i, cid in enumerate(self._ids)}
            self._columns = MetadataColumns.load(self.folder)
            self._model = bm25s.BM25.load(str(self.folder), mmap=False, show_progress=False) if self._ids else None

    def _read(self) -> None:
        if self._columns is None:  # never read, or rebuilt by this process
            self.warm_up()

    @property
    def ids(self) -> list[str]:
        """Chunk ids in index order (the positions of a mask)."""
        self._read()
        return self._ids

    @property
    def model(self) -> bm25s.BM25 | None:
        self._read()
        return self._model

    def filter_mask(self, where: Sequence[Condition]) -> np.ndarray | None:
        """The chunks matching every condition, from the columns beside the index; None where only the
        store can answer exactly (see MetadataColumns)."""
        self._read()
        assert self._columns is not None
        return self._columns.mask(where)

    def ids_mask(self, allowed: set[str]) -> np.ndarray:
        self._read()
        mask = np.zeros(len(self._ids), dtype=bool)
        mask[[self._pos[i] for i in allowed if i in self._pos]] = True
        return mask

    def masked(self, ranked: Sequence[tuple[str, float]], mask: np.ndarray) -> list[tuple[str, float]] | None:
        """The entries of ``ranked`` whose chunk ``mask`` keeps, in order; None when a chunk is one the index
        does not hold (written since this process read it), whose metadata the mask cannot know."""
        self._read()
        if any(cid not in self._pos for cid, _ in ranked):
            return None
        return [(cid, s) for cid, s in ranked if mask[self._pos[cid]]]

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The top k chunks by BM25 among those ``mask`` keeps (all without one), best first.

        Scores are bm25s's own; the top k is picked among the chunks that share a query token (and pass
        the mask) rather than by bm25s's argpartition over every chunk's score, most of them zero."""
        model = self.model
        if model is None or k <= 0:
            return []
        tokens = tokenize([query])
        words = {i: t for t, i in tokens.vocab.items()}
        query_ids = [model.vocab_dict[t] for t in (words[i] for i in tokens.ids[0]) if t in model.vocab_dict]
        if not query_ids:
            return []
        scores = model.get_scores_from_ids(query_ids)
        keep = scores > 0
        if mask is not None:
            keep &= mask
        candidates = np.flatnonzero(keep)
        if len(candidates) > k:
            # the k best; of the chunks tied at the cut-off, the first in index order, so a ranking
            # does not depend on how a partition happened to split ties
            s = scores[candidates]
            cut = np.partition(s, len(s) - k)[len(s) - k]
            above = candidates[s > cut]
            candidates = np.concatenate([above, candidates[s == cut][:k - len(above)]])
        candidates = candidates[np.lexsort((candidates, -scores[candidates]))]  # best first, ties in index order
        return [(self._ids[d], float(scores[d])) for d in candidates.tolist()]
