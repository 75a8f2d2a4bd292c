"""The variants a bake-off compares, and the prompt each one sends."""

from __future__ import annotations

from dataclasses import dataclass, field

from ragtune.config import ComponentSpec
from ragtune.documents.types import Hit
from ragtune.errors import RagtuneError
from ragtune.generation.protocol import Message
from ragtune.rag.prompts import REFUSAL, SYSTEM, grounded_messages

NAMES = ("base", "fewshot", "rag", "ft", "ft+rag")
BASE_SYSTEM = f"Answer the question briefly. If you do not know the answer, reply exactly: {REFUSAL}"


@dataclass
class Variant:
    name: str
    model: str
    """Shown name of the model: a packaged model, an endpoint's model, or ft:<job-id>."""
    spec: ComponentSpec
    retrieval: bool
    system: str
    shots: list[tuple[str, str]] = field(default_factory=list)
    """Few-shot (question, answer) pairs sent before the question."""

    def messages(self, question: str, hits: list[Hit]) -> list[Message]:
        if self.retrieval:
            return grounded_messages(question, hits, self.system)
        msgs: list[Message] = [{"role": "system", "content": self.system}]
        for q, a in self.shots:
            msgs += [{"role": "user", "content": f"Question: {q}"}, {"role": "assistant", "content": a}]
        return [*msgs, {"role": "user", "content": f"Question: {question}"}]


def parse_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise RagtuneError(f"unknown variant(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(NAMES)}")
    return list(dict.fromkeys(names))


def build_variants(names: list[str], base_model: str, base_spec: ComponentSpec, ft_model: str | None,
                   ft_spec: ComponentSpec | None, ft_system: str | None, shots: list[tuple[str, str]]) -> list[Variant]:
    if any(n.startswith("ft") for n in names) and ft_spec is None:
        raise RagtuneError("the ft and ft+rag variants need --ft-model ft:<job-id> (a succeeded tuning job)")
    if "fewshot" in names and not shots:
        raise RagtuneError("the fewshot variant needs examples: pass --fewshot FILE.jsonl of {question, answer}")
    made = {"base": lambda: Variant("base", base_model, base_spec, False, BASE_SYSTEM),
            "fewshot": lambda: Variant("fewshot", base_model, base_spec, False, BASE_SYSTEM, shots),
            "rag": lambda: Variant("rag", base_model, base_spec, True, SYSTEM),
            "ft": lambda: Variant("ft", ft_model, ft_spec, False, ft_system or BASE_SYSTEM),
            "ft+rag": lambda: Variant("ft+rag", ft_model, ft_spec, True, ft_system or SYSTEM)}
    return [made[n]() for n in names]
