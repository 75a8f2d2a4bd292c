"""A BM25 index (bm25s) derived from the vector store's chunks and rebuilt after each ingest.

The store is the source of truth: an ingest marks the index stale before it changes the store and
the rebuild clears the mark, so an interrupted ingest can never leave BM25 out of step unnoticed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from ragtune.documents.types import Chunk
from ragtune.retrieval.metadata_columns import ColumnsBuilder, MetadataColumns
from ragtune.stores.filters import Condition

_STEMMER = Stemmer.Stemmer("english")


def tokenize(texts: list[str]):
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)


class TokenIds(Sequence[list[int]]):
    """Every document's token ids in one flat int32 array: ~4 bytes a token instead of a Python list of
    Python ints (or the texts) per document. bm25s reads documents by iterating, a list at a time."""

    def __init__(self, flat: np.ndarray, ends: np.ndarray):
        self.flat, self.ends = flat, ends

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i):  # bm25s only iterates: no slices
        start = int(self.ends[i - 1]) if i > 0 else 0
        return self.flat[start:int(self.ends[i])].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        start = 0
        for end in self.ends.tolist():
            yield self.flat[start:end].tolist()
            start = end


def tokenize_streamed(batches: Iterable[list[str]]) -> bm25s.tokenization.Tokenized:
    """Tokenize batch by batch into one vocabulary, so no more than a batch of texts is held at once."""
    vocab: dict[str, int] = {}
    parts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    for texts in batches:
        tokens = tokenize(texts)
        local = sorted(tokens.vocab, key=tokens.vocab.__getitem__)
        to_global = np.array([vocab.setdefault(t, len(vocab)) for t in local], dtype=np.int32)
        lengths.append(np.array([len(d) for d in tokens.ids], dtype=np.int64))
        flat = np.fromiter((t for d in tokens.ids for t in d), dtype=np.int32, count=int(lengths[-1].sum()))
        parts.append(to_global[flat])
    flat = np.concatenate(parts) if parts else np.zeros(0, np.int32)
    ends = np.cumsum(np.concatenate(lengths)) if lengths else np.zeros(0, np.int64)
    return bm25s.tokenization.Tokenized(ids=TokenIds(flat, ends), vocab=vocab)


class BM25Index:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._model: bm25s.BM25 | None = None
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._columns: MetadataColumns | None = None

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

        tokens = tokenize_streamed(texts())
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if ids:
            model = bm25s.BM25()
            model.index(tokens, show_progress=False)
            model.save(str(tmp), show_progress=False)
        columns.finish().save(tmp)
        (tmp / "ids.json").write_text(json.dumps(ids))
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)
        self.stale_marker.unlink(missing_ok=True)
        self._model = self._columns = None
        return len(ids)

    def warm_up(self) -> None:
        """Read the index from disk now rather than on the first search; an empty index stays unloaded."""
        if self._columns is None:
            self._ids = json.loads((self.folder / "ids.json").read_text())
            self._pos = {cid: i for i, cid in enumerate(self._ids)}
            self._columns = MetadataColumns.load(self.folder)
            if self._ids:
                self._model = bm25s.BM25.load(str(self.folder), mmap=False, show_progress=False)

    @property
    def ids(self) -> list[str]:
        """Chunk ids in index order (the positions of a mask)."""
        self.warm_up()
        return self._ids

    @property
    def model(self) -> bm25s.BM25 | None:
        self.warm_up()
        return self._model

    def filter_mask(self, where: Sequence[Condition]) -> np.ndarray | None:
        """The chunks matching every condition, from the columns beside the index; None where only the
        store can answer exactly (see MetadataColumns)."""
        self.warm_up()
        assert self._columns is not None
        return self._columns.mask(where)

    def ids_mask(self, allowed: set[str]) -> np.ndarray:
        self.warm_up()
        mask = np.zeros(len(self._ids), dtype=bool)
        mask[[self._pos[i] for i in allowed if i in self._pos]] = True
        return mask

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
