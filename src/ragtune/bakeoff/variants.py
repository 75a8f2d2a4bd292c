"""The names a bake-off compares. Each is a variant the resolver (``app.variants``) makes, so it is measured
exactly as it is served; ``ft`` and ``ft+rag`` stand for the ``ft:<id>`` / ``ft+rag:<id>`` of --ft-model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ragtune.app.variants import Variant, resolve
from ragtune.errors import RagtuneError
from ragtune.project import Project

NAMES = ("base", "fewshot", "rag", "fewshot+rag", "ft", "ft+rag")


def parse_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise RagtuneError(f"unknown variant(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(NAMES)}")
    return list(dict.fromkeys(names))


def build_variants(project: Project, names: list[str], ft_model: str | None, shots: Sequence[tuple[str, str]],
                   model: str | None = None, base_url: str | None = None) -> list[Variant]:
    """The variants called ``names``; --model / --base-url replace the generator of the untrained ones."""
    if any(n.startswith("ft") for n in names) and not ft_model:
        raise RagtuneError("the ft and ft+rag variants need --ft-model ft:<job-id> (a succeeded tuning job)")
    job = (ft_model or "").removeprefix("ft:")
    return [replace(resolve(project, f"{n}:{job}"), name=n) if n.startswith("ft")
            else resolve(project, n, model=model, base_url=base_url, shots=shots) for n in names]
