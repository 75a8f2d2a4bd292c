"""Run every variant over one question set through the QA evaluator, keep the answers, and score them.

Every generation is cached as it is made (``cache.db``), so a run stopped part-way (Ctrl-C) resumes where it
stopped: a re-run answers the finished questions from the cache and gives the same numbers."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from pathlib import Path

from ragtune.app.variants import Variant
from ragtune.bakeoff.cache import CachedGenerator, GenerationCache
from ragtune.bakeoff.judge_cache import CachedJudge, JudgmentCache
from ragtune.bakeoff.judge_summary import JudgeSummary, rank_agreement, sanity
from ragtune.bakeoff.judgments import citation_correct, supported
from ragtune.bakeoff.llm_judge import JudgeRun, judge_rows
from ragtune.bakeoff.results import BakeoffResults, Leakage, PricesUsed, QuestionSet
from ragtune.bakeoff.scoring import compare, score_variant
from ragtune.cost.prices import PriceBook
from ragtune.errors import RagtuneError
from ragtune.evaluation.qa import QARow, Question, ask, to_row
from ragtune.jsonl import read_lines, write_jsonl
from ragtune.raft.build import QA, locate_oracle
from ragtune.rag.answer import Answer
from ragtune.rag.checkers import checker
from ragtune.rag.citations import resolve
from ragtune.retrieval.retriever import Retriever

ANSWERS_FILE = "answers.jsonl"
Progress = Callable[..., None]
"""``progress(stage, n, total=None)``: advance ``stage`` by n (the CLI draws it; nothing here imports rich)."""


def make_unanswerable(questions: list[Question], n: int, search, seed: int) -> list[Question]:
    """Pair ``n`` answerable questions with a corpus that lacks their source: the document of each
    one's oracle chunk is excluded from retrieval, so the right outcome becomes a refusal."""
    pool = [q for q in questions if q.answer]
    made = []
    for q in random.Random(seed).sample(pool, min(n, len(pool))):
        oracle = locate_oracle(QA(q.question, q.answer), search(q.question))
        if oracle is not None:
            made.append(Question(q.id + ":hidden", q.question, q.answer, hidden_doc=oracle.chunk.doc_id))
    return made


def judge(a: Answer) -> tuple[bool | None, bool | None]:
    """The bake-off's deterministic judgments: faithfulness to the passages, and to the cited ones. Both judge
    what the model wrote, before the support check kept, replaced or refused it: they measure the model, and
    the check's outcome is recorded beside them (``QARow.check``)."""
    cited = [c.n for c in resolve(a.generated, a.contexts) if not c.inferred]
    return (supported(a.generated, a.contexts, a.question),
            citation_correct(a.generated, cited, a.contexts, a.question))


def answer_all(project, questions: list[Question], variants: list[Variant], cache: GenerationCache,
               repeats: int = 1, progress: Progress = lambda *a, **k: None, retriever: Retriever | None = None
               ) -> dict[str, list[QARow]]:
    """Each variant's answer rows, retrieving with ``retriever`` (default: the project's). Hiding a document
    needs retrieval, so variants without it skip those questions."""
    retriever = retriever or project.retriever
    cfg, mode, check = project.config.answer, project.config.retrieval.mode, checker(project.config.checker)
    rows: dict[str, list[QARow]] = {}
    progress("variants", 0, total=len(variants))
    for v in variants:
        inner = project.generator(v.generator)
        asked = [q for q in questions if v.retrieval or not q.hidden_doc]
        for r in range(repeats):
            gen = CachedGenerator(inner, v.generator.model_dump(), cache, repeat=r)
            for q in asked:
                gen.seconds = 0.0  # a refusal before generating takes no model time
                a = ask(q, v, retriever if v.retrieval else None, gen, cfg, mode, check)
                rows.setdefault(v.name, []).append(
                    to_row(q, a, a.retrieve_seconds + gen.seconds, judge, variant=v.name, repeat=r, cached=gen.hit))
                progress(v.name, 1, total=len(asked) * repeats)
        progress("variants", 1, total=len(variants))
    return rows


def run_bakeoff(project, questions: list[Question], variants: list[Variant], out: Path, prices: PriceBook,
                repeats: int = 1, progress: Progress = lambda *a, **k: None, questions_path: str = "",
                leakage: Leakage | None = None, stages: dict[str, float] | None = None,
                tuned_models: dict[str, str] | None = None, judge: JudgeRun | None = None,
                retriever: tuple[str, Retriever] | None = None) -> BakeoffResults:
    """Answers go to ``out``/answers.jsonl, generations and judgments to ``out``/cache.db; returns the scores.
    ``tuned_models``: the ft:<job-id> behind each tuned model's label, recorded with the results. Without a
    ``judge`` the lexical metrics stand alone. ``retriever``: (its name, the retriever) the retrieval variants
    use instead of the project's."""
    out.mkdir(parents=True, exist_ok=True)
    named, used_retriever = retriever or ("project", project.retriever)
    rows = answer_all(project, questions, variants, GenerationCache(out / "cache.db"), repeats, progress,
                      used_retriever)
    if judge is not None:
        cached = CachedJudge(judge.judge, judge.setup.model, JudgmentCache(out / "cache.db"))
        judge_rows(rows, cached, lambda ids: passage_texts(project, ids), progress)
    write_jsonl(out / ANSWERS_FILE, [r.model_dump(mode="json") for rs in rows.values() for r in rs])
    scores = {v.name: score_variant(rows[v.name], prices, v.model, v.retrieval).model_copy(
        update={"retriever": named if v.retrieval else None}) for v in variants if rows.get(v.name)}
    used = {v.model for v in variants}
    paired = compare(rows)
    summary = None if judge is None else JudgeSummary(
        setup=judge.setup, sanity=sanity(r for rs in rows.values() for r in rs),
        ranking=rank_agreement({n: v.metrics.f1.mean for n, v in scores.items()},
                               {n: v.metrics.judge_correct.mean for n, v in scores.items()}))
    return BakeoffResults(
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        questions=QuestionSet(path=questions_path, n=len(questions), answerable=sum(q.answerable for q in questions),
                              unanswerable=sum(not q.answerable for q in questions)),
        prices=PricesUsed(as_of=prices.as_of, self_hosted_per_hour=prices.self_hosted_per_hour,
                          models={m: p.model_dump(exclude_none=True) for m, p in prices.models.items() if m in used}),
        variants=scores, paired_vs_rag=paired.vs_rag, best_untrained=paired.best_untrained,
        paired_vs_best_untrained=paired.vs_best_untrained, best_tuned=paired.best_tuned,
        paired_vs_best_tuned=paired.vs_best_tuned, tuned_models=tuned_models or {},
        leakage=leakage or Leakage(), judge=summary, stages_seconds=stages or {})


def passage_texts(project, chunk_ids) -> list[str]:
    """The passages an answer's model was shown, titled as its prompt titles them, read back from the store."""
    found = {c.chunk_id: c for c in project.store.get(list(chunk_ids))}
    return [f"{c.title}\n{c.text}" if c.title else c.text for c in (found[i] for i in chunk_ids if i in found)]


def read_answers(bakeoff_dir: Path) -> list[QARow]:
    """A bake-off's answer rows (answers.jsonl), each checked against the row schema."""
    path = Path(bakeoff_dir) / ANSWERS_FILE
    if not path.is_file():
        raise RagtuneError(f"{path} not found; run 'ragtune bakeoff --out {bakeoff_dir}' first")
    rows = []
    for n, line in enumerate(read_lines(path), start=1):
        if line.strip():
            try:
                rows.append(QARow.model_validate(json.loads(line)))
            except ValueError as e:
                raise RagtuneError(f"{path}:{n}: not a bake-off answer row: {e}") from None
    return rows
