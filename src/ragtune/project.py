"""The project folder: config, index, locks. Components are built from config lazily, once."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from filelock import FileLock, Timeout
from pydantic import ValidationError

from ragtune.config import ComponentSpec, ProjectConfig
from ragtune.errors import RagtuneError

DEFAULT_DIR = ".ragtune"


class Project:
    def __init__(self, root: Path | str = DEFAULT_DIR, config: ProjectConfig | None = None):
        self.root = Path(root)
        self._config = config

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def config(self) -> ProjectConfig:
        if self._config is None:
            if self.config_path.exists():
                try:
                    self._config = ProjectConfig.model_validate_json(self.config_path.read_text())
                except ValidationError as e:
                    raise RagtuneError(f"{self.config_path} is not a valid ragtune config:\n{e}") from e
            else:
                self._config = ProjectConfig()
        return self._config

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.config_path, self.config.model_dump_json(indent=2))

    def switch_index(self, embedder: ComponentSpec, store: ComponentSpec) -> None:
        """Embedder and store change together, in one rename of config.json (a re-embedded index)."""
        self.config.embedder, self.config.store = embedder, store
        self.save()
        for name in ("embedder", "store", "retriever"):  # built from the old settings
            self.__dict__.pop(name, None)

    def lock(self) -> FileLock:
        """Held by anything that writes the index; a second writer fails at once with a clear message."""
        self.root.mkdir(parents=True, exist_ok=True)
        return _Lock(str(self.root / "write.lock"))

    # --- the index and what built it ---------------------------------------------------------
    @property
    def index_info_path(self) -> Path:
        return self.root / "index.json"

    @property
    def reembed_path(self) -> Path:
        """The journal of a switch of embedder under way (rag/reembed.py)."""
        return self.root / "reembed.json"

    def check_index_compatible(self) -> None:
        """Vectors from two embedders cannot share one index: refuse instead of mixing them. While the
        index is being re-embedded for another embedder, nothing may change it: the copy must see it whole."""
        if self.reembed_path.exists():
            raise RagtuneError(f"the index in {self.root} is being re-embedded for a new embedder; ingest and "
                               "deletions wait until it is done ('ragtune tune reembed' finishes an interrupted one)")
        built = self.index_spec()
        if built is None:
            return
        from ragtune.embedding import EMBEDDERS

        # compared with defaults filled in, so a spelled-out default equals an omitted one
        before, now = EMBEDDERS.from_dict(built["embedder"]).to_dict(), self.embedder.to_dict()
        if before != now:
            raise RagtuneError(f"the index in {self.root} was built with embedder {before}, but the config now "
                               f"gives {now}; use a new --project or restore the config")

    def index_spec(self) -> dict | None:
        return json.loads(self.index_info_path.read_text()) if self.index_info_path.exists() else None

    def record_index_spec(self, replace: bool = False) -> None:
        """What built the index; ``replace``: after the index was re-embedded with the configured embedder."""
        if replace or self.index_spec() is None:
            self.root.mkdir(parents=True, exist_ok=True)
            write_atomic(self.index_info_path, json.dumps(
                {"embedder": self.embedder.to_dict(), "chunker": self.chunker.to_dict()}, indent=2))

    # --- components ----------------------------------------------------------------------------
    @cached_property
    def embedder(self):
        from ragtune.embedding import EMBEDDERS

        return build(EMBEDDERS, self.config.embedder)

    @cached_property
    def chunker(self):
        from ragtune.chunking import CHUNKERS

        return build(CHUNKERS, self.config.chunker)

    @cached_property
    def store(self):
        from ragtune.stores import STORES

        store = build(STORES, self.config.store)
        return store.bind(self.root)

    @cached_property
    def bm25(self):
        from ragtune.retrieval.bm25 import BM25Index

        return BM25Index(self.root / "bm25")

    @cached_property
    def retriever(self):
        from ragtune.retrieval.rerank import RERANKERS
        from ragtune.retrieval.retriever import Retriever
        from ragtune.stores.keywords import keyword_search

        r = self.config.retrieval
        reranker = build(RERANKERS, self.config.reranker) if self.config.reranker else None
        return Retriever(self.store, self.bm25, self.embedder, candidates=r.candidates, rrf_k=r.rrf_k,
                         reranker=reranker, rerank_fusion=r.rerank_fusion, write_lock=self.lock,
                         keywords=keyword_search(self.store))

    def generator(self, spec: ComponentSpec | None = None):
        from ragtune.generation import GENERATORS

        spec = spec or self.config.generator
        key = json.dumps(spec.model_dump(), sort_keys=True)
        cache = self.__dict__.setdefault("_generators", {})
        if key not in cache:
            cache[key] = build(GENERATORS, spec)
        return cache[key]


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def build(registry, spec: ComponentSpec):
    """The component ``spec`` names in ``registry``; a RagtuneError says what is wrong with its parameters."""
    try:
        return registry.from_dict(spec.model_dump())
    except TypeError as e:  # an unknown or missing constructor parameter
        raise RagtuneError(f"bad parameters for {registry.kind} {spec.type!r}: {e}") from e


class _Lock(FileLock):
    def __enter__(self):
        try:
            self.acquire(timeout=0)
        except Timeout:
            raise RagtuneError(f"another ragtune process is writing this project ({self.lock_file}); "
                               "wait for it to finish") from None
        return self
