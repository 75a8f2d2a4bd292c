"""A ragtune project as a LlamaIndex retriever: ``RagtuneRetriever(".ragtune").retrieve("q")`` returns
NodeWithScore objects whose TextNode ids are ragtune chunk ids."""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ragtune.project import Project
from ragtune.stores.filters import parse_filters


class RagtuneRetriever(BaseRetriever):
    def __init__(self, project: Project | str, k: int = 5, mode: str = "hybrid", filters: Sequence[str] = ()):
        self._project = project if isinstance(project, Project) else Project(project)
        self._k, self._mode, self._where = k, mode, parse_filters(list(filters))
        super().__init__()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._project.retriever.search(query_bundle.query_str, k=self._k, mode=self._mode, where=self._where)
        return [NodeWithScore(node=TextNode(id_=h.chunk.chunk_id, text=h.chunk.text,
                                            metadata={**h.chunk.metadata, "doc_id": h.chunk.doc_id,
                                                      "title": h.chunk.title}),
                              score=h.score)
                for h in hits]
