"""The one QA evaluator of ``eval qa``, ``bakeoff`` and ``tune eval``: a question asked the way users ask it,
one typed row per answer (SQuAD EM / F1 against the reference, refusal, judgments, usage), and one
refusal accounting. An empty reference marks an unanswerable question, where the right outcome is a
refusal: refusal precision and recall treat "should refuse" as the positive class."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel

from ragtune.config import AnswerConfig
from ragtune.documents.types import Hit
from ragtune.evaluation.answer_metrics import containment, exact_match, percentile, reference_recall, token_f1
from ragtune.evaluation.judge import Judgment
from ragtune.generation.protocol import Completion, Generator, Message
from ragtune.rag.answer import LEXICAL, Answer, answer, finish
from ragtune.rag.check import Outcome, SupportChecker
from ragtune.retrieval.retriever import Retriever
from ragtune.stores.filters import Condition


@dataclass
class Question:
    id: str
    question: str
    answer: str
    hidden_doc: str = ""
    """For a question made unanswerable: the document holding its answer, kept out of retrieval."""

    @property
    def answerable(self) -> bool:
        return bool(self.answer) and not self.hidden_doc


def read_questions(rows: list[dict]) -> list[Question]:
    """Rows of {_id, question, answer}; a row without ``_id`` is numbered by its position."""
    return [Question(str(r.get("_id", n)), r["question"], str(r.get("answer") or "")) for n, r in enumerate(rows)]


class Asker(Protocol):
    """How a question is put to the model: what the evaluator needs of a variant (``app.variants.Variant``)."""

    @property
    def retrieval(self) -> bool: ...

    @property
    def system(self) -> str: ...

    @property
    def shots(self) -> tuple[tuple[str, str], ...]: ...

    def messages(self, conversation: Sequence[Message], hits: Sequence[Hit] = ()) -> list[Message]: ...

    def stop(self, conversation: Sequence[Message]) -> list[str]: ...

    def max_tokens(self, cfg: AnswerConfig) -> int: ...

    @property
    def ends_at_citation(self) -> bool: ...

    @property
    def context_words(self) -> int | None: ...


Judge = Callable[[Answer], "tuple[bool | None, bool | None]"]
"""An answer's (supported, citation correct) verdicts, None where there is nothing to judge."""


class QARow(BaseModel):
    """One answer to one question: the row of answers.jsonl, qa_results.jsonl and a tuning job's eval.json."""

    id: str
    question: str
    reference: str
    answerable: bool
    hidden_doc: str | None = None
    variant: str = ""
    repeat: int = 0
    answer: str
    final: str
    """The scored answer: the text after a RAFT marker, without citation markers; empty for a refusal."""
    refused: bool
    reason: str = ""
    check: Outcome | None = None
    """What the support check did with the model's answer (kept, replaced by the passage's answer, refused);
    None when none ran (a refusal, no passages, rows written before the check)."""
    generated: str = ""
    """What the model wrote, before the support check: what ``supported`` and ``citation_correct`` judge."""
    exact_match: float | None
    """None on an unanswerable question (there the refusal is what is scored)."""
    f1: float | None
    reference_recall: float | None = None
    """Share of the reference's tokens in the final answer; None on an unanswerable question (and in rows
    written before it was measured)."""
    containment: float | None = None
    """1.0 when the final answer holds the reference as a contiguous run of tokens; None as above."""
    supported: bool | None = None
    citation_correct: bool | None = None
    judgment: Judgment | None = None
    """The LLM judge's verdicts (the bake-off's, when it was given a judge, on answerable questions only)."""
    contexts: list[str] = []
    """Chunk ids of the passages the model saw, in prompt order."""
    cited: list[int] = []
    """Passage numbers the answer cites explicitly."""
    citations: list[str] = []
    """Chunk ids of every resolved citation."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False


def ask(q: Question, how: Asker, retriever: Retriever | None, generator: Generator, cfg: AnswerConfig,
        mode: str, checker: SupportChecker = LEXICAL) -> Answer:
    """One question as users get it: retrieval through ``answer()`` (with its refusal gates and ``checker``'s
    support check), otherwise straight to the model; both end in ``finish()`` (echo, refusal detection,
    citations)."""
    if how.retrieval:
        if retriever is None:
            raise ValueError("a retrieval variant needs a retriever")
        where = [Condition("doc_id", "!=", q.hidden_doc)] if q.hidden_doc else []
        return answer(q.question, retriever, generator, cfg, mode=mode, where=where, system=how.system,
                      shots=how.shots, checker=checker, ends_at_citation=how.ends_at_citation,
                      context_words=how.context_words)
    asked: list[Message] = [{"role": "user", "content": q.question}]  # a client's single question, as served
    t = time.perf_counter()
    out = generator.generate(how.messages(asked), max_tokens=how.max_tokens(cfg), temperature=cfg.temperature,
                             stop=how.stop(asked))
    return reply_answer(q.question, out, time.perf_counter() - t)


def reply_answer(question: str, out: Completion, seconds: float) -> Answer:
    """A completion to messages the caller built (a chat example's own turns), judged as ``ask`` judges."""
    return finish(Answer(question, "", False), out, seconds)


def to_row(q: Question, a: Answer, seconds: float | None = None, judge: Judge | None = None, **labels) -> QARow:
    """Score ``a`` against ``q``'s reference. ``seconds`` defaults to the answer's own retrieve + generate time;
    ``labels`` fill variant, repeat, cached."""
    final = a.plain_text
    supported, citation = judge(a) if a.answered and judge is not None else (None, None)
    return QARow(id=q.id, question=q.question, reference=q.answer, answerable=q.answerable,
                 hidden_doc=q.hidden_doc or None, answer=a.text, final=final, refused=a.refused, reason=a.reason,
                 check=a.check, generated=a.generated,
                 exact_match=exact_match(final, q.answer) if q.answerable else None,
                 f1=token_f1(final, q.answer) if q.answerable else None,
                 reference_recall=reference_recall(final, q.answer) if q.answerable else None,
                 containment=containment(final, q.answer) if q.answerable else None,
                 supported=supported, citation_correct=citation,
                 contexts=[h.chunk.chunk_id for h in a.contexts],
                 cited=[c.n for c in a.citations if not c.inferred],
                 citations=[c.chunk_id for c in a.citations],
                 prompt_tokens=a.prompt_tokens, completion_tokens=a.completion_tokens,
                 seconds=a.retrieve_seconds + a.generate_seconds if seconds is None else seconds, **labels)


# --- aggregation shared by every caller -----------------------------------------------------------------

def by_question(rows: Iterable[QARow]) -> dict[str, list[QARow]]:
    """Rows grouped by question id, in first-seen order (a question asked several times has several rows)."""
    out: dict[str, list[QARow]] = {}
    for r in rows:
        out.setdefault(r.id, []).append(r)
    return out


def per_question(rows: Iterable[QARow], metric: Callable[[QARow], float | bool | None]) -> dict[str, float]:
    """``metric`` averaged over each question's repeats; questions where it is None throughout are left out."""
    out = {}
    for qid, rs in by_question(rows).items():
        values = [float(v) for v in map(metric, rs) if v is not None]
        if values:
            out[qid] = float(np.mean(values))
    return out


def refusal_outcomes(rows: Iterable[QARow]) -> tuple[list[float], list[float], list[float]]:
    """Per question: the share of its answers that refused, whether it should be refused (unanswerable),
    and their product (refused when it should be). Precision is sum(both) / sum(refused); recall is
    sum(both) / sum(should)."""
    groups = list(by_question(rows).values())
    refused = [float(np.mean([r.refused for r in rs])) for rs in groups]
    should = [float(not rs[0].answerable) for rs in groups]
    return refused, should, [r * s for r, s in zip(refused, should)]  # noqa: B905  (one row each; strict= would be an equivalent mutant)


def _share(numerator: Sequence[float], denominator: Sequence[float]) -> float | None:
    return float(np.sum(numerator) / np.sum(denominator)) if np.sum(denominator) else None


def _mean_per_question(rows: list[QARow], metric: Callable[[QARow], float | bool | None]) -> float:
    values = list(per_question(rows, metric).values())
    return float(np.mean(values)) if values else 0.0


class QASummary(BaseModel):
    """Plain means over questions (``eval qa``); the bake-off adds intervals to the same quantities."""

    questions: int
    exact_match: float
    f1: float
    reference_recall: float = 0.0
    containment: float = 0.0
    refusal_rate: float
    false_refusal_rate: float
    """Refusals among answerable questions."""
    refusal_precision: float | None
    refusal_recall: float | None
    latency_p50: float
    latency_p95: float
    prompt_tokens_mean: float
    completion_tokens_mean: float


def summarize(rows: list[QARow]) -> QASummary:
    refused, should, both = refusal_outcomes(rows)
    answerable = [1.0 - s for s in should]
    seconds = [r.seconds for r in rows]
    return QASummary(
        questions=len(refused),
        exact_match=_mean_per_question(rows, lambda r: r.exact_match),
        f1=_mean_per_question(rows, lambda r: r.f1),
        reference_recall=_mean_per_question(rows, lambda r: r.reference_recall),
        containment=_mean_per_question(rows, lambda r: r.containment),
        refusal_rate=float(np.mean(refused)) if refused else 0.0,
        false_refusal_rate=_share([r * a for r, a in zip(refused, answerable)], answerable) or 0.0,  # noqa: B905  (as above)
        refusal_precision=_share(both, refused), refusal_recall=_share(both, should),
        latency_p50=percentile(seconds, 50), latency_p95=percentile(seconds, 95),
        prompt_tokens_mean=float(np.mean([r.prompt_tokens for r in rows])) if rows else 0.0,
        completion_tokens_mean=float(np.mean([r.completion_tokens for r in rows])) if rows else 0.0)


def evaluate_qa(questions: list[Question], retriever: Retriever, generator: Generator, cfg: AnswerConfig,
                mode: str, out: Path | None = None, progress: Callable[[int], None] = lambda n: None, *,
                how: Asker, judge: Judge | None = None,
                checker: SupportChecker = LEXICAL) -> tuple[QASummary, list[QARow]]:
    """``eval qa``: each question asked of the variant ``how`` (``rag``, or a tuned model with retrieval); rows
    are appended to ``out`` as they are made."""
    rows = []
    sink = out.open("w", encoding="utf-8") if out else None
    try:
        for q in questions:
            rows.append(to_row(q, ask(q, how, retriever, generator, cfg, mode, checker), judge=judge))
            if sink:
                sink.write(rows[-1].model_dump_json() + "\n")
                sink.flush()
            progress(1)
    finally:
        if sink:
            sink.close()
    return summarize(rows), rows
