"""Loading what the first requests would otherwise load, before the server takes any: concurrent first
requests would each start loading the same model."""

from __future__ import annotations

from ragtune.project import Project
from ragtune.app.variants import resolve


def warm_up(project: Project) -> None:
    project.embedder.embed(["warm up"])
    if project.index_spec() is not None:
        project.retriever.search("warm up", k=1, mode=project.config.retrieval.mode)
    for name, weight in project.config.serve.variants.items():
        if weight > 0:
            generator = project.generator(resolve(project, name).generator)
            load = getattr(generator, "_load", None)  # the local engines' lazy loader (llama.cpp, transformers)
            if load is not None:
                load()
