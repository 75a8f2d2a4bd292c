"""Support checkers (``rag.check``) by name: built-ins register as plugins do, and each configured one is
built once per process (an NLI model loads once, whichever command or request asks first)."""

from __future__ import annotations

import json
from functools import cache

from ragtune.config import ComponentSpec
from ragtune.project import build
from ragtune.rag import judge_check, nli_check, support  # noqa: F401  (registers them)
from ragtune.rag.check import CHECKERS, SupportChecker


def checker(spec: ComponentSpec) -> SupportChecker:
    """The checker the config's ``checker`` names."""
    return _built(json.dumps(spec.model_dump(), sort_keys=True))


@cache
def _built(spec: str) -> SupportChecker:
    return build(CHECKERS, ComponentSpec.model_validate_json(spec))
