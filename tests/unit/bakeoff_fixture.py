"""Bake-off results for the decide, cost and report tests, PRODUCED by running the bake-off on the shipped
fakes: the hashing embedder, and scripted generators whose replies are chosen per question so that the
outcomes a test needs (tuned better than RAG, worse, indistinguishable...) actually occur.

20 answerable questions and 4 unanswerable ones. Each reply is the reference (EM = F1 = 1), a wrong
answer (0), or the refusal, so every score below is hand-computable:

    rag       right on q0..q9                      F1 0.50
    ft        better: q0..q15 (0.80, paired +0.30)  worse: q0..q3 (0.20, -0.30)
              unclear: q1..q10 (0.50, paired 0: one loss, one gain)   all: q0..q19 (1.00, +0.50)
    ft+rag    the same three outcomes
    more tuned variants (``tuned``): the same outcomes, and most: q0..q18 (0.95, +0.45)
    fewshot   low: q0, q1 (0.10)   close: q0..q13 (0.70, its interval overlaps a better ft's)
    fewshot+rag (only when ``names`` asks for it)   all: q0..q19 (1.00)   rag: as rag (0.50)
    base      q0 (0.05)

ft "better" wins 6 questions against rag: its interval excludes 0, but its sign-flip p-value (about 2/64)
does not survive Holm's correction over the run's comparisons; "all" wins 10 (p about 2/1024), which does.

Every variant refuses the 4 unanswerable questions, except base, which answers them (refusal recall 0).
Retrieval variants never refuse before generating (the relevance gates are off), and the support check keeps
every reply (the corpus holds none of the scripted answers: the lexical check would refuse or replace them), so
reply i answers question i in every variant. The support check itself is tested in test_support.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ragtune.app.variants import Variant
from ragtune.bakeoff.run import run_bakeoff
from ragtune.component import Component
from ragtune.config import AnswerConfig, ComponentSpec
from ragtune.cost.prices import ModelPrice, PriceBook, load_prices
from ragtune.documents.types import Hit
from ragtune.evaluation.qa import Question
from ragtune.rag.check import CHECKERS, Outcome, SupportVerdict
from ragtune.rag.prompts import REFUSAL

TOPICS = ["invoices", "refunds", "sso", "webhooks", "rate limits", "exports", "avatars", "audit logs", "teams",
          "billing emails", "api keys", "sandboxes", "retention", "regions", "uptime", "roles", "domains",
          "imports", "tags", "alerts"]
QUESTIONS = ([Question(f"q{i}", f"What does the handbook say about {t}?", f"answer {t} {i}")
              for i, t in enumerate(TOPICS)]
             + [Question(f"u{i}", f"What colour is meeting room {i}?", "") for i in range(4)])
ANSWERABLE = len(TOPICS)
RAG_RIGHT = range(0, 10)
TUNED = {"better": range(0, 16), "worse": range(0, 4), "unclear": range(1, 11), "all": range(0, 20),
         "most": range(0, 19)}
FEWSHOT = {"low": range(0, 2), "close": range(0, 14)}
FEWSHOT_RAG = {"all": range(0, 20), "rag": RAG_RIGHT}
BASE_MODEL, FT_MODEL = "local-lm", "ft:job-1"
VARIANTS = ("base", "fewshot", "rag", "ft", "ft+rag")


def replies(right: range, refuse_unanswerable: bool = True) -> list[str]:
    """The scripted replies, one per question in order: the reference where ``right``, else a wrong answer."""
    out = [q.answer if i in right else "forty two purple llamas" for i, q in enumerate(QUESTIONS[:ANSWERABLE])]
    return out + [REFUSAL if refuse_unanswerable else "probably green" for _ in QUESTIONS[ANSWERABLE:]]


def scripted(script: list[str]) -> ComponentSpec:
    return ComponentSpec(type="scripted", params={"script": script})


def variants(ft: str = "better", ftrag: str = "unclear", fewshot: str = "low", fewshotrag: str = "all",
             names: tuple[str, ...] = VARIANTS, tuned: tuple[tuple[str, str], ...] = ()) -> list[Variant]:
    """``tuned``: more tuned variants, as (name, flavour of ``TUNED``): LABEL+rag retrieves; the model is ft:LABEL."""
    made = {"base": Variant("base", scripted(replies(range(0, 1), False)), False, "Answer briefly.", BASE_MODEL),
            "fewshot": Variant("fewshot", scripted(replies(FEWSHOT[fewshot])), False, "Answer briefly.", BASE_MODEL,
                               (("When are invoices emailed?", "on the first day of each month"),)),
            "rag": Variant("rag", scripted(replies(RAG_RIGHT)), True, "Answer from the passages.", BASE_MODEL),
            "fewshot+rag": Variant("fewshot+rag", scripted(replies(FEWSHOT_RAG[fewshotrag])), True,
                                   "Answer from the passages.", BASE_MODEL),
            "ft": Variant("ft", scripted(replies(TUNED[ft])), False, "Answer as trained.", FT_MODEL),
            "ft+rag": Variant("ft+rag", scripted(replies(TUNED[ftrag])), True, "Answer as trained.", FT_MODEL)}
    more = [Variant(n, scripted(replies(TUNED[f])), n.endswith("+rag"), "Answer as trained.",
                    f"ft:{n.removesuffix('+rag')}") for n, f in tuned]
    return [made[n] for n in names] + more


def token_prices(base_per_m: float = 0.4, ft_per_m: float = 0.4) -> PriceBook:
    """The shipped book with both models priced by input tokens (deterministic, unlike the fakes' seconds).
    At the same price the tuned model is cheaper: its prompt has no passages (about 11 tokens against
    RAG's 57), so fine-tuning pays back only at high volume."""
    book = load_prices()
    return book.model_copy(update={"models": {**book.models, BASE_MODEL: ModelPrice(input_per_m=base_per_m,
                                                                                     output_per_m=0.0),
                                              FT_MODEL: ModelPrice(input_per_m=ft_per_m, output_per_m=0.0)}})


def fake_answer_config() -> AnswerConfig:
    """Gates off, so every question reaches the scripted model (its reply, not the gate, decides)."""
    return AnswerConfig(min_relevance=-1.0, min_coverage=0.0)


@CHECKERS.register("keep")
@dataclass
class KeepChecker(Component):
    """A support check that keeps every answer, as a plugin registers one: the scripted reply, not the check,
    decides what a retrieval variant answers."""

    def check(self, question: str, answer: str, passages: Sequence[Hit]) -> SupportVerdict:
        return SupportVerdict(Outcome.kept)


def keep_checker() -> ComponentSpec:
    return ComponentSpec(type="keep")


JUDGES = {"by-rule": [], "lenient": ['{"correct": true, "supported": true}']}
"""Scripted judges' replies: ``by-rule`` calls an answer correct when it holds the reference, ``lenient`` calls
every answer correct (a wrong one too)."""


def produce(project, out: Path, names: tuple[str, ...] = VARIANTS, judge: str | None = None, **flavour) -> Path:
    """Run the bake-off on ``project`` (ingested, fake components) and write its results.json to ``out``;
    ``judge``: one of ``JUDGES`` grades the answers (none by default)."""
    from ragtune.bakeoff.judge_summary import JudgeSetup
    from ragtune.bakeoff.llm_judge import JudgeRun
    from ragtune.bakeoff.results import write_results
    from ragtune.evaluation.judge_fake import ScriptedJudge

    run = None if judge is None else JudgeRun(ScriptedJudge(script=JUDGES[judge]), JudgeSetup(model=judge))
    results = run_bakeoff(project, QUESTIONS, variants(names=names, **flavour), out, load_prices(),
                          questions_path="scripted", judge=run)
    write_results(results, out)
    return out
