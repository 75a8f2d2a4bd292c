"""Loading what the first requests would otherwise load, before the server takes any: concurrent first
requests would each start loading the same model."""

from __future__ import annotations

from ragtune.app.variants import resolve
from ragtune.project import Project


def warm_up(project: Project) -> None:
    project.embedder.warm_up()
    if project.index_spec() is not None:
        project.retriever.search("warm up", k=1, mode=project.config.retrieval.mode)
    for name, weight in project.config.serve.variants.items():
        if weight > 0:
            project.generator(resolve(project, name).generator).warm_up()
