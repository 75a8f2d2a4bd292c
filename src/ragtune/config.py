"""The project's typed configuration, saved as config.json in the project folder. Each field's
description is also the help text of the CLI flag that overrides it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class ComponentSpec(BaseModel):
    """A registered component by name, with its constructor parameters."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="registered name of the component")
    params: dict[str, Any] = Field(default_factory=dict, description="constructor parameters")


class RetrievalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str = Field("hybrid", description="dense, bm25, or hybrid (reciprocal rank fusion of both)")
    k: int = Field(5, ge=1, description="number of chunks returned")
    candidates: int = Field(50, ge=1, description="chunks each retriever proposes before fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal rank fusion constant")
    rerank_fusion: float = Field(0.0, ge=0, description="weight of the retriever's own order beside the re-ranker's "
                                 "(weight 1) in a reciprocal rank fusion of the two; 0: the re-ranker's order alone")


class AnswerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(3, ge=1, description="context chunks given to the model")
    min_relevance: float = Field(0.3, description="refuse without generating when no chunk's cosine similarity "
                                                  "to the question reaches this")
    min_coverage: float = Field(0.6, ge=0, le=1, description="refuse without generating when the passages hold less "
                                "than this share of the question's content words (stemmed)")
    max_tokens: int = Field(64, ge=1, description="most tokens of a short answer and its citation (the grounded "
                            "prompt's format, and the brief answers of a variant without retrieval)")
    quoted_max_tokens: int = Field(160, ge=1, description="most tokens of an answer that quotes its passage first "
                                   "(a RAFT-tuned model's format: the quote and its citation, then <ANSWER>: ... [n])")
    temperature: float = Field(0.0, ge=0, description="sampling temperature (0 = greedy, reproducible)")
    reader: bool = Field(False, description="answer `rag` with the grounded reader that ships for the packaged "
                                            "SmolLM2 (a LoRA adapter, docs/reader.md); off by default: out of its "
                                            "training domain it refuses too often (bench/reader_default)")
    worked_examples: bool | None = Field(None, description="put three built-in worked examples (invented passages, "
                                         "short cited answers) before the question; null: on for local llama.cpp "
                                         "models but the shipped reader, off for endpoints (measured: "
                                         "bench/worked_examples)")
    context_words: int | None = Field(None, ge=0, description="cut the passages a model reads to about this many "
                                      "words, keeping each passage's sentences nearest the question (citations "
                                      "and the support check read them whole); 0: whole passages; null: "
                                      "rag.focus.LOCAL_WORDS for the packaged SmolLM2 but the shipped reader, "
                                      "whole for other models (measured: bench/reader_default)")


class RemoteModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    generator: ComponentSpec = Field(description="generator spec, e.g. type openai with base_url and model")
    rag: bool = Field(True, description="answer from the index with citations (false: pass messages through)")


class ServeConfig(BaseModel):
    """``ragtune serve``: re-read from config.json while the server runs, so weights change without a restart."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field("127.0.0.1", description="address to bind (loopback unless you mean to expose it)")
    port: int = Field(8000, ge=1, le=65535, description="TCP port")
    variants: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=lambda: {"rag": 1.0},
                                       description="A/B weights of the variants a request naming no model gets, "
                                                   "e.g. {\"rag\": 0.9, \"ft+rag:abc\": 0.1}")
    remotes: dict[str, RemoteModel] = Field(default_factory=dict, description="extra models served by name")
    require_key: bool = Field(True, description="answer 401 without a valid API key (ragtune keys create)")
    rate_limit_per_minute: float = Field(600, gt=0, description="requests per minute per API key")
    rate_limit_burst: int | None = Field(None, ge=1, description="requests a key may send at once (the token "
                                         "bucket's size; null: the per-second rate rounded up, at least 1)")
    allow_ingest: bool = Field(True, description="accept POST /v1/ingest from keys with the ingest scope "
                                                 "(false: it answers 403)")
    max_body_bytes: int = Field(4 * 2**20, ge=1024, description="largest request body; larger answers 413")
    max_message_chars: int = Field(32_000, ge=1, description="longest chat message; longer answers 413")
    timeout_seconds: float = Field(120, gt=0, description="longest a generation may take; then 504")
    retention_days: float | None = Field(90, gt=0, description="interactions older than this are deleted "
                                                               "(null keeps them forever)")
    log_bodies: bool = Field(True, description="log messages and answers; false keeps only ids, variant, "
                                               "latency and tokens (no fine-tuning export then)")
    state_url: str | None = Field(None, description="database for keys, rate limits and the interaction log: "
                                  "postgresql://user:pass@host/db shared by several replicas, or sqlite:///file "
                                  "(null: $RAGTUNE_STATE_URL, else the project's interactions.db); read when the "
                                  "server starts")


class RetrainConfig(BaseModel):
    """``ragtune drift`` and ``ragtune retrain``: when a tuned model is stale, and how a retrained one is promoted."""

    model_config = ConfigDict(extra="forbid")
    max_stale_share: float = Field(0.05, ge=0, le=1, description="advise retraining when more than this share of "
                                   "training examples' oracle passages are gone or changed")
    similarity: float = Field(0.6, ge=-1, le=1, description="a recent question resembles a training question at "
                              "this cosine similarity or more")
    max_novel_share: float = Field(0.3, ge=0, le=1, description="advise retraining when more than this share of "
                                   "recent questions resembles no training question")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level of the question and outcome drift tests")
    window_days: float = Field(7, gt=0, description="length of one time window of the interaction log")
    windows: int = Field(4, ge=2, description="time windows of outcomes shown; the latest is tested against "
                         "the others together")
    min_questions: int = Field(20, ge=2, description="fewest recent logged questions to test question drift")
    min_requests: int = Field(30, ge=1, description="fewest requests of a variant in the latest window and in the "
                              "earlier ones to judge its outcomes")
    min_feedback: int = Field(10, ge=1, description="fewest requests with feedback (a rating or a correction) of a "
                              "variant in the latest window and in the earlier ones to judge its negative feedback")
    canary_share: float = Field(0.1, gt=0, lt=1, description="share of the served tuned variant's traffic a "
                                "retrained model gets first (0.05 to 0.1 is usual)")
    margin: float = Field(0.0, ge=0, le=1, description="the retrained model is not worse when its paired F1 "
                          "difference's 95% interval lies above minus this")
    regression_set: str | None = Field(None, description="JSONL of held-out {_id, question, answer}: the fixed "
                                       "questions every retrained model is compared on (never trained on)")


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    embedder: ComponentSpec = Field(default_factory=lambda: ComponentSpec(type="onnx"),
                                    description="embedder: onnx (packaged int8 all-MiniLM-L6-v2), "
                                                "sentence-transformers, openai, hashing")
    chunker: ComponentSpec = Field(default_factory=lambda: ComponentSpec(type="sentence"),
                                   description="chunker: sentence, token, fixed")
    store: ComponentSpec = Field(default_factory=lambda: ComponentSpec(type="chroma"),
                                 description="vector store")
    generator: ComponentSpec = Field(default_factory=lambda: ComponentSpec(type="llamacpp"),
                                     description="generator: llamacpp (packaged SmolLM2), openai, scripted")
    checker: ComponentSpec = Field(default_factory=lambda: ComponentSpec(type="lexical"),
                                   description="support check of a grounded answer before it is shown: lexical, "
                                               "nli (a cross-encoder NLI model folder), llm-judge (an "
                                               "OpenAI-compatible endpoint)")
    reranker: ComponentSpec | None = Field(None, description="re-ranker after retrieval (off by default)")
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig, description="search settings")
    answer: AnswerConfig = Field(default_factory=AnswerConfig, description="answering settings")
    serve: ServeConfig = Field(default_factory=ServeConfig, description="API server settings")
    retrain: RetrainConfig = Field(default_factory=RetrainConfig, description="drift thresholds and retraining")


def field_help(model: type[BaseModel], name: str) -> str:
    return model.model_fields[name].description or ""
