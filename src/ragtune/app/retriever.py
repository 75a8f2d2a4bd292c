"""Tuning the project's retriever: training data from the user's judgements or its own corpus, jobs in
the project's job store, the tuned embedder or re-ranker made the project's, and base against tuned on
the held-out queries. ``ragtune tune retriever``, ``tune use`` and ``eval retrieval --job`` are adapters
over it."""

from __future__ import annotations

import csv
import dataclasses
import math
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ragtune.app.jobs import Jobs
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.evaluation.datasets import read_jsonl, read_qrels
from ragtune.evaluation.retrieval import evaluate_retrieval
from ragtune.finetune.backends import Launch
from ragtune.finetune.jobs import Job, sha256_file
from ragtune.finetune.retriever.config import BACKEND, BASE, KINDS, RetrieverTuneConfig
from ragtune.finetune.retriever.mining import mine_pairs
from ragtune.finetune.retriever.outputs import tuned_component
from ragtune.finetune.retriever.pairs import (
    Pair,
    Query,
    generated_queries,
    judged_queries,
    split_by_query,
    synthetic_queries,
    write_pairs,
)
from ragtune.jsonl import write_jsonl
from ragtune.project import Project
from ragtune.rag import reembed
from ragtune.retrieval.retriever import Retriever

Progress = Callable[[str, int], None]


CORPUS_QUERIES = ("title", "heading", "cloze")
"""The kinds of query ``synthetic_queries`` makes from a corpus without judgements."""
SYNTHETIC_MARGIN = 0.05
"""Mining's margin for queries made from the corpus, where nothing says which other passages answer them."""


@dataclass
class Mining:
    negatives: int = 2
    """Hard negatives per pair."""
    margin: float | None = None
    """A candidate whose cosine to the query is within this of the positive's is taken for an unjudged
    relevant passage and not used as a negative. None: no margin for judged queries, whose judgements say what
    is relevant (with 0.05 the negatives were ones the base model already ranked below the positive, and
    SciFact's tuned embedder gained +0.004 nDCG@10 against +0.043 without), 0.05 for synthetic queries."""
    depth: int = 30
    """Candidates the project's retriever proposes per query."""
    heldout: float = 0.2
    """Share of the queries held out (by query) for the comparison."""
    max_queries: int = 2000
    """At most this many queries (a seeded sample): mining costs a search per query."""
    seed: int = 0
    """Seed of the sample, the split and the inverse-cloze sentences."""
    corpus_queries: tuple[str, ...] = CORPUS_QUERIES
    """Kinds of query made from the corpus itself, without judgements: title, heading, cloze (none: only the
    generator's questions)."""


@dataclass
class TrainingData:
    train: Path
    """Training pairs (finetune.retriever.pairs)."""
    heldout: Path
    """Held-out pairs (the trainer's evaluation loss)."""
    queries: Path
    """The held-out queries, BEIR layout: what `eval retrieval` compares base and tuned on."""
    qrels: Path
    train_queries: int
    heldout_queries: int
    sources: dict[str, int]
    """Training pairs per kind of query (qrels, title, heading, cloze, generated)."""


def build_training_data(project: Project, out: Path, queries: Path | None = None, qrels: Path | None = None,
                        questions_per_chunk: int = 0, question_chunks: int = 100, generator_spec=None,
                        mining: Mining | None = None, progress: Progress = lambda stage, n: None) -> TrainingData:
    """Pairs with mined hard negatives, split by query into training and held-out files under ``out``.
    With ``queries`` and ``qrels`` (BEIR) the user's judgements are the queries; without, the corpus gives
    them (titles, headings, inverse-cloze sentences) and, with ``questions_per_chunk``, the generator
    writes questions about ``question_chunks`` sampled chunks, filtered as `raft build` filters them."""
    if (queries is None) != (qrels is None):
        raise RagtuneError("give both --queries and --qrels (the user's judgements), or neither (queries are then "
                           "synthesised from the corpus)")
    if project.index_spec() is None or not project.store.count():
        raise RagtuneError(f"no index in {project.root}; run 'ragtune ingest PATH' first")
    mining = mining or Mining()
    rng = random.Random(mining.seed)
    if queries is not None and qrels is not None:
        rows = read_jsonl(queries, ("_id", "text"), unique="_id")
        found = judged_queries({str(r["_id"]): r["text"] for r in rows}, read_qrels(qrels),
                               project.store.documents())
    else:
        unknown = sorted(set(mining.corpus_queries) - set(CORPUS_QUERIES))
        if unknown:
            raise RagtuneError(f"unknown kind of corpus query: {', '.join(unknown)} (choose from "
                               f"{', '.join(CORPUS_QUERIES)})")
        if not mining.corpus_queries and questions_per_chunk <= 0:
            raise RagtuneError("no queries to train on: name a kind of corpus query, or have the generator write "
                               "questions (--generate-questions)")
        chunks = [c for batch in project.store.iter_chunks() for c in batch]
        found = [q for q in synthetic_queries(chunks, seed=mining.seed) if q.source in mining.corpus_queries]
        if questions_per_chunk > 0:
            found += _generated(project, chunks, questions_per_chunk, question_chunks, generator_spec, out, rng,
                                progress)
    if len(found) > mining.max_queries:
        found = _sample(found, mining.max_queries, rng)
    margin = mining.margin if mining.margin is not None else (-math.inf if queries is not None else SYNTHETIC_MARGIN)
    pairs = mine_pairs(found, project.retriever, mining.negatives, margin, mining.depth,
                       project.config.retrieval.mode, mining.seed, progress=lambda n: progress("queries mined", n))
    train, held = split_by_query(pairs, mining.heldout, mining.seed)
    # a folder per content: a job's recorded files are never overwritten by a later run's (resume checks their hash)
    staging = Path(tempfile.mkdtemp(dir=_mkdir(out), prefix=".staging-"))
    write_pairs(staging / "train.json", train)
    write_pairs(staging / "heldout.json", held)
    _write_beir(held, staging / "heldout-queries.jsonl", staging / "heldout-qrels.tsv")
    folder = out / sha256_file(staging / "train.json")[:12]
    if folder.exists():
        shutil.rmtree(staging)  # the same pairs as an earlier run: its files stand
    else:
        staging.rename(folder)
    sources: dict[str, int] = {}
    for p in train:
        sources[p.source] = sources.get(p.source, 0) + 1
    return TrainingData(folder / "train.json", folder / "heldout.json", folder / "heldout-queries.jsonl",
                        folder / "heldout-qrels.tsv", len({p.query_id for p in train}), len({p.query_id for p in held}),
                        sources)


def _sample(found: list[Query], n: int, rng: random.Random) -> list[Query]:
    """``n`` of ``found``: the generator's questions first (a model's time went into each), then a seeded
    sample of the others."""
    written = [q for q in found if q.source == "generated"][:n]
    others = [q for q in found if q.source != "generated"]
    return written + rng.sample(others, n - len(written))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _generated(project: Project, chunks, per_chunk: int, n_chunks: int, generator_spec, out: Path,
               rng: random.Random, progress: Progress) -> list[Query]:
    from ragtune.raft.questions import generate_questions

    sample = rng.sample(chunks, min(n_chunks, len(chunks)))
    kept, _ = generate_questions(sample, project.generator(generator_spec), per_chunk, _mkdir(out) / "questions.part",
                                 progress=lambda n: progress("chunks asked", n))
    by_id = {c.chunk_id: c for c in sample}
    return generated_queries((qa.question, by_id[qa.chunk_id]) for qa in kept)


def _write_beir(pairs: list[Pair], queries: Path, qrels: Path) -> None:
    first = {p.query_id: p for p in reversed(pairs)}
    write_jsonl(queries, ({"_id": qid, "text": p.query} for qid, p in sorted(first.items())))
    tmp = qrels.with_name(qrels.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["query-id", "corpus-id", "score"])
        for qid, p in sorted(first.items()):
            w.writerows([qid, doc, rel] for doc, rel in sorted(p.relevant.items()))
    tmp.replace(qrels)


def start_jobs(project_root: Path, data: TrainingData, kinds: tuple[str, ...], cfg: RetrieverTuneConfig,
               launch: Launch = Launch()) -> list[Job]:
    """A job per kind (embedder, reranker) on the same pairs, each created, then launched."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise RagtuneError(f"train one or both of {', '.join(KINDS)}, not {', '.join(unknown) or 'nothing'}")
    jobs = Jobs(project_root)
    created = [jobs.store.create(BASE, str(data.train.resolve()), sha256_file(data.train), str(data.heldout.resolve()),
                                 sha256_file(data.heldout), dataclasses.asdict(cfg.for_kind(k)),
                                 BACKEND) for k in kinds]
    return [jobs.launch(job, launch) for job in created]


def use(project: Project, job_id: str, into: Path | None = None, detach: bool = False,
        progress: Progress = lambda stage, n: None) -> str:
    """Make a finished retriever job's model the project's (or, with ``into``, a new project's, which has no
    index yet); returns what changed. A project that has an index is re-embedded with a new embedder
    (rag/reembed.py): here, or with ``detach`` in a process of its own; the old index answers until then."""
    job = Jobs(project.root).get(job_id)
    kind, spec = tuned_component(project.root, job)
    target = project
    if into is not None:
        if Project(into).config_path.exists() or Project(into).index_spec() is not None:
            raise RagtuneError(f"{into} is already a project; --into makes a new one")
        # the same settings, but an index of its own: a store shared with this project would mix two models' vectors
        target = Project(into, config=project.config.model_copy(deep=True, update={"store": ComponentSpec(type="chroma")}))
    if kind == "reranker":
        target.config.reranker = spec
        target.save()
        return (f"{target.root}: the re-ranker is now job {job.id}'s cross-encoder, over the top "
                f"{target.config.retrieval.candidates} candidates (retrieval.candidates)")
    if target.index_spec() is None:
        target.config.embedder = spec
        target.save()
        return f"{target.root}: the embedder is now job {job.id}'s (ONNX, int8 compute); ingest the documents into it"
    reembed.start(target, spec, f"job {job.id}'s embedder")
    if detach:
        with (target.root / "reembed.log").open("ab") as log:
            subprocess.Popen(reembed_command(target.root), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return (f"{target.root}: re-embedding the index with job {job.id}'s embedder in the background (log: "
                f"{target.root / 'reembed.log'}); the current index answers until it is done")
    return finish_reembed(target, progress)


def reembed_command(root: Path) -> list[str]:
    """``ragtune tune reembed``: what a detached switch runs."""
    return [sys.executable, "-m", "ragtune.cli.app", "tune", "reembed", "-p", str(root)]


def finish_reembed(project: Project, progress: Progress = lambda stage, n: None) -> str:
    """Carry out (or resume) the project's pending switch of embedder; returns what changed."""
    pending = reembed.journal(project)
    r = reembed.run(project, progress=progress)
    return (f"{project.root}: the embedder is now {pending.label if pending else 'the new one'}; {r.chunks} chunks "
            f"re-embedded into {r.store} ({r.embedded} by this run), records verified (checksum {r.checksum[:12]})")


def compare(project: Project, job_id: str, queries: Path | None = None, qrels: Path | None = None,
            mode: str | None = None, k: int = 10, progress: Progress = lambda stage, n: None) -> dict:
    """Base against tuned retrieval on the job's held-out queries (or the given BEIR files): the project's
    retriever as configured, then with the job's embedder (every chunk embedded again, into a temporary
    index beside the project's BM25) or with its re-ranker over the top candidates."""
    job = Jobs(project.root).get(job_id)
    tuned_component(project.root, job)  # refused before the base run when the job cannot be used
    if queries is None and qrels is None:
        held = Path(job.val_file or "")
        queries, qrels = held.with_name("heldout-queries.jsonl"), held.with_name("heldout-qrels.tsv")
    if queries is None or qrels is None:
        raise RagtuneError("give both --queries and --qrels, or neither (the job's held-out queries)")
    asked = {str(r["_id"]): r["text"] for r in read_jsonl(queries, ("_id", "text"), unique="_id")}
    judged = read_qrels(qrels)
    mode = mode or project.config.retrieval.mode
    base = dataclasses.replace(project.retriever, reranker=None)
    results = {"base": evaluate_retrieval(base, asked, judged, mode, k, progress=lambda n: progress("base", n))}
    with tuned_retriever(project, job_id, base, progress) as (kind, tuned):
        results["tuned"] = evaluate_retrieval(tuned, asked, judged, mode, k, progress=lambda n: progress("tuned", n))
    for r in results.values():
        r.pop("per_query")
    return {"job": job.id, "kind": kind, "queries": str(queries), "qrels": str(qrels), "mode": mode, **results,
            "difference": {m: results["tuned"][m] - results["base"][m] for m in results["base"]
                           if isinstance(results["base"][m], float)}}


@contextmanager
def tuned_retriever(project: Project, job_id: str, base: Retriever | None = None,
                    progress: Progress = lambda stage, n: None) -> Iterator[tuple[str, Retriever]]:
    """("embedder" or "reranker", ``base`` (default: the project's retriever) with the job's model in place):
    its re-ranker over the top candidates, or its embedder over every chunk embedded again into a temporary
    index beside the project's BM25, removed on exit. The project itself is unchanged."""
    from ragtune.embedding import EMBEDDERS
    from ragtune.retrieval.rerank import RERANKERS
    from ragtune.stores.chroma import ChromaStore

    kind, spec = tuned_component(project.root, Jobs(project.root).get(job_id))
    base = base or project.retriever
    if kind == "reranker":
        yield kind, dataclasses.replace(base, reranker=RERANKERS.from_dict(spec.model_dump()))
        return
    with tempfile.TemporaryDirectory(dir=project.root, prefix=".eval-") as tmp:
        embedder = EMBEDDERS.from_dict(spec.model_dump())
        store = ChromaStore(path=tmp).bind(project.root)
        states = project.store.documents()
        for batch in project.store.iter_chunks():
            store.upsert(batch, embedder.embed([c.indexed_text for c in batch]),
                         {c.doc_id: states[c.doc_id].content_hash for c in batch})
            progress("chunks embedded", len(batch))
        yield kind, dataclasses.replace(base, store=store, embedder=embedder)
