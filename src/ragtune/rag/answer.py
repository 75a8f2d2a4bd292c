"""Answer a question from the index: retrieve, gate on relevance, generate (bounded: the answer format's stop
sequences and token cap), and check the answer against its citations before it is shown (``rag.check``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragtune.config import AnswerConfig
from ragtune.documents.types import Hit
from ragtune.generation.protocol import Completion, Generator, Message
from ragtune.rag.check import Outcome, SupportChecker
from ragtune.rag.citation_end import generate_until_cited
from ragtune.rag.citations import Citation, is_refusal, missing_terms, strip_markers
from ragtune.rag.focus import focused
from ragtune.rag.prompts import ANSWER, REFUSAL, STOP, SYSTEM, drop_echo, final_answer, grounded_messages
from ragtune.rag.support import LexicalChecker
from ragtune.retrieval.retriever import Retriever
from ragtune.stores.filters import Condition


@dataclass
class Answer:
    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Hit] = field(default_factory=list)
    reason: str = ""
    """Why it was refused, or why the model's answer was replaced."""
    supported: bool | None = None
    """True when a cited passage supports the model's answer, False when none does (``reason`` says why); None
    when the model gave no answer or answered without passages."""
    check: Outcome | None = None
    """What the support check did with the model's answer: kept, replaced (``text`` is the supporting sentence,
    or the yes or no a sentence gives) or refused; None when no check ran (nothing generated, a refusal, no passages)."""
    generated: str = ""
    """What the model wrote (its echo of the question dropped), whether or not it is what is shown."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retrieve_seconds: float = 0.0
    generate_seconds: float = 0.0

    @property
    def plain_text(self) -> str:
        """The final answer without citation markers, as scored against reference answers (a model tuned
        on RAFT data quotes its passage first, then answers after a marker)."""
        return "" if self.refused else strip_markers(final_answer(self.text))

    @property
    def answered(self) -> bool:
        """The model gave an answer, which the support check may have replaced or refused: what faithfulness
        judges."""
        return not self.refused or self.check is Outcome.refused

    def to_dict(self) -> dict:
        return {"question": self.question, "answer": self.text, "refused": self.refused,
                "supported": self.supported, "check": self.check, "reason": self.reason,
                "generated": self.generated,
                "citations": [c.to_dict() for c in self.citations],
                "contexts": [{"n": n, "chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id, "score": h.score,
                              "text": h.chunk.text} for n, h in enumerate(self.contexts, start=1)],
                "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
                "seconds": {"retrieve": round(self.retrieve_seconds, 4), "generate": round(self.generate_seconds, 4)}}


LEXICAL = LexicalChecker()


def token_cap(system: str, cfg: AnswerConfig) -> int:
    """The most tokens an answer under ``system`` may take: room for a quote first when the rules ask for the
    RAFT format (quote and citation, then the answer after its marker), a short answer's otherwise."""
    return cfg.quoted_max_tokens if ANSWER in system else cfg.max_tokens


def answer(question: str, retriever: Retriever, generator: Generator, cfg: AnswerConfig, mode: str = "hybrid",
           where: Sequence[Condition] = (), system: str = SYSTEM, shots: Sequence[tuple[str, str]] = (),
           checker: SupportChecker = LEXICAL, ends_at_citation: bool = False,
           context_words: int | None = None) -> Answer:
    """``system`` is the rules the model follows; a tuned model gets the one it was trained with. ``shots``:
    worked examples sent before the question (``grounded_messages``). ``checker``: the project's support check
    (``rag.checkers.checker(config.checker)``). ``ends_at_citation``: the model was trained to answer briefly
    and cite once, so its answer ends at its first citation group (``rag.citation_end``). ``context_words``:
    the passages the model reads are cut to about this many words (``rag.focus``); the answer is checked
    against them whole."""
    a = prepare(question, retriever, cfg, mode, where)
    if a.refused:
        return a
    t = time.perf_counter()
    out = generated(generator, grounded_prompt(question, a.contexts, system, shots, context_words),
                    token_cap(system, cfg), cfg.temperature, STOP, ends_at_citation)
    return finish(a, out, time.perf_counter() - t, checker)


def grounded_prompt(question: str, hits: Sequence[Hit], system: str = SYSTEM, shots: Sequence[tuple[str, str]] = (),
                    context_words: int | None = None) -> list[Message]:
    """What every path that answers from passages sends the model (``answer`` here, a served or bake-off variant
    in ``app.variants``): ``grounded_messages`` over the passages cut to ``context_words`` (``rag.focus``)."""
    return grounded_messages(question, focused(question, hits, context_words), system, shots)


def generated(generator: Generator, messages: list[Message], max_tokens: int, temperature: float, stop: list[str],
              ends_at_citation: bool = False) -> Completion:
    """The model's completion; one that ends at its citation stops there (``rag.citation_end``)."""
    if ends_at_citation:
        return generate_until_cited(generator, messages, max_tokens, temperature, stop)
    return generator.generate(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)


def prepare(question: str, retriever: Retriever, cfg: AnswerConfig, mode: str = "hybrid",
            where: Sequence[Condition] = ()) -> Answer:
    """Retrieve and gate on relevance: an Answer already refused, or one whose text ``finish`` fills from the
    generation over its contexts (split from ``answer`` so a server can stream that generation)."""
    t0 = time.perf_counter()
    hits = retriever.search(question, k=cfg.k, mode=mode, where=where)
    t1 = time.perf_counter()
    dense = [h.scores["dense"] for h in hits if "dense" in h.scores]
    best = max(dense, default=None)
    coverage, missing = missing_terms(question, hits)
    reason = ""
    if not hits:
        reason = "no document matched"
    elif best is not None and best < cfg.min_relevance:
        reason = f"no passage is relevant enough (best similarity {best:.2f} < {cfg.min_relevance:.2f})"
    elif coverage < cfg.min_coverage:
        reason = f"the passages never mention: {', '.join(missing)}"
    if reason:
        return Answer(question, REFUSAL, True, contexts=hits, reason=reason, retrieve_seconds=t1 - t0)
    return Answer(question, "", False, contexts=hits, retrieve_seconds=t1 - t0)


def finish(a: Answer, out: Completion, generate_seconds: float, checker: SupportChecker = LEXICAL) -> Answer:
    """``a`` from ``prepare``, completed with the model's output: echo dropped, refusal detected, and the answer
    checked against the passages it cites: kept, replaced by the passage sentence that answers the question, or
    refused, with the reason. With no passages (a variant without retrieval) there is nothing to cite, and
    support is not judged."""
    text = drop_echo(out.text, a.question)
    shown, refused, citations = text or REFUSAL, not text or is_refusal(final_answer(text)), []
    supported, check, reason = None, None, ""
    if refused:
        reason = "the model found no answer in the passages"
    elif a.contexts:
        v = checker.check(a.question, text, a.contexts)
        check, reason, citations, supported = v.outcome, v.reason, list(v.citations), v.outcome is Outcome.kept
        if v.outcome is Outcome.replaced:
            shown = v.shown
        elif v.outcome is Outcome.refused:
            shown, refused = REFUSAL, True
    return Answer(a.question, shown, refused, citations=citations, contexts=a.contexts, supported=supported,
                  check=check, generated=text, reason=reason, prompt_tokens=out.prompt_tokens,
                  completion_tokens=out.completion_tokens, retrieve_seconds=a.retrieve_seconds,
                  generate_seconds=generate_seconds)
