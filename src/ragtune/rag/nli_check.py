"""The NLI support check: a cross-encoder trained on natural-language inference reads each passage sentence
as a premise and the question with the model's answer as the hypothesis. None ships offline (no NLI model is
packaged): configure a sentence-transformers cross-encoder folder, e.g. cross-encoder/nli-deberta-v3-xsmall
saved with ``CrossEncoder(...).save(path)``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ragtune.component import Component
from ragtune.documents.types import Hit
from ragtune.errors import RagtuneError
from ragtune.rag.check import CHECKERS, Outcome, SupportVerdict
from ragtune.rag.citations import citation, resolve, strip_markers
from ragtune.rag.prompts import final_answer
from ragtune.rag.support import passage_sentences


@CHECKERS.register("nli")
@dataclass
class NLIChecker(Component):
    """Kept when a sentence of a cited passage entails the answer; replaced by the sentence of another passage
    that entails it best; refused when none does."""

    model: str = ""
    """A sentence-transformers cross-encoder NLI model: a folder (or a hub name, which needs network)."""
    threshold: float = 0.5
    """Entailment probability at which a sentence supports the answer."""
    entailment_label: str = "entailment"
    """The model's name for the entailment class (its config's id2label)."""
    batch_size: int = 32
    """Pairs per forward pass."""
    _model: Any = field(default=None, init=False, repr=False)

    def warm_up(self) -> None:
        if self._model is None:
            if not self.model:
                raise RagtuneError("the nli checker needs a model: set checker.params.model to a cross-encoder "
                                   "NLI folder")
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.model, device="cpu")

    def check(self, question: str, answer: str, passages: Sequence[Hit]) -> SupportVerdict:
        self.warm_up()
        labels = {str(v).lower(): int(k) for k, v in self._model.config.id2label.items()}
        if self.entailment_label.lower() not in labels:
            raise RagtuneError(f"the NLI model {self.model!r} has no {self.entailment_label!r} label; its labels: "
                               f"{', '.join(sorted(labels))} (set checker.params.entailment_label)")
        claim = f"{question} {strip_markers(final_answer(answer))}"
        premises = [(n, s) for n, h in enumerate(passages, start=1) for s in passage_sentences(h.chunk.text)]
        if not premises:
            return SupportVerdict(Outcome.refused, "the passages hold no sentence to check the answer against")
        probs = self._model.predict([(s, claim) for _, s in premises], apply_softmax=True, batch_size=self.batch_size)
        entails = [float(p[labels[self.entailment_label.lower()]]) for p in probs]
        cited = {c.n for c in resolve(answer, passages) if not c.inferred}
        standing = sorted({n for (n, _), e in zip(premises, entails, strict=True) if n in cited and e >= self.threshold})
        if standing:
            return SupportVerdict(Outcome.kept, citations=tuple(citation(n, passages[n - 1]) for n in standing))
        why = (f"the cited passage {', '.join(f'[{n}]' for n in sorted(cited))} does not entail it" if cited
               else "it cites no passage")
        best = max(range(len(premises)), key=entails.__getitem__)
        if entails[best] < self.threshold:
            return SupportVerdict(Outcome.refused, f"{why}, and no passage sentence entails it "
                                                   f"(best {entails[best]:.2f} < {self.threshold:.2f})")
        n, sentence = premises[best]
        return SupportVerdict(Outcome.replaced, f"{why}; passage [{n}] does", (citation(n, passages[n - 1]),),
                              sentence)
