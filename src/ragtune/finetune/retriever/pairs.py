"""Training pairs for a retriever: a query, the passage that answers it and hard negatives, written as
one typed, versioned file. Queries come from BEIR judgements or are synthesised from the corpus;
either way the split into training and held-out queries is by query, so no query is seen in both."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.documents.types import Chunk
from ragtune.errors import RagtuneError

SCHEMA_NAME = "ragtune.retrieval-pairs"
SCHEMA = f"{SCHEMA_NAME}/1"
MIN_TRAIN_QUERIES = 16
"""Fewer training queries than this teach a 22M-parameter encoder nothing measurable (one batch)."""
MIN_HELDOUT_QUERIES = 4
"""Fewer held-out queries than this give no comparison worth reading."""
Source = Literal["qrels", "title", "heading", "cloze", "generated"]


@dataclass
class Query:
    """A query and what answers it: judged documents, and, when known, the one chunk it came from."""

    query_id: str
    text: str
    relevant: dict[str, int]
    """document id -> graded relevance (> 0), as BEIR qrels give it."""
    source: Source
    chunk_id: str | None = None
    """The chunk a synthetic query was made from (its positive); None: the best-ranked relevant chunk."""
    positive_text: str | None = None
    """The positive's text when it is not the chunk as indexed (an inverse-cloze chunk without its sentence)."""


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query_id: str
    query: str
    positive: str
    positive_doc: str
    negatives: list[str]
    """Hard negatives: passages the project's retriever ranks high that are not judged relevant."""
    source: Source
    relevant: dict[str, int] = Field(description="every document judged relevant to the query")


class PairFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    schema_id: str = Field(SCHEMA, alias="schema")
    pairs: list[Pair]


def write_pairs(path: Path, pairs: Sequence[Pair]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(PairFile(pairs=list(pairs)).model_dump_json(by_alias=True), encoding="utf-8")
    tmp.replace(path)  # all or nothing
    return path


def read_pairs(path: Path) -> list[Pair]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RagtuneError(f"{path}: cannot read training pairs: {e}") from e
    found = data.get("schema") if isinstance(data, dict) else None
    if found != SCHEMA:
        raise RagtuneError(f"{path}: not retrieval training pairs of this version (expected \"schema\": "
                           f"{SCHEMA!r}, found {found!r})")
    try:
        return PairFile.model_validate(data).pairs
    except ValidationError as e:
        raise RagtuneError(f"{path}: malformed training pairs: {e}") from e


def judged_queries(queries: dict[str, str], qrels: dict[str, dict[str, int]], indexed: Iterable[str]) -> list[Query]:
    """The user's queries that have a positive judgement; every judged document must be in the index."""
    indexed = set(indexed)
    judged = {qid: {d: r for d, r in rel.items() if r > 0} for qid, rel in qrels.items() if qid in queries}
    judged = {qid: rel for qid, rel in judged.items() if rel}
    missing = sorted({d for rel in judged.values() for d in rel} - indexed)
    if missing:
        raise RagtuneError(f"the qrels name {len(missing)} document(s) that are not in the index (e.g. "
                           f"{', '.join(repr(m) for m in missing[:3])}); ingest the corpus the qrels refer to, "
                           "or remove those judgements")
    return [Query(qid, queries[qid], rel, "qrels") for qid, rel in sorted(judged.items())]


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
MIN_QUERY_WORDS = 3
MIN_CLOZE_WORDS = 6


def synthetic_queries(chunks: Iterable[Chunk], seed: int = 0) -> list[Query]:
    """Queries made from the corpus itself: each document's title (its first chunk the positive), each
    markdown heading (its chunk, without the heading, the positive), and one inverse-cloze sentence per
    chunk (Lee et al., 2019: the sentence is the query, the chunk without it the positive)."""
    rng = random.Random(seed)
    out: list[Query] = []
    titled: set[str] = set()
    for c in sorted(chunks, key=lambda c: c.chunk_id):
        if c.title and c.doc_id not in titled and len(c.title.split()) >= MIN_QUERY_WORDS:
            titled.add(c.doc_id)
            out.append(Query(f"title:{c.doc_id}", c.title, {c.doc_id: 1}, "title", c.chunk_id, c.text))
        for n, m in enumerate(_HEADING.finditer(c.text)):
            rest = (c.text[:m.start()] + c.text[m.end():]).strip()
            if len(m.group(1).split()) >= MIN_QUERY_WORDS and rest:
                out.append(Query(f"heading:{c.chunk_id}:{n}", m.group(1), {c.doc_id: 1}, "heading", c.chunk_id,
                                 _with_title(c, rest)))
        sentences = [s for s in _SENTENCE.split(_HEADING.sub("", c.text).strip()) if s]
        candidates = [i for i, s in enumerate(sentences) if len(s.split()) >= MIN_CLOZE_WORDS]
        if len(sentences) >= 2 and candidates:
            i = rng.choice(candidates)
            rest = " ".join(sentences[:i] + sentences[i + 1:])
            out.append(Query(f"cloze:{c.chunk_id}", sentences[i], {c.doc_id: 1}, "cloze", c.chunk_id,
                             _with_title(c, rest)))
    return out


def generated_queries(questions: Iterable[tuple[str, Chunk]]) -> list[Query]:
    """Questions a model wrote about a chunk (and that survived raft's filters), that chunk the positive."""
    return [Query(f"generated:{c.chunk_id}:{n}", q, {c.doc_id: 1}, "generated", c.chunk_id)
            for n, (q, c) in enumerate(questions)]


def _with_title(c: Chunk, text: str) -> str:
    return f"{c.title}\n{text}" if c.title else text


def split_by_query(pairs: Sequence[Pair], heldout_fraction: float, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training and held-out pairs, split by query id (never by pair). Synthetic queries made from one
    chunk share its document: they are kept on one side by document, so the held-out side never asks
    about a passage the model was trained to find."""
    if not 0 < heldout_fraction < 1:
        raise RagtuneError(f"the held-out fraction must be between 0 and 1, got {heldout_fraction}")
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        groups.setdefault(p.query_id if p.source == "qrels" else p.positive_doc, []).append(p)
    keys = sorted(groups)  # independent of input order: the split depends on the queries and the seed
    random.Random(seed).shuffle(keys)
    n_held = round(len(keys) * heldout_fraction)
    held = [p for k in keys[:n_held] for p in groups[k]]
    train = [p for k in keys[n_held:] for p in groups[k]]
    n_train_q, n_held_q = len({p.query_id for p in train}), len({p.query_id for p in held})
    if n_train_q < MIN_TRAIN_QUERIES or n_held_q < MIN_HELDOUT_QUERIES:
        need = max(MIN_TRAIN_QUERIES + MIN_HELDOUT_QUERIES,
                   int(MIN_TRAIN_QUERIES / (1 - heldout_fraction)) + 1, int(MIN_HELDOUT_QUERIES / heldout_fraction) + 1)
        raise RagtuneError(f"too few queries to train and compare a retriever: {len({p.query_id for p in pairs})} "
                           f"usable, split into {n_train_q} for training and {n_held_q} held out; at least "
                           f"{MIN_TRAIN_QUERIES} training and {MIN_HELDOUT_QUERIES} held-out queries are needed "
                           f"(about {need} queries at a held-out fraction of {heldout_fraction:g})")
    return train, held
