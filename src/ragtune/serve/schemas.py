"""The wire format: OpenAI's for chat, models and embeddings (so the official client works unchanged), and
ragtune's own for ingest, search and feedback. Citations travel in the ``ragtune`` extension field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _valid_unicode(text: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); they cannot be stored or tokenised, so refuse them up front
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (it holds a lone surrogate)") from None
    return text


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("the document's text is empty (or only whitespace)")
    return text


Text = Annotated[str, AfterValidator(_valid_unicode)]
DocumentText = Annotated[Text, AfterValidator(_not_blank), Field(json_schema_extra={"pattern": r"\S"})]
# bool first: pydantic would otherwise read true as 1; numbers within what the vector store can hold
MetaValue = bool | Annotated[int, Field(ge=-2**63, le=2**63 - 1)] | Annotated[float, Field(allow_inf_nan=False)] | Text
MetaKey = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]


# Requests are strict: JSON `true` is not an integer, as the OpenAPI schema says (lax parsing would accept it).
# --- chat --------------------------------------------------------------------------------------------
class TextPart(BaseModel):
    model_config = ConfigDict(strict=True)
    type: Literal["text"] = "text"
    text: Text


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Text | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True)
    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's chat request; parameters ragtune does not use (top_p, seed...) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)
    model: Text | None = Field(None, description="a variant from /v1/models; omit it (or send 'auto') to be "
                                                 "assigned one by the A/B weights, stably per user")
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0, le=2)
    stop: Text | list[Text] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: Text | None = Field(None, description="your end user's id: the A/B assignment is stable per user")


class Citation(BaseModel):
    n: int = Field(description="the passage number the answer cites, [n]")
    chunk_id: str
    doc_id: str
    source: str
    title: str
    chunk_index: int
    inferred: bool = Field(description="true when the model did not cite and the passage was matched by overlap "
                                       "(kept only when it supports the answer)")


class RagtuneInfo(BaseModel):
    """The extension field: which variant answered, from what, and the interaction id to rate."""

    interaction_id: str
    variant: str
    assigned: bool = Field(description="true when the A/B weights chose the variant (the request named none)")
    refused: bool
    supported: bool | None = Field(None, description="true when a cited passage supports the model's answer, false "
                                   "when none does (reason says why); null when the model gave no answer or "
                                   "answered without passages")
    check: Literal["kept", "replaced", "refused"] | None = Field(
        None, description="what the support check did with the model's answer: kept; replaced (the content is "
                          "the passage sentence that answers the question, cited); refused (reason says why); null "
                          "when no check ran (a refusal, or no passages)")
    generated: str = Field("", description="what the model wrote, shown as the content only when check is kept")
    reason: str = Field("", description="why the answer was refused, or why the model's answer was replaced")
    citations: list[Citation] = []
    retrieved: list[str] = Field([], description="chunk ids given to the model as context, in order")
    query: str | None = Field(None, description="the question retrieval ran on and the model answered: the last "
                                                "user message, or a follow-up joined to the question it follows "
                                                "up; null for a variant that does not retrieve")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    ragtune: RagtuneInfo


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop", "length"] | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event; the last before [DONE] has no choices, the usage, and the ragtune field."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    ragtune: RagtuneInfo | None = None


# --- models and embeddings -----------------------------------------------------------------------------
class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    input: Text | list[Text] = Field(description="text or texts (token arrays are not accepted)")
    model: Text = Field("", description="ignored: the project's embedder answers")
    encoding_format: Literal["float", "base64"] = "float"
    user: Text | None = None


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(description="floats, or base64 of little-endian float32")


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage


# --- ragtune's own endpoints ---------------------------------------------------------------------------
class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: Text = Field(min_length=1, max_length=512, description="stable id: re-sending it updates the document")
    text: DocumentText = Field(description="the document's text (not empty, not only whitespace)")
    title: Text = ""
    metadata: dict[MetaKey, MetaValue] = {}


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    documents: list[DocumentIn] = Field(min_length=1, max_length=10_000)
    replace: bool = Field(False, description="also replace documents that came from files (ingested from disk "
                                             "by `ragtune ingest`); needs a key with the admin scope. Without it, "
                                             "such an id answers 409 and nothing is written")


class IngestResult(BaseModel):
    added: int
    updated: int
    unchanged: int
    removed: int
    chunks: int
    seconds: float
    skipped: list[str]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    query: Text = Field(min_length=1)
    k: int | None = Field(None, ge=1, le=100, description="chunks returned (default: the project's retrieval.k)")
    mode: Literal["dense", "bm25", "hybrid"] | None = None
    filter: list[Text] = Field([], description="metadata filters, as `ragtune search --filter`: key=value, ...")


class SearchHit(BaseModel):
    rank: int
    score: float
    scores: dict[str, float] = Field({}, description="the chunk's score under each retriever that found it: dense "
                                                    "(cosine), bm25, and rrf (their fusion) in hybrid mode")
    chunk_id: str
    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any]


class SearchResult(BaseModel):
    object: Literal["list"] = "list"
    data: list[SearchHit]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    interaction_id: Text = Field(min_length=1, max_length=100, description="the chat completion's id")
    rating: Literal["up", "down"]
    corrected_answer: Text | None = Field(None, min_length=1, description="the answer it should have given")


class FeedbackResult(BaseModel):
    interaction_id: str
    rating: str
    corrected: bool


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    indexed: bool
    variants: dict[str, float]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
