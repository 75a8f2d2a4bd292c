"""The FastAPI application: OpenAI-compatible chat, models and embeddings; ingest, search, feedback, health.
Every request but /health and the docs needs an API key (unless serve.require_key is off) with the endpoint's
scope (chat; ingest for /v1/ingest) and is rate limited per key; chat interactions are logged for feedback,
A/B reports and the next fine-tune. Keys, limits and the log live in the serve state (serve.state_url), so
several replicas behind one load balancer act as one server."""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import anyio
import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ragtune.app.variants import Variant, available, check_weights, question_of, resolve
from ragtune.errors import RagtuneError
from ragtune.generation.protocol import Message
from ragtune.project import Project
from ragtune.serve import documents
from ragtune.serve import schemas as s
from ragtune.serve.assignment import assign, subject_id
from ragtune.serve.caller import ANONYMOUS_SCOPES, Caller, cookie_token
from ragtune.serve.chat import Params, Reply, complete, stream_reply
from ragtune.serve.errors import RESPONSES, ApiError, error_response, install
from ragtune.serve.ingest_guard import api_document
from ragtune.serve.interactions import Interaction
from ragtune.serve.keys import KeyStore, Scope
from ragtune.serve.limits import BodyLimit, check_length
from ragtune.serve.live_project import LiveProject
from ragtune.serve.rate_limit import limit_for
from ragtune.serve.search import search as search_chunks
from ragtune.serve.state import open_state
from ragtune.serve.web import install as web

PRUNE_EVERY_S = 3600.0
# One server-sent event of a streamed completion (OpenAPI 3.1: the schema of a text/event-stream is one event's)
SSE_EVENT = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "string", "contentMediaType": "application/json",
    "description": "a chat.completion.chunk as JSON (OpenAI's ChatCompletionChunk); the last chunk before the "
                   "literal [DONE] has no choices and carries `usage` and the `ragtune` field (citations, "
                   "interaction id); an error mid-stream is sent as {\"error\": {...}}"}}}


def create_app(root: Path | str, clock: Callable[[], float] = time.time) -> FastAPI:
    """The app serving the project at ``root``; ``clock`` times the rate limits (tests set it; replicas
    sharing a state must share its time, hence the wall clock)."""
    live = LiveProject(Path(root), check=check_weights)
    state = open_state(live.project)
    keys = KeyStore(state)
    state.prune(live.project.config.serve.retention_days)
    last_prune = [time.time()]
    variants: dict[tuple[int, str], Variant] = {}
    started = int(time.time())
    bearer = HTTPBearer(auto_error=False, description="an API key from `ragtune keys create`")

    app = FastAPI(title="ragtune", version="1", description=__doc__)
    app.add_middleware(BodyLimit, max_bytes=lambda: live.current().config.serve.max_body_bytes)
    install(app)
    app.state.live = live

    def authenticate(request: Request, token: str | None) -> Caller:
        """The caller presenting ``token`` (401 when a key is required and this is none, 429 past its limit).
        The key's lookup and its rate limit are database round trips: the API calls this in a worker thread."""
        project = live.current()
        cfg = project.config.serve
        record = keys.verify(token) if token else None
        if record is None and cfg.require_key:
            raise ApiError(401, "missing or invalid API key: send 'Authorization: Bearer <key>' "
                                "(create one with 'ragtune keys create')", "invalid_api_key")
        bucket = record.id if record else f"ip:{request.client.host if request.client else '-'}"
        limit = limit_for(record.rate_limit_per_minute if record else None, record.burst if record else None,
                          cfg.rate_limit_per_minute, cfg.rate_limit_burst)
        wait = state.take(bucket, limit, clock())
        if wait > 0:
            raise ApiError(429, f"rate limit of {limit.describe()} exceeded", "rate_limit_exceeded",
                           headers={"Retry-After": str(math.ceil(wait))})
        return Caller(record.id if record else None, project,
                      record.granted if record else ANONYMOUS_SCOPES)

    async def caller(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
        return await anyio.to_thread.run_sync(authenticate, request,
                                              creds.credentials if creds else cookie_token(request))

    def scoped(scope: Scope):
        """The caller, if its key has ``scope`` (403 otherwise)."""
        async def check(who: Caller = Depends(caller)) -> Caller:
            if not who.allows(scope):
                raise ApiError(403, f"this API key lacks the {scope.value} scope; create one that has it with "
                                    f"'ragtune keys create --scope {scope.value}'", "missing_scope")
            return who
        return check

    chat_caller, ingest_caller = Depends(scoped(Scope.chat)), Depends(scoped(Scope.ingest))
    web.install(app, authenticate)

    def variant(project: Project, name: str) -> Variant:
        key = (live.version, name)
        if key not in variants:
            try:
                variants[key] = resolve(project, name)
            except RagtuneError as e:
                raise ApiError(404, str(e), "model_not_found", "model") from None
        return variants[key]

    def record(project: Project, it: Interaction) -> None:
        cfg = project.config.serve
        state.record(it, bodies=cfg.log_bodies)
        if time.time() - last_prune[0] > PRUNE_EVERY_S:
            last_prune[0] = time.time()
            state.prune(cfg.retention_days)

    # --- OpenAI-compatible ---------------------------------------------------------------------------
    @app.post("/v1/chat/completions", response_model=s.ChatCompletion, tags=["openai"],
              responses={**RESPONSES, 404: {"model": s.ErrorResponse}, 502: {"model": s.ErrorResponse},
                         504: {"model": s.ErrorResponse},
                         200: {"content": {"text/event-stream": {"schema": SSE_EVENT}},
                               "description": "the completion, or with stream: server-sent events"}})
    async def chat_completions(req: s.ChatRequest, who: Caller = chat_caller):
        """Answer with the named variant, or the one the A/B weights assign to this user. Citations and the
        interaction id to rate are in the `ragtune` field."""
        project, t0 = who.project, time.perf_counter()
        cfg = project.config
        messages: list[Message] = [{"role": m.role, "content": m.text} for m in req.messages]
        check_length([m["content"] for m in messages], cfg.serve.max_message_chars)
        assigned = req.model in (None, "", "auto")
        subject = req.user or who.key_id or "anonymous"
        v = variant(project, assign(subject, cfg.serve.variants) if assigned else str(req.model))
        question_of(messages)  # no user message: the request's fault (400), found before any generation
        if v.retrieval and project.index_spec() is None:
            raise ApiError(400, f"variant {v.name} answers from the index, which is empty: POST /v1/ingest first",
                           "no_index")
        stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
        params = Params(req.max_completion_tokens or req.max_tokens or v.max_tokens(cfg.answer),
                        cfg.answer.temperature if req.temperature is None else req.temperature, stop)
        iid = "chatcmpl-" + uuid.uuid4().hex
        base = Interaction(iid, v.name, assigned, 0.0, key_id=who.key_id, subject=subject_id(subject),
                           stream=req.stream, request=messages)

        def done(reply: Reply) -> tuple[s.RagtuneInfo, s.Usage]:
            a = reply.answer
            it = replace(base, latency_ms=(time.perf_counter() - t0) * 1000, prompt_tokens=a.prompt_tokens,
                         completion_tokens=a.completion_tokens, refused=a.refused,
                         chunk_ids=[h.chunk.chunk_id for h in a.contexts],
                         citations=[c.to_dict() for c in a.citations], prompt=reply.prompt, answer=a.text)
            record(project, it)
            info = s.RagtuneInfo(interaction_id=iid, variant=v.name, assigned=assigned, refused=a.refused,
                                 supported=a.supported, check=a.check, generated=a.generated, reason=a.reason,
                                 citations=it.citations, retrieved=it.chunk_ids,
                                 query=a.question if v.retrieval else None)
            return info, s.Usage(prompt_tokens=a.prompt_tokens, completion_tokens=a.completion_tokens,
                                 total_tokens=a.prompt_tokens + a.completion_tokens)

        def failed(status: int, message: str) -> None:
            record(project, replace(base, latency_ms=(time.perf_counter() - t0) * 1000, status=status,
                                    error=message))

        timeout = cfg.serve.timeout_seconds
        if req.stream:
            return StreamingResponse(_events(iid, v, stream_reply(project, v, messages, params), done, failed,
                                             timeout), media_type="text/event-stream")
        try:
            with anyio.fail_after(timeout):
                reply = await anyio.to_thread.run_sync(partial(complete, project, v, messages, params),
                                                       abandon_on_cancel=True)
        except TimeoutError:
            await anyio.to_thread.run_sync(failed, 504, "timeout")
            raise ApiError(504, f"generation took longer than {timeout:g} s (serve.timeout_seconds)",
                           "timeout") from None
        except RagtuneError as e:
            await anyio.to_thread.run_sync(failed, 502, str(e))
            raise ApiError(502, str(e), "generation_failed") from None
        info, usage = await anyio.to_thread.run_sync(done, reply)
        return s.ChatCompletion(id=iid, created=int(time.time()), model=v.name, usage=usage, ragtune=info,
                                choices=[s.Choice(message=s.AssistantMessage(content=reply.answer.text),
                                                  finish_reason=reply.finish_reason)])

    @app.get("/v1/models", response_model=s.ModelList, tags=["openai"], responses=RESPONSES)
    async def models(who: Caller = chat_caller):
        """The variants: base, rag, ft:<job>, ft+rag:<job> for each succeeded fine-tuning job, remotes."""
        found = await anyio.to_thread.run_sync(available, who.project)
        return s.ModelList(data=[s.Model(id=v.name, created=started, owned_by=v.owned_by) for v in found])

    @app.post("/v1/embeddings", response_model=s.EmbeddingList, tags=["openai"], responses=RESPONSES)
    async def embeddings(req: s.EmbeddingRequest, who: Caller = chat_caller):
        """Vectors from the project's embedder (the one the index uses), whatever `model` says."""
        texts = [req.input] if isinstance(req.input, str) else req.input
        if not texts or any(not t.strip() for t in texts):
            raise ApiError(400, "input must be non-empty text or a non-empty list of non-empty texts",
                           "invalid_input", "input")
        check_length(texts, who.project.config.serve.max_message_chars)
        embedder = who.project.embedder
        vectors = np.asarray(await anyio.to_thread.run_sync(embedder.embed, texts), dtype="<f4")
        data = [s.Embedding(index=i, embedding=base64.b64encode(vec.tobytes()).decode("ascii")
                            if req.encoding_format == "base64" else vec.tolist()) for i, vec in enumerate(vectors)]
        words = sum(len(t.split()) for t in texts)  # an approximation: the embedder's tokenizer is not exposed
        return s.EmbeddingList(data=data, model=who.project.config.embedder.type,
                               usage=s.EmbeddingUsage(prompt_tokens=words, total_tokens=words))

    # --- ragtune's own ---------------------------------------------------------------------------------
    @app.post("/v1/ingest", response_model=s.IngestResult, tags=["ragtune"],
              responses={**RESPONSES, 409: {"model": s.ErrorResponse}})
    async def ingest(req: s.IngestRequest, who: Caller = ingest_caller):
        """Add or update documents given as JSON (needs the ingest scope). Re-sending an id replaces that
        document; an id that came from a file answers 409 unless the request says `"replace": true` with an
        admin key. Off when the config says `serve.allow_ingest: false`."""
        docs = [api_document(d.id, d.text, d.title, dict(d.metadata)) for d in req.documents]
        report = await anyio.to_thread.run_sync(documents.ingest, who, docs, req.replace)
        return report.to_dict()

    @app.post("/v1/search", response_model=s.SearchResult, tags=["ragtune"], responses=RESPONSES)
    async def search(req: s.SearchRequest, who: Caller = chat_caller):
        """The chunks that best match the query, as `ragtune search` finds them."""
        hits = await anyio.to_thread.run_sync(partial(search_chunks, who.project, req.query, req.k, req.mode,
                                                      req.filter))
        return s.SearchResult(data=[s.SearchHit(rank=i, score=h.score, scores=h.scores, chunk_id=h.chunk.chunk_id,
                                                doc_id=h.chunk.doc_id, title=h.chunk.title, text=h.chunk.text,
                                                metadata=h.chunk.metadata)
                                    for i, h in enumerate(hits, start=1)])

    @app.post("/v1/feedback", response_model=s.FeedbackResult, tags=["ragtune"],
              responses={**RESPONSES, 404: {"model": s.ErrorResponse}})
    async def feedback(req: s.FeedbackRequest, who: Caller = chat_caller):
        """Rate an answer (thumbs up or down), optionally with the answer it should have given."""
        owner = who.key_id if who.project.config.serve.require_key else None
        try:
            await anyio.to_thread.run_sync(partial(state.feedback, req.interaction_id, req.rating,
                                                   req.corrected_answer, key_id=owner))
        except RagtuneError as e:
            raise ApiError(404, str(e), "interaction_not_found", "interaction_id") from None
        return s.FeedbackResult(interaction_id=req.interaction_id, rating=req.rating,
                                corrected=req.corrected_answer is not None)

    @app.get("/health", response_model=s.Health, tags=["ragtune"])
    async def health():
        """Liveness, without a key: whether an index exists and the current A/B weights."""
        project = live.current()
        return s.Health(indexed=project.index_spec() is not None, variants=project.config.serve.variants)

    return app


async def _events(iid: str, v: Variant, pieces, done, failed, timeout: float):
    """Server-sent events of a streamed completion; an error mid-stream is sent as an event the official
    client raises (the status line has already gone out)."""
    created = int(time.time())

    def event(**fields) -> str:
        chunk = s.ChatCompletionChunk(id=iid, created=created, model=v.name, **fields)
        return f"data: {chunk.model_dump_json(exclude_none=True)}\n\n"

    yield event(choices=[s.ChunkChoice(delta=s.Delta(role="assistant", content=""))])
    deadline = anyio.current_time() + timeout
    reply = None
    try:
        async for piece in _in_thread(pieces, deadline):
            if isinstance(piece, Reply):
                reply = piece
            else:
                yield event(choices=[s.ChunkChoice(delta=s.Delta(content=piece))])
    except (TimeoutError, RagtuneError) as e:
        status, message = (504, f"generation took longer than {timeout:g} s") if isinstance(e, TimeoutError) \
            else (502, str(e))
        await anyio.to_thread.run_sync(failed, status, message)
        body = json.loads(bytes(error_response(status, message).body))
        yield f"data: {json.dumps(body)}\n\n"
        return
    assert reply is not None  # the pieces end with their Reply
    info, usage = await anyio.to_thread.run_sync(done, reply)
    yield event(choices=[s.ChunkChoice(delta=s.Delta(), finish_reason=reply.finish_reason)])
    yield event(choices=[], usage=usage, ragtune=info)
    yield "data: [DONE]\n\n"


async def _in_thread(iterator, deadline: float):
    """Drain a blocking iterator from worker threads, each step bounded by what is left of the deadline. A
    step past it is abandoned (its thread finishes on its own; llama.cpp cannot be interrupted)."""
    end = object()
    while True:
        with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
            item = await anyio.to_thread.run_sync(next, iterator, end, abandon_on_cancel=True)
        if item is end:
            return
        yield item
