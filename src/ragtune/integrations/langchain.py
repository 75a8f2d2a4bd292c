"""A ragtune project as a LangChain retriever: ``RagtuneRetriever(project=".ragtune").invoke("q")``
returns LangChain Documents carrying the chunk's text, metadata and scores."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from ragtune.project import Project
from ragtune.stores.filters import parse_filters


class RagtuneRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    project: Any = Field(description="project folder, or a ragtune Project")
    k: int = Field(5, ge=1, description="chunks returned")
    mode: str = Field("hybrid", description="dense, bm25, or hybrid")
    filters: list[str] = Field(default_factory=list, description="ragtune filters, e.g. category=billing")
    _project: Project = PrivateAttr()

    def model_post_init(self, context: Any) -> None:
        self._project = self.project if isinstance(self.project, Project) else Project(self.project)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self._project.retriever.search(query, k=self.k, mode=self.mode, where=parse_filters(self.filters))
        return [Document(page_content=h.chunk.text, id=h.chunk.chunk_id,
                         metadata={**h.chunk.metadata, "doc_id": h.chunk.doc_id, "title": h.chunk.title,
                                   "score": h.score, "scores": h.scores})
                for h in hits]
