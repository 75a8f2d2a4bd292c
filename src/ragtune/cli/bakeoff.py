"""``ragtune bakeoff``: every variant on one held-out question set, side by side."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from ragtune.app.retriever import tuned_retriever
from ragtune.bakeoff.leakage import check_shots, check_tuned_models
from ragtune.bakeoff.llm_judge import JudgeRun
from ragtune.bakeoff.results import BakeoffResults, Leakage, write_results
from ragtune.bakeoff.run import make_unanswerable, run_bakeoff
from ragtune.bakeoff.statistics import questions_needed
from ragtune.bakeoff.variants import NAMES, TUNED_KINDS, TunedModel, build_variants, parse_names, parse_tuned
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, open_project, out, print_json, progress_bars, styled
from ragtune.cli.options import BaseUrlOpt, ModelOpt, require_index
from ragtune.cost.prices import load_prices
from ragtune.errors import RagtuneError
from ragtune.evaluation.datasets import read_jsonl
from ragtune.evaluation.qa import read_questions


def bakeoff_cmd(
    questions: Annotated[Path | None, typer.Option(help="JSONL of {_id, question, answer}; an empty answer marks a "
                                                       "question the documents cannot answer. Without it: the "
                                                       "whole loop on the shipped demo data")] = None,
    variants: Annotated[str, typer.Option(help=f"comma-separated, from {', '.join(NAMES)}")] = ",".join(NAMES),
    ft_model: Annotated[list[str] | None, typer.Option(help="a tuned model for ft and ft+rag: ft:<job-id>, or "
                                                             "LABEL=ft:<job-id> to measure it as LABEL and LABEL+rag; "
                                                             "repeat for several tuned models")] = None,
    fewshot: Annotated[Path | None, typer.Option(help="JSONL of {question, answer} to draw few-shot examples "
                                                     "from (never an evaluation question)")] = None,
    shots: Annotated[int, typer.Option(help="few-shot examples in the prompt")] = 3,
    repeats: Annotated[int, typer.Option(help="times each question is asked (latency spread, sampling)")] = 1,
    unanswerable: Annotated[int, typer.Option(help="also ask N answerable questions with their source document "
                                                   "hidden from retrieval, where refusing is right")] = 0,
    prices: Annotated[Path | None, typer.Option(help="price file overriding the shipped prices.yaml entry by entry "
                                                    "(see ragtune cost --print-prices)")] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
    seed: Annotated[int, typer.Option(help="seed for the questions made unanswerable")] = 0,
    min_effect: Annotated[float | None, typer.Option(help="the smallest F1 difference between two variants you care "
                                                          "about: warns before the run when the answerable "
                                                          "questions are too few to detect it (80% power, paired)")]
    = None,
    assumed_sd: Annotated[float, typer.Option(help="standard deviation of per-question F1 differences assumed by "
                                                   "--min-effect (0.5: about the largest the recorded mini-wiki "
                                                   "bake-off showed, 0.14 to 0.51)")] = 0.5,
    judge_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint of an LLM judge that grades "
                                                            "each answer's correctness against the reference and "
                                                            "its support by the passages (key: "
                                                            "RAGTUNE_JUDGE_API_KEY, else OPENAI_API_KEY); without "
                                                            "--judge-model, lexical metrics only")] = None,
    judge_model: Annotated[str | None, typer.Option(help="the judge's model name (with no --judge-base-url: "
                                                         "OPENAI_BASE_URL or OpenAI's)")] = None,
    tune_base: Annotated[str, typer.Option(help="base model the no-argument demo loop tunes")] = "smollm2-135m",
    retriever_job: Annotated[str | None, typer.Option(help="a succeeded 'tune retriever' job: the RAG variants "
                                                           "retrieve with its embedder (every chunk embedded again "
                                                           "into a temporary index) or its re-ranker; the project "
                                                           "is unchanged")] = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", help="results.json, report.md, report.html, the answers "
                                                        "and the generation cache")] = Path("bakeoff"),
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Run base, few-shot, RAG, fine-tuned and fine-tuned + RAG on one question set: quality with
    confidence intervals, faithfulness, refusals, latency and cost. Cached generations are reused."""
    names = parse_names(variants)
    tuned = parse_tuned(ft_model or [])
    if repeats < 1 or shots < 0 or unanswerable < 0:
        raise RagtuneError("--repeats must be at least 1, --shots and --unanswerable at least 0")
    if min_effect is not None and not (0 < min_effect <= 1 and assumed_sd > 0):
        raise RagtuneError("--min-effect must be in (0, 1] (an F1 difference) and --assumed-sd above 0")
    judge = JudgeRun.openai(judge_base_url, judge_model)
    p = open_project(project)
    stages: dict[str, float] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    with progress_bars(not json_) as progress:
        if questions is None:
            from ragtune.bakeoff.demo import demo_inputs

            demo = demo_inputs(p, out_dir, any(n in TUNED_KINDS for n in names) and not tuned, tune_base, fewshot,
                               stages, progress, console.print)
            questions, fewshot = demo.questions, demo.fewshot
            tuned = tuned or ([TunedModel("ft", demo.ft_model)] if demo.ft_model else [])
        require_index(p)
        rows = read_jsonl(questions, ("question",))[:limit]
        if not rows:
            raise RagtuneError(f"{questions} holds no questions")
        qs = read_questions(rows)
        qs += make_unanswerable(qs, unanswerable, lambda q: p.retriever.search(q, k=20), seed)
        if min_effect is not None:
            _warn_if_too_few(sum(q.answerable for q in qs), min_effect, assumed_sd)
        few = any(n.startswith("fewshot") for n in names)
        shot_pairs = _shots(fewshot, shots, [q.question for q in qs]) if few else []
        built = build_variants(p, names, tuned, shot_pairs, model, base_url)
        measured = [t for t in tuned if any(k in names for k in TUNED_KINDS)]
        leakage = Leakage(**check_tuned_models(p, [t.model for t in measured], [q.question for q in qs])) \
            if measured else Leakage()
        with ExitStack() as held:
            retriever = None
            if retriever_job is not None:
                kind, tuned_retrieval = held.enter_context(tuned_retriever(p, retriever_job, progress=progress))
                retriever = (f"job {retriever_job}'s {kind}", tuned_retrieval)
            t = time.perf_counter()
            try:
                results = run_bakeoff(p, qs, built, out_dir, load_prices(prices), repeats, progress=progress,
                                      questions_path=str(questions), leakage=leakage, stages=stages,
                                      tuned_models={m.label: m.model for m in measured}, judge=judge,
                                      retriever=retriever)
            except KeyboardInterrupt:
                console.print(f"interrupted: the answers generated so far are kept in {out_dir / 'cache.db'}; "
                              "re-run the same command to resume", highlight=False)
                raise typer.Exit(130) from None
        results.stages_seconds["evaluate"] = time.perf_counter() - t
    write_reports(results, out_dir)
    if json_:
        print_json(results.to_dict())
    else:
        from ragtune.bakeoff.report import markdown

        out.print(markdown(results), markup=False, highlight=False)
        out.print(f"written: {out_dir / 'results.json'}, {out_dir / 'report.md'}, {out_dir / 'report.html'}")


def write_reports(results: BakeoffResults, out_dir: Path) -> None:
    from ragtune.bakeoff.report import html, markdown

    write_results(results, out_dir)
    for name, text in (("report.md", markdown(results)), ("report.html", html(results))):
        tmp = out_dir / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)


def _warn_if_too_few(answerable: int, effect: float, sd: float) -> None:
    """Paired F1 comparisons use the answerable questions only; the sd is assumed, since none is measured yet."""
    needed = questions_needed(effect, sd)
    if answerable < needed:
        console.print(styled("warning:", "yellow", f"{answerable} answerable questions are too few to detect an F1 "
                             f"difference of {effect:g} (80% power, two-sided alpha 0.05, paired, assuming the "
                             f"per-question differences have sd {sd:g}): about {needed} are needed; a smaller run "
                             "may report variants that cannot be told apart"))


def _shots(path: Path | None, k: int, evaluated: list[str]) -> list[tuple[str, str]]:
    """The first ``k`` answered questions of ``path``; refused when one of them is an evaluation question."""
    if path is None:
        raise RagtuneError("the fewshot variants need --fewshot FILE.jsonl of {question, answer}")
    rows = [r for r in read_jsonl(path, ("question", "answer")) if r["answer"]][:k]
    if len(rows) < k:
        raise RagtuneError(f"{path} has {len(rows)} answered questions; --shots needs {k}")
    check_shots([r["question"] for r in rows], evaluated, path)
    return [(r["question"], str(r["answer"])) for r in rows]
