"""The names a bake-off compares. Each is a variant the resolver (``app.variants``) makes, so it is measured
exactly as it is served. ``ft`` and ``ft+rag`` stand for the tuned models of --ft-model: each, labelled
(``raft=ft:<id>``; a bare ``ft:<id>`` is labelled ``ft``), is measured as ``<label>`` (``ft:<id>``) and
``<label>+rag`` (``ft+rag:<id>``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ragtune.app.variants import UNTRAINED, Variant, resolve
from ragtune.errors import RagtuneError
from ragtune.project import Project

TUNED_KINDS = ("ft", "ft+rag")
NAMES = (*UNTRAINED, *TUNED_KINDS)
DEFAULT_LABEL = "ft"
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class TunedModel:
    label: str
    model: str
    """ft:<job-id>."""

    def variant(self, kind: str) -> str:
        """The bake-off name of this model measured as ``kind`` (ft: without retrieval, ft+rag: with it)."""
        return self.label if kind == "ft" else f"{self.label}+rag"


def parse_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise RagtuneError(f"unknown variant(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(NAMES)}")
    return list(dict.fromkeys(names))


def parse_tuned(specs: Sequence[str]) -> list[TunedModel]:
    """--ft-model values, ``LABEL=ft:<job-id>`` or ``ft:<job-id>`` (labelled ``ft``). A label names the model's
    variants, so it must not be an untrained variant's name nor repeat another's."""
    made: list[TunedModel] = []
    for spec in specs:
        label, sep, model = spec.partition("=")
        label, model = (label.strip(), model.strip()) if sep else (DEFAULT_LABEL, spec.strip())
        if not model.startswith("ft:") or len(model) == len("ft:"):
            raise RagtuneError(f"--ft-model {spec!r}: expected ft:<job-id> or LABEL=ft:<job-id>")
        if not _LABEL.fullmatch(label) or label in UNTRAINED:
            raise RagtuneError(f"--ft-model {spec!r}: the label {label!r} must be letters, digits, '.', '_' or '-' "
                               f"and not one of {', '.join(UNTRAINED)} (it names the variants {label} and "
                               f"{label}+rag)")
        if any(t.label == label for t in made):
            raise RagtuneError(f"--ft-model: the label {label!r} is given twice; label each tuned model differently "
                               "(LABEL=ft:<job-id>)")
        made.append(TunedModel(label, model))
    return made


def variant_names(names: Sequence[str], tuned: Sequence[TunedModel]) -> list[str]:
    """The untrained ``names`` in their order, then each tuned model's forms among ``names``."""
    if any(n in TUNED_KINDS for n in names) and not tuned:
        raise RagtuneError("the ft and ft+rag variants need --ft-model ft:<job-id> (a succeeded tuning job), "
                           "repeatable as LABEL=ft:<job-id>")
    return [n for n in names if n in UNTRAINED] + [t.variant(k) for t in tuned for k in TUNED_KINDS if k in names]


def build_variants(project: Project, names: Sequence[str], tuned: Sequence[TunedModel],
                   shots: Sequence[tuple[str, str]], model: str | None = None,
                   base_url: str | None = None) -> list[Variant]:
    """The variants ``names`` asks for, each tuned model's under its label; --model / --base-url replace the
    generator of the untrained ones."""
    variant_names(names, tuned)  # refuses ft / ft+rag without a tuned model
    untrained = [resolve(project, n, model=model, base_url=base_url, shots=shots) for n in names if n in UNTRAINED]
    return untrained + [replace(resolve(project, f"{k}:{t.model.removeprefix('ft:')}"), name=t.variant(k))
                        for t in tuned for k in TUNED_KINDS if k in names]
