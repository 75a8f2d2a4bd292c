"""``ragtune bakeoff``: every variant on one held-out question set, side by side."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Annotated

import typer

from ragtune.app.jobs import Jobs
from ragtune.bakeoff.leakage import check_leakage
from ragtune.bakeoff.run import make_unanswerable, read_questions, run_bakeoff
from ragtune.bakeoff.variants import NAMES, build_variants, parse_names
from ragtune.cli.common import (DEFAULT_PROJECT, JsonOpt, ProjectOpt, console, generator_spec, open_project, out,
                                print_json, progress_bars)
from ragtune.cli.options import BaseUrlOpt, ModelOpt, require_index
from ragtune.cost.prices import load_prices
from ragtune.errors import RagtuneError
from ragtune.evaluation.datasets import read_jsonl

SCHEMA = "ragtune.bakeoff/1"
# The demo loop tunes on RAFT data built from the shipped support set: small enough for a laptop CPU.
DEMO_TUNE = {"epochs": 2.0, "lr": 1e-3, "max_seq_len": 1024, "batch_size": 4, "grad_accum": 2}


def bakeoff_cmd(
    questions: Annotated[Path | None, typer.Option(help="JSONL of {_id, question, answer}; an empty answer marks a "
                                                       "question the documents cannot answer. Without it: the "
                                                       "whole loop on the shipped demo data")] = None,
    variants: Annotated[str, typer.Option(help=f"comma-separated, from {', '.join(NAMES)}")] = ",".join(NAMES),
    ft_model: Annotated[str | None, typer.Option(help="the tuned model for ft and ft+rag: ft:<job-id>")] = None,
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
    tune_base: Annotated[str, typer.Option(help="base model the no-argument demo loop tunes")] = "smollm2-135m",
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
    if repeats < 1 or shots < 0 or unanswerable < 0:
        raise RagtuneError("--repeats must be at least 1, --shots and --unanswerable at least 0")
    p = open_project(project)
    stages: dict[str, float] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    with progress_bars(not json_) as progress:
        if questions is None:
            questions, fewshot, ft_model = _demo_inputs(p, out_dir, names, fewshot, ft_model, tune_base, stages,
                                                        progress)
        require_index(p)
        rows = read_jsonl(questions, ("question",))[:limit]
        if not rows:
            raise RagtuneError(f"{questions} holds no questions")
        qs = read_questions(rows)
        qs += make_unanswerable(qs, unanswerable, lambda q: p.retriever.search(q, k=20), seed)
        ft_spec = ft_system = None
        leakage = {"checked_files": [], "overlaps": 0}
        if ft_model and any(n.startswith("ft") for n in names):
            from ragtune.finetune.registry import trained_system_prompt, tuned_model_spec

            ft_spec, ft_system = tuned_model_spec(p, ft_model), trained_system_prompt(p, ft_model)
            job = Jobs(p.root).get(ft_model)
            if not Path(job.train_file).is_file():
                raise RagtuneError(f"cannot check {ft_model} for leakage: its training file {job.train_file} is gone")
            leakage = check_leakage([q.question for q in qs], [Path(job.train_file)])
        shot_pairs = _shots(fewshot, shots, {q.question for q in qs}) if "fewshot" in names else []
        base_spec = generator_spec(p, model, base_url) or p.config.generator
        built = build_variants(names, model or _model_name(base_spec), base_spec, ft_model, ft_spec, ft_system,
                               shot_pairs)
        price_table = load_prices(prices)
        t = time.perf_counter()
        scored = run_bakeoff(p, qs, built, out_dir, price_table, repeats, progress=progress)
        stages["evaluate"] = time.perf_counter() - t
    results = {"schema": SCHEMA, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "questions": {"path": str(questions), "n": len(qs), "answerable": sum(q.answerable for q in qs),
                             "unanswerable": sum(not q.answerable for q in qs)},
               "prices": _prices_used(price_table, built), **scored, "leakage": leakage, "stages_seconds": stages}
    write_reports(results, out_dir)
    if json_:
        print_json(results)
    else:
        from ragtune.bakeoff.report import markdown

        out.print(markdown(results), highlight=False)
        out.print(f"written: {out_dir / 'results.json'}, {out_dir / 'report.md'}, {out_dir / 'report.html'}")


def write_reports(results: dict, out_dir: Path) -> None:
    from ragtune.bakeoff.report import html, markdown

    for name, text in (("results.json", json.dumps(results, indent=2)), ("report.md", markdown(results)),
                       ("report.html", html(results))):
        tmp = out_dir / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)


def _prices_used(book, variants) -> dict:
    used = {v.model for v in variants}
    return {"as_of": book.as_of, "self_hosted_per_hour": book.self_hosted_per_hour,
            "models": {m: p.model_dump(exclude_none=True) for m, p in book.models.items() if m in used}}


def _model_name(spec) -> str:
    default = "smollm2-135m" if spec.type == "llamacpp" else spec.type
    return str(spec.params.get("model") or default)


def _shots(path: Path | None, k: int, evaluated: set[str]) -> list[tuple[str, str]]:
    if path is None:
        raise RagtuneError("the fewshot variant needs --fewshot FILE.jsonl of {question, answer}")
    rows = [r for r in read_jsonl(path, ("question", "answer")) if r["answer"] and r["question"] not in evaluated]
    if len(rows) < k:
        raise RagtuneError(f"{path} has {len(rows)} answered questions that are not evaluation questions; "
                           f"--shots needs {k}")
    return [(r["question"], str(r["answer"])) for r in rows[:k]]


def _demo_inputs(p, out_dir: Path, names: list[str], fewshot: Path | None, ft_model: str | None, base: str,
                 stages: dict, progress) -> tuple[Path, Path, str | None]:
    """The whole loop on the shipped data: index the demo knowledge base, build RAFT data from the
    support set's questions, tune SmolLM2 on it (reusing a finished job on the same data), then
    evaluate on the demo questions."""
    from ragtune.bakeoff.demo import demo_questions_path, kb_path, write_support_qa
    from ragtune.finetune.trainer import TuneConfig
    from ragtune.raft.build import RaftConfig, build, raft_builder, read_qa
    from ragtune.rag.ingest import ingest

    if not p.config_path.exists():
        p.save()
    t = time.perf_counter()
    ingest(p, [kb_path()], progress=progress)
    stages["ingest"] = time.perf_counter() - t
    train_qa = write_support_qa(out_dir / "train_qa.jsonl")
    if ft_model is None and any(n.startswith("ft") for n in names):
        raft = out_dir / "raft.jsonl"
        t = time.perf_counter()
        if not raft.exists():  # a build finishes by renaming its journal: an existing file is complete
            build(raft_builder(p, RaftConfig()), read_qa(train_qa), raft, progress=lambda n: progress("RAFT", n))
        stages["raft_build"] = time.perf_counter() - t
        jobs, cfg = Jobs(p.root), TuneConfig(**DEMO_TUNE)
        t = time.perf_counter()
        if jobs.finished_on(raft, None, base, cfg) is None:
            console.print(f"tuning {base} on the RAFT data (minutes on a laptop CPU)")
        ft_model = jobs.start(raft, None, base, cfg, reuse=True).model_name
        stages["tune"] = time.perf_counter() - t
    return demo_questions_path(), fewshot or train_qa, ft_model
