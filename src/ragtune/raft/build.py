"""RAFT training examples from a project's index.

Each question gets an oracle chunk (the one that answers it) and distractor chunks; in a share
``p_oracle`` of examples (the RAFT paper's P) the oracle is in the context, shuffled among the
distractors, and the target quotes it; in the rest the context holds distractors only and the target
refuses, which is what ragtune's answers do when the documents lack the answer."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ragtune.chunking.sentence import SentenceChunker
from ragtune.documents.types import Chunk, Hit
from ragtune.errors import RagtuneError
from ragtune.evaluation.answer_metrics import normalize
from ragtune.evaluation.datasets import read_jsonl
from ragtune.jsonl import write_jsonl
from ragtune.raft.format import answer_target, cot_target, refusal_target, target_system
from ragtune.raft.journal import append, read_journal
from ragtune.rag.citations import content_words
from ragtune.rag.prompts import grounded_messages

TARGETS = ("cot", "answer")
MAX_QUOTE = 240  # characters
DISTRACTOR_SOURCES = ("hard", "random")


@dataclass
class RaftConfig:
    distractors: int = 2
    """Distractor chunks in each example's context (2 plus the oracle matches answering's default 3 passages)."""
    p_oracle: float = 0.8
    """Share of examples whose context holds the oracle chunk (the rest teach refusal)."""
    distractor_source: str = "hard"
    """hard: the retriever's best-ranked wrong chunks for the question; random: any other chunks."""
    target: str = "cot"
    """cot: quote the passage, cite it, then '<ANSWER>: ...' (asked with the RAFT rules); answer: the short
    answer and its citation (asked with ragtune's grounded rules, as plain RAG asks)."""
    candidates: int = 20
    """Chunks retrieved per question to locate its oracle and mine hard distractors."""
    mode: str = "hybrid"
    """Search mode used to locate oracles and mine distractors."""
    seed: int = 0
    """Seed for oracle inclusion, shuffling and random distractors."""

    def __post_init__(self):
        if self.target not in TARGETS:
            raise RagtuneError(f"--target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if self.distractor_source not in DISTRACTOR_SOURCES:
            raise RagtuneError(f"--distractor-source must be one of {', '.join(DISTRACTOR_SOURCES)}, "
                               f"got {self.distractor_source!r}")
        if not 0 <= self.p_oracle <= 1:
            raise RagtuneError(f"--p-oracle must be between 0 and 1, got {self.p_oracle}")
        if self.distractors < 0:
            raise RagtuneError(f"--distractors must be 0 or more, got {self.distractors}")
        if self.distractors == 0 and self.p_oracle < 1:
            raise RagtuneError("--distractors 0 leaves nothing to refuse from: use --p-oracle 1 (or --plain)")

    @classmethod
    def plain(cls, **overrides) -> RaftConfig:
        """Plain fine-tuning data from the same questions, the comparison that isolates RAFT's construction:
        the oracle passage alone, always present, and the short cited answer (no distractors, no quote)."""
        return cls(**{"distractors": 0, "p_oracle": 1.0, "target": "answer", **overrides})


@dataclass
class QA:
    question: str
    answer: str
    chunk_id: str = ""
    """The oracle chunk when known (generated questions); otherwise located through retrieval."""
    source: str = ""
    """The document the answer comes from, when known; a chunk of it is preferred as the oracle."""


def read_qa(path: Path) -> list[QA]:
    """Questions with answers; unanswerable ones (empty answer) have no oracle to teach from."""
    rows = [QA(str(r["question"]).strip(), str(r["answer"]).strip(), str(r.get("chunk_id", "")),
               str(r.get("source", ""))) for r in read_jsonl(path, ("question", "answer")) if r.get("answer")]
    if not rows:
        raise RagtuneError(f"{path} holds no question with an answer")
    return rows


def _contains_answer(chunk: Chunk, answer: str) -> bool:
    a = normalize(answer)
    # yes/no and one-letter answers say nothing about which passage holds them
    return len(a) > 3 and a not in ("yes", "no") and a in normalize(chunk.text)


def _overlap(text: str, words: set[str]) -> int:
    return len(content_words(text) & words)


def locate_oracle(qa: QA, hits: list[Hit]) -> Hit | None:
    """The retrieved chunk that holds the answer: from the stated source if any, containing the answer
    text if any does, else the best-ranked one."""
    if qa.chunk_id:
        return next((h for h in hits if h.chunk.chunk_id == qa.chunk_id), None)
    pool = [h for h in hits if qa.source and h.chunk.doc_id.endswith(qa.source)] or hits
    return next((h for h in pool if _contains_answer(h.chunk, qa.answer)), pool[0] if pool else None)


def quote_for(chunk: Chunk, qa: QA, sentences: Callable[[str], list[str]]) -> str:
    """The oracle's sentence holding the answer, else the one sharing most words with question and answer."""
    parts = [s.strip() for s in sentences(chunk.text) if s.strip()] or [chunk.text.strip()]
    a = normalize(qa.answer)
    holding = [s for s in parts if len(a) > 3 and a in normalize(s)]
    words = content_words(qa.question + " " + qa.answer)
    best = holding[0] if holding else max(parts, key=lambda s: _overlap(s, words))
    return _window(best, qa.answer)


def _window(sentence: str, answer: str, width: int = MAX_QUOTE) -> str:
    """A long "sentence" (a table, a code block) is cut to the words around the answer: a quote the
    model has to copy should be short, and stays a verbatim piece of the passage."""
    if len(sentence) <= width:
        return sentence
    at = sentence.lower().find(answer.lower())
    start = max(0, (at if at >= 0 else 0) - width // 2)
    start = sentence.rfind(" ", 0, start) + 1 if start else 0
    end = sentence.find(" ", start + width)
    return sentence[start:end if end > 0 else len(sentence)].strip()


class RaftBuilder:
    """Builds examples one question at a time; ``chunk_pool`` serves random distractors and oracles
    named by id. ``search(question, n)`` is the project's retriever."""

    def __init__(self, cfg: RaftConfig, search: Callable[[str, int], list[Hit]],
                 get_chunks: Callable[[list[str]], list[Chunk]], chunk_ids: list[str]):
        self.cfg, self.search, self.get_chunks, self.chunk_ids = cfg, search, get_chunks, chunk_ids
        self._sentences = SentenceChunker().sentences

    def example(self, index: int, qa: QA) -> tuple[dict, dict] | None:
        """(chat example, provenance) for the index-th question, or None when no oracle is found.
        Each example's randomness comes from (seed, index) alone, so a resumed build is identical."""
        cfg = self.cfg
        rng = random.Random(f"{cfg.seed}:{index}")
        hits = self.search(qa.question, cfg.candidates)
        oracle = locate_oracle(qa, hits)
        if oracle is None and qa.chunk_id:
            found = self.get_chunks([qa.chunk_id])
            oracle = Hit(found[0], 0.0) if found else None
        if oracle is None:
            return None
        with_oracle = rng.random() < cfg.p_oracle
        # without the oracle the context keeps its length, so its size does not give the answer away
        want = cfg.distractors + (0 if with_oracle else 1)
        distractors = self._distractors(qa, oracle, hits, want, rng)
        context = distractors + ([oracle] if with_oracle else [])
        rng.shuffle(context)
        cot = cfg.target == "cot"
        if with_oracle:
            n = context.index(oracle) + 1
            target = (cot_target(quote_for(oracle.chunk, qa, self._sentences), n, qa.answer) if cot
                      else answer_target(qa.answer, n))
        else:
            target = refusal_target(cot)
        messages = grounded_messages(qa.question, context, system=target_system(cfg.target))
        messages.append({"role": "assistant", "content": target})
        meta = {"index": index, **asdict(qa), "oracle": oracle.chunk.chunk_id, "with_oracle": with_oracle,
                "context": [h.chunk.chunk_id for h in context]}
        return {"messages": messages}, meta

    def oracle(self, qa: QA) -> str | None:
        """The chunk an example of ``qa`` would be built from (see locate_oracle), None when nothing is found."""
        found = locate_oracle(qa, self.search(qa.question, self.cfg.candidates))
        return found.chunk.chunk_id if found else None

    def _distractors(self, qa: QA, oracle: Hit, hits: list[Hit], n: int, rng: random.Random) -> list[Hit]:
        def usable(c: Chunk) -> bool:  # another chunk holding the answer is not a distractor
            return c.chunk_id != oracle.chunk.chunk_id and not _contains_answer(c, qa.answer)

        if self.cfg.distractor_source == "hard":
            picked = [h for h in hits if usable(h.chunk)][:n]
            if len(picked) == n:
                return picked
        else:
            picked = []
        taken = {h.chunk.chunk_id for h in picked} | {oracle.chunk.chunk_id}
        pool = [cid for cid in self.chunk_ids if cid not in taken]
        extra = [c for c in self.get_chunks(rng.sample(pool, min(len(pool), 3 * n))) if usable(c)]
        return picked + [Hit(c, 0.0) for c in extra[:n - len(picked)]]


def raft_builder(project, cfg: RaftConfig) -> RaftBuilder:
    """A builder over the project's own index and retriever."""
    retriever = project.retriever
    return RaftBuilder(cfg, lambda q, n: retriever.search(q, k=n, mode=cfg.mode), project.store.get,
                       sorted(c.chunk_id for batch in project.store.iter_chunks() for c in batch))


@dataclass(frozen=True)
class Provenance:
    """Where one question's training example came from (a line of ``<out>.meta.jsonl``)."""

    index: int
    question: str
    answer: str
    oracle: str | None
    """The oracle chunk's id; None when the question was skipped (no oracle found)."""
    with_oracle: bool
    logged: bool = False
    """A logged answer (approved or corrected) taken as written: its example is the data's line ``index``,
    copied rather than built again; ``oracle`` is then the passage it was checked against."""


def meta_path(out: Path) -> Path:
    """The provenance file written beside a build's examples."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".meta.jsonl")


def read_provenance(out: Path) -> list[Provenance] | None:
    """The provenance of the build that wrote ``out``, one per question in order; None when ``out`` was not
    written by ``raft build`` (no meta file beside it)."""
    path = meta_path(out)
    if not path.is_file():
        return None
    return [Provenance(r["index"], r["question"], r["answer"], r.get("oracle"), bool(r.get("with_oracle")),
                       bool(r.get("logged"))) for r in read_jsonl(path, ("index", "question", "answer"))]


def write_provenance(out: Path, rows: list[Provenance]) -> None:
    """Provenance for data assembled from several sources (a retraining's), one row per line of ``out``."""
    write_jsonl(meta_path(out), [asdict(r) for r in rows])


def config_path(out: Path) -> Path:
    """The settings of the build that wrote ``out``, beside it: retraining rebuilds the data the same way."""
    return out.with_name(out.name.removesuffix(".jsonl") + ".raft.json")


def write_config(out: Path, cfg: RaftConfig) -> None:
    path = config_path(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(cfg)), encoding="utf-8")
    tmp.replace(path)


def read_config(out: Path) -> RaftConfig | None:
    """The settings ``out`` was built with; None for data that records none (built by hand, or before ragtune
    recorded them)."""
    path = config_path(out)
    if not path.is_file():
        return None
    try:
        return RaftConfig(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as e:
        raise RagtuneError(f"{path} is not the settings of a RAFT build: {e}") from None


def build(builder: RaftBuilder, items: Iterable[QA], out: Path,
          progress: Callable[[int], None] = lambda n: None) -> dict:
    """Write examples to ``out`` (chat JSONL), their provenance to ``<out>.meta.jsonl`` and the settings to
    ``<out>.raft.json``. Work is
    journalled to ``<out>.part`` first, one line per question: an interrupted build resumes after its
    last whole line, and the finished files appear only when every question is done."""
    part = out.with_name(out.name + ".part")
    done = len(read_journal(part))
    with part.open("a", encoding="utf-8") as f:
        for index, qa in enumerate(items):
            if index < done:
                continue
            made = builder.example(index, qa)
            append(f, {"meta": {"index": index, **asdict(qa), "skipped": "no oracle chunk found"}} if made is None
                   else {"example": made[0], "meta": made[1]})
            progress(1)
    records = read_journal(part)
    meta = meta_path(out)
    write_jsonl(out, [r["example"] for r in records if "example" in r])
    write_jsonl(meta, [r["meta"] for r in records])
    write_config(out, builder.cfg)
    part.unlink()
    metas = [r["meta"] for r in records if "example" in r]
    return {"out": str(out), "meta": str(meta), "examples": len(metas),
            "with_oracle": sum(m["with_oracle"] for m in metas), "skipped": len(records) - len(metas),
            "resumed_after": done}
