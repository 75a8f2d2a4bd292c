"""A project's settings checked whole before they are saved: every component the config names is built, so an
unknown name, a parameter its class does not take, or a value of the wrong type or range is refused by
``project init`` / ``project set``, not by the first command that needs the component, perhaps minutes into a
run. Building one is cheap: constructors validate and load nothing (models load in ``warm_up``), and none
reads a credential (a key may be exported after the setting)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ragtune.chunking import CHUNKERS
from ragtune.config import ComponentSpec, ProjectConfig
from ragtune.embedding import EMBEDDERS
from ragtune.errors import RagtuneError
from ragtune.generation import GENERATORS
from ragtune.project import build
from ragtune.rag import checkers  # noqa: F401  (registers the built-in checkers)
from ragtune.rag.check import CHECKERS
from ragtune.registry import Registry
from ragtune.retrieval.rerank import RERANKERS
from ragtune.stores import STORES


def checked_config(data: dict[str, Any]) -> ProjectConfig:
    """``data`` as a ProjectConfig whose components can all be built; a RagtuneError names what is wrong."""
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as e:
        raise RagtuneError(f"invalid setting:\n{e}") from e
    for where, registry, spec in _components(config):
        try:
            build(registry, spec)
        except RagtuneError as e:
            raise RagtuneError(f"invalid setting {where}: {e}") from e
    return config


Named = tuple[str, Registry[Any], ComponentSpec]
"""Where in the config (what an error names), the registry, the spec."""


def _components(config: ProjectConfig) -> list[Named]:
    named: list[Named] = [("embedder", EMBEDDERS, config.embedder), ("chunker", CHUNKERS, config.chunker),
                          ("store", STORES, config.store), ("generator", GENERATORS, config.generator),
                          ("checker", CHECKERS, config.checker)]
    if config.reranker is not None:
        named.append(("reranker", RERANKERS, config.reranker))
    return named + [(f"serve.remotes.{name}.generator", GENERATORS, remote.generator)
                    for name, remote in config.serve.remotes.items()]
