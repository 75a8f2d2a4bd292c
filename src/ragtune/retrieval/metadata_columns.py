"""The chunks' filterable metadata as numpy columns beside the BM25 index, so a filter becomes a mask
over BM25 scores instead of a round trip fetching every matching id from the store (253 ms at 100k
chunks for a 25% filter, bench/search_latency).

Built in the same pass as the BM25 index, from the store's chunks, and saved with it: the index is
rebuilt from the store after every write and delete, so the columns are always in step with it.

A mask matches the embedded store's filtering (tests compare the two): numbers compare as numbers
(4 = 4.0), booleans and strings only with their own kind, ``!=`` keeps chunks without the key, ranges
compare numbers or ISO dates. Where the columns cannot answer exactly as the store would (a key they
do not hold, such as ``doc_hash``; a fractional bound against whole numbers, which Chroma truncates),
``mask`` returns None and the caller asks the store."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ragtune.documents.types import RESERVED_KEYS, RESERVED_SUFFIX, Chunk, MetaValue
from ragtune.stores.filters import Condition, date_ordinal, is_date

_FILE = "columns.npz"
_VOCAB = "columns.json"
_KINDS = ("str", "int", "float", "bool", "date")
_FILLS = {"str": -1, "int": 0, "float": np.nan, "bool": -1, "date": -1}
_DTYPES = {"str": np.int32, "int": np.int64, "float": np.float64, "bool": np.int8, "date": np.int64}
_RANGE: dict[str, Callable] = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_ANSWERABLE_RESERVED = {"doc_id", "chunk_index", "title"}  # the other bookkeeping keys are not on a Chunk


def _fields(c: Chunk) -> dict[str, MetaValue]:
    return {**c.metadata, "doc_id": c.doc_id, "chunk_index": c.index, "title": c.title}


def _kind(v: MetaValue) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    return "str" if isinstance(v, str) else None


class ColumnsBuilder:
    """Collects columns batch by batch: a batch's values become small arrays at once, so no more than a
    batch of metadata dicts is alive."""

    def __init__(self) -> None:
        self.n = 0
        self.vocab: dict[str, dict[str, int]] = {}
        self.parts: dict[tuple[str, str], list[tuple[int, np.ndarray, np.ndarray]]] = {}

    def add(self, chunks: Sequence[Chunk]) -> None:
        rows: dict[tuple[str, str], tuple[list[int], list]] = {}
        for i, c in enumerate(chunks):
            for key, v in _fields(c).items():
                kind = _kind(v)
                if kind is None:
                    continue
                if isinstance(v, str):
                    codes = self.vocab.setdefault(key, {})
                    pos, vals = rows.setdefault((key, "str"), ([], []))
                    pos.append(i)
                    vals.append(codes.setdefault(v, len(codes)))
                    if is_date(v):
                        pos, vals = rows.setdefault((key, "date"), ([], []))
                        pos.append(i)
                        vals.append(date_ordinal(v))
                else:
                    pos, vals = rows.setdefault((key, kind), ([], []))
                    pos.append(i)
                    vals.append(v)
        for (key, kind), (pos, vals) in rows.items():
            self.parts.setdefault((key, kind), []).append(
                (self.n, np.asarray(pos, dtype=np.int64), np.asarray(vals, dtype=_DTYPES[kind])))
        self.n += len(chunks)

    def finish(self) -> MetadataColumns:
        arrays: dict[str, np.ndarray] = {}
        for (key, kind), parts in self.parts.items():
            col = np.full(self.n, _FILLS[kind], dtype=_DTYPES[kind])
            for start, pos, vals in parts:
                col[start + pos] = vals
            arrays[f"{kind}:{key}"] = col
            if kind == "int":  # 0 is a value: presence is kept beside
                present = np.zeros(self.n, dtype=bool)
                for start, pos, _ in parts:
                    present[start + pos] = True
                arrays[f"has:{key}"] = present
        return MetadataColumns(self.n, arrays, self.vocab)


class MetadataColumns:
    def __init__(self, n: int, arrays: dict[str, np.ndarray], vocab: dict[str, dict[str, int]]):
        self.n, self.arrays, self.vocab = n, arrays, vocab

    @staticmethod
    def build(batches: Iterable[Sequence[Chunk]]) -> MetadataColumns:
        builder = ColumnsBuilder()
        for batch in batches:
            builder.add(batch)
        return builder.finish()

    def save(self, folder: Path) -> None:
        np.savez(folder / _FILE, **self.arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds wrongly
        (folder / _VOCAB).write_text(json.dumps({"n": self.n, "vocab": {k: list(v) for k, v in self.vocab.items()}}))

    @staticmethod
    def saved_in(folder: Path) -> bool:
        return (folder / _VOCAB).exists()

    @staticmethod
    def load(folder: Path) -> MetadataColumns:
        meta = json.loads((folder / _VOCAB).read_text())
        with np.load(folder / _FILE) as z:
            arrays = {name: z[name] for name in z.files}
        vocab = {k: {s: i for i, s in enumerate(v)} for k, v in meta["vocab"].items()}
        return MetadataColumns(meta["n"], arrays, vocab)

    def mask(self, where: Sequence[Condition]) -> np.ndarray | None:
        """Which chunks match every condition, or None where only the store can answer exactly."""
        out = np.ones(self.n, dtype=bool)
        for c in where:
            m = self._condition(c)
            if m is None:
                return None
            out &= m
        return out

    def _col(self, kind: str, key: str) -> np.ndarray | None:
        return self.arrays.get(f"{kind}:{key}")

    def _condition(self, c: Condition) -> np.ndarray | None:
        if (c.key in RESERVED_KEYS and c.key not in _ANSWERABLE_RESERVED) or c.key.endswith(RESERVED_SUFFIX):
            return None
        if c.op in _RANGE:
            return self._range(c.key, c.op, c.value)
        m = np.zeros(self.n, dtype=bool)
        for v in c.alternatives():
            e = self._equal(c.key, v)
            if e is None:
                return None
            m |= e
        return ~m if c.op == "!=" else m

    def _equal(self, key: str, v: MetaValue) -> np.ndarray | None:
        none = np.zeros(self.n, dtype=bool)
        if isinstance(v, str):
            col, code = self._col("str", key), self.vocab.get(key, {}).get(v)
            return none if col is None or code is None else col == code
        if isinstance(v, bool):
            col = self._col("bool", key)
            return none if col is None else col == int(v)
        return self._numbers(key, operator.eq, v)

    def _range(self, key: str, op: str, v: MetaValue | tuple[MetaValue, ...]) -> np.ndarray | None:
        if is_date(v):
            col = self._col("date", key)
            return np.zeros(self.n, dtype=bool) if col is None else (col >= 0) & _RANGE[op](col, date_ordinal(v))
        return self._numbers(key, _RANGE[op], v)

    def _numbers(self, key: str, op: Callable, v) -> np.ndarray | None:
        m = np.zeros(self.n, dtype=bool)
        floats, ints = self._col("float", key), self._col("int", key)
        if floats is not None:
            m |= op(floats, v)  # NaN (no float here) compares false
        if ints is not None:
            if isinstance(v, float) and not (v.is_integer() and abs(v) < 2**62):
                return None  # Chroma compares whole numbers with the bound truncated
            m |= self.arrays[f"has:{key}"] & op(ints, int(v))
        return m
