"""A bake-off's results.json, typed: the bake-off writes it, and ``decide``, ``report``, ``cost --bakeoff`` and the
benchmarks read it only through these models. The file names its schema and version
(``"schema": "ragtune.bakeoff/2"``); a file of another version, or not a bake-off result, is refused with both
versions named rather than read by guesswork. Version 2 added the comparison of the tuned variants with the
strongest of them (``best_tuned``, ``paired_vs_best_tuned``), inside the run's Holm family; version 1 files,
which lack it, are still read (those fields empty)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragtune.bakeoff.judge_summary import JudgeSummary
from ragtune.errors import RagtuneError, validation_problems

SCHEMA_NAME = "ragtune.bakeoff"
SCHEMA_VERSION = 2
SCHEMA = f"{SCHEMA_NAME}/{SCHEMA_VERSION}"
READS = (1, SCHEMA_VERSION)
"""The versions this ragtune reads: version 1 lacks only the comparisons between tuned variants."""
RESULTS_FILE = "results.json"
QUALITY = ("exact_match", "f1", "reference_recall", "containment", "faithfulness", "citation_correctness",
           "refusal_precision", "refusal_recall", "judge_correct", "judge_supported")


class MetricInterval(BaseModel):
    """A mean with its bootstrap 95% interval; all None when nothing was measured (n = 0)."""

    mean: float | None
    low: float | None
    high: float | None
    n: int

    def text(self) -> str:
        return "–" if self.mean is None else f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


NOT_MEASURED = MetricInterval(mean=None, low=None, high=None, n=0)


class PairedComparison(BaseModel):
    """mean(variant - baseline) over the same questions, its bootstrap 95% interval and a sign-flip
    permutation test's two-sided p-value, and that p-value Holm-adjusted over every comparison of the run
    (None in results written before it was recorded)."""

    diff: float | None
    low: float | None
    high: float | None
    p_value: float
    n: int
    p_holm: float | None = None
    mdd: float | None = None
    """The smallest true difference these n questions would detect with 80% power at two-sided alpha 0.05
    ((z_0.975 + z_0.8) * sd(differences) / sqrt(n)); None when it cannot be estimated (fewer than two
    questions, no spread) or the file predates it."""

    def text(self) -> str:
        return "–" if self.diff is None else f"{self.diff:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"

    @property
    def told_apart(self) -> bool:
        """Whether the interval excludes 0: otherwise the two variants cannot be told apart at this size."""
        return self.low is not None and self.high is not None and not self.low <= 0 <= self.high

    def differs(self, alpha: float = 0.05) -> bool:
        """Told apart, and significant after Holm's correction at ``alpha`` where the p-value was adjusted: the
        test a claim that one variant beats another must pass (alpha: statistics.ALPHA, the power's too)."""
        return self.told_apart and (self.p_holm is None or self.p_holm < alpha)


class QualityMetrics(BaseModel):
    exact_match: MetricInterval
    f1: MetricInterval
    reference_recall: MetricInterval = NOT_MEASURED
    """Share of the reference's tokens in the answer (results written before it was measured lack it)."""
    containment: MetricInterval = NOT_MEASURED
    """Share of answers holding the reference as a contiguous run of tokens (as above)."""
    faithfulness: MetricInterval
    citation_correctness: MetricInterval
    refusal_precision: MetricInterval
    refusal_recall: MetricInterval
    judge_correct: MetricInterval = NOT_MEASURED
    """Share of answers to answerable questions the LLM judge found correct (not measured without a judge)."""
    judge_supported: MetricInterval = NOT_MEASURED
    """Share of non-refused answers the LLM judge found supported by the passages (retrieval variants only)."""

    def get(self, name: str) -> MetricInterval:
        if name not in QUALITY:
            raise KeyError(name)
        return getattr(self, name)


class Latency(BaseModel):
    p50: float
    p95: float
    mean: float


class Tokens(BaseModel):
    prompt_mean: float
    completion_mean: float


class VariantResult(BaseModel):
    model: str
    """Shown name of the model: a packaged model, an endpoint's model, or ft:<job-id>."""
    retrieval: bool
    retriever: str | None = None
    """What a retrieval variant retrieved with: "project" (its configured retriever), or a tuned retriever
    job's embedder or re-ranker ("job ID's embedder"); None for a variant without retrieval."""
    n: int
    """Questions asked."""
    metrics: QualityMetrics
    latency_ms: Latency
    tokens: Tokens
    seconds_per_query: float
    cost_per_1k_queries: float


class Paired(BaseModel):
    """One variant against a baseline (RAG, or the strongest untrained variant) on the metrics that have a
    per-question value."""

    f1: PairedComparison
    exact_match: PairedComparison
    judge_correct: PairedComparison | None = None
    """Only when the run had an LLM judge."""


class QuestionSet(BaseModel):
    path: str
    n: int
    answerable: int
    unanswerable: int


class PricesUsed(BaseModel):
    as_of: str
    self_hosted_per_hour: float
    models: dict[str, dict[str, float]] = {}
    """The price book's entries for the models measured (a hosted model only the bake-off priced keeps this)."""


class Leakage(BaseModel):
    checked_files: list[str] = []
    training_questions: int = 0
    overlaps: int = 0


class BakeoffResults(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schema_id: str = Field(SCHEMA, alias="schema")
    created: str = ""
    questions: QuestionSet
    prices: PricesUsed
    variants: dict[str, VariantResult]
    paired_vs_rag: dict[str, Paired] = {}
    best_untrained: str | None = None
    """The variant without training (base, fewshot, rag, fewshot+rag) with the highest mean F1 in this run."""
    paired_vs_best_untrained: dict[str, Paired] = {}
    """Every other variant against ``best_untrained``."""
    best_tuned: str | None = None
    """The tuned variant (any but base, fewshot, rag, fewshot+rag) with the highest mean F1 in this run; None with
    fewer than two tuned variants, or in results of schema version 1."""
    paired_vs_best_tuned: dict[str, Paired] = {}
    """Every other tuned variant against ``best_tuned``: whether the tuned models can be told apart."""
    tuned_models: dict[str, str] = {}
    """The tuned models of the run by label (--ft-model LABEL=ft:<job-id>): the label's variants are ``<label>``
    (without retrieval) and ``<label>+rag``; every variant not among base, fewshot, rag, fewshot+rag is one."""
    leakage: Leakage = Leakage()
    """What the tuned models' training files were checked against the questions (all of them together)."""
    judge: JudgeSummary | None = None
    """The LLM judge, its sanity check and rank agreement; None when the run had no judge (lexical metrics only)."""
    stages_seconds: dict[str, float] = {}

    @property
    def schema_version(self) -> int:
        return int(self.schema_id.rpartition("/")[2])

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)

    def to_dict(self) -> dict:
        return self.model_dump(by_alias=True, mode="json")


def parse_results(data: object, source: str) -> BakeoffResults:
    """``data`` (a results.json's content) checked against this version; ``source`` names it in errors."""
    schema = data.get("schema") if isinstance(data, dict) else None
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_NAME + "/"):
        raise RagtuneError(f"{source}: not a bake-off result (expected \"schema\": {SCHEMA!r}, found {schema!r})")
    found = schema.removeprefix(SCHEMA_NAME + "/")
    if found not in {str(v) for v in READS}:
        raise RagtuneError(f"{source}: bake-off results of schema version {found}; this ragtune reads versions "
                           f"{', '.join(map(str, READS))} ({SCHEMA}): re-run 'ragtune bakeoff' with this version")
    try:
        return BakeoffResults.model_validate(data)
    except ValidationError as e:
        problems = validation_problems(e, most=5)
        raise RagtuneError(f"{source}: not a valid bake-off result ({SCHEMA}): {problems}") from None


def read_results(bakeoff_dir: Path) -> BakeoffResults:
    path = Path(bakeoff_dir) / RESULTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RagtuneError(f"cannot read bake-off results {path}: {e}; "
                           f"run 'ragtune bakeoff --out {bakeoff_dir}'") from None
    return parse_results(data, str(path))


def write_results(results: BakeoffResults, out_dir: Path) -> Path:
    """results.json, replaced atomically so a reader never sees half a file."""
    path = out_dir / RESULTS_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(results.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path
