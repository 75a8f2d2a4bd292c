"""Cost of each approach as one-time, fixed monthly and per-query parts, so any volume and horizon is a
line: total = one_time + months x (monthly + per_query x queries_per_month)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from ragtune.cost.prices import APPROACHES, PriceBook

LABELS = {"fewshot": "few-shot prompting", "rag": "RAG", "ft": "fine-tuning", "ft+rag": "fine-tuned RAG"}
RETRIEVES = {"rag", "ft+rag"}
TUNES = {"ft", "ft+rag"}
CATEGORIES = ("inference", "query embedding", "corpus embedding", "vector DB", "training", "people")


class CostInputs(BaseModel):
    """The workload; prices and effort come from the price book."""

    model_config = ConfigDict(extra="forbid")
    queries_per_month: float = Field(100_000, ge=0, description="queries answered per month")
    months: int = Field(12, ge=1, description="horizon in months for totals and break-even")
    question_tokens: float = Field(30, ge=0, description="tokens in a user's question (embedded for retrieval)")
    prompt_tokens: float = Field(200, ge=0, description="tokens sent to the model without retrieved context or "
                                                        "examples: instructions plus question")
    context_tokens: float = Field(2500, ge=0, description="retrieved context tokens RAG adds to each prompt "
                                                          "(the guide's top-5 chunks of 500 tokens)")
    fewshot_tokens: float = Field(600, ge=0, description="worked-example tokens a few-shot prompt adds")
    answer_tokens: float = Field(50, ge=0, description="tokens in an answer")
    corpus_tokens: float = Field(1_000_000, ge=0, description="tokens in the knowledge base, embedded once")
    update_tokens_per_month: float = Field(100_000, ge=0, description="tokens re-embedded per month as documents "
                                                                      "change")
    retrains_per_year: float = Field(4, ge=0, description="fine-tuning runs per year after the first (drift, "
                                                          "new knowledge)")
    base_model: str = Field("gpt-4o-mini", description="model behind few-shot prompting")
    rag_model: str = Field("gpt-4o-mini", description="model behind RAG")
    ft_model: str = Field("ft:gpt-4o-mini", description="fine-tuned model behind fine-tuning and fine-tuned RAG")
    embedding_model: str = Field("text-embedding-3-small", description="embedding model for documents and questions")
    inference_per_query: dict[str, float] = Field(default_factory=dict, description="measured USD per query of "
                                                  "an approach's generation (from the bake-off); replaces the "
                                                  "token estimate for that approach")


@dataclass(frozen=True)
class CostLine:
    category: str
    one_time: float = 0.0
    monthly: float = 0.0
    per_query: float = 0.0


@dataclass(frozen=True)
class ApproachCost:
    approach: str
    lines: tuple[CostLine, ...]
    measured: bool = False
    """Inference per query came from a measurement, not from token counts."""

    @property
    def one_time(self) -> float:
        return sum(line.one_time for line in self.lines)

    @property
    def monthly_fixed(self) -> float:
        return sum(line.monthly for line in self.lines)

    @property
    def per_query(self) -> float:
        return sum(line.per_query for line in self.lines)

    def monthly(self, queries_per_month: float) -> float:
        return self.monthly_fixed + self.per_query * queries_per_month

    def total(self, queries_per_month: float, months: int) -> float:
        return self.one_time + months * self.monthly(queries_per_month)

    def breakdown(self, queries_per_month: float, months: int) -> dict[str, float]:
        """Each category's cost over the horizon."""
        sums = dict.fromkeys(CATEGORIES, 0.0)
        for line in self.lines:
            sums[line.category] += line.one_time + months * (line.monthly + line.per_query * queries_per_month)
        return sums

    def to_dict(self, queries_per_month: float, months: int) -> dict:
        return {"approach": self.approach, "one_time": self.one_time, "monthly_fixed": self.monthly_fixed,
                "per_query": self.per_query, "monthly": self.monthly(queries_per_month),
                "total": self.total(queries_per_month, months), "measured_inference": self.measured,
                "breakdown": self.breakdown(queries_per_month, months)}


def _model(approach: str, inputs: CostInputs) -> str:
    return {"fewshot": inputs.base_model, "rag": inputs.rag_model}.get(approach, inputs.ft_model)


def approach_cost(approach: str, inputs: CostInputs, book: PriceBook) -> ApproachCost:
    measured = approach in inputs.inference_per_query
    if measured:
        inference = inputs.inference_per_query[approach]
    else:
        prompt = (inputs.prompt_tokens + (inputs.context_tokens if approach in RETRIEVES else 0)
                  + (inputs.fewshot_tokens if approach == "fewshot" else 0))
        inference = book.model_price(_model(approach, inputs)).per_query(prompt, inputs.answer_tokens)
    effort = book.effort_days
    setup = effort.days(effort.setup, approach)
    maintenance = effort.days(effort.maintenance_per_month, approach)
    people = CostLine("people", one_time=setup * book.day_rate, monthly=maintenance * book.day_rate)
    lines = [CostLine("inference", per_query=inference), people]
    if approach in RETRIEVES:
        embed = book.embedding(inputs.embedding_model) / 1e6
        lines += [CostLine("query embedding", per_query=inputs.question_tokens * embed),
                  CostLine("corpus embedding", one_time=inputs.corpus_tokens * embed,
                           monthly=inputs.update_tokens_per_month * embed),
                  CostLine("vector DB", monthly=book.vector_db_per_month)]
    if approach in TUNES:
        retrains = inputs.retrains_per_year / 12
        lines += [CostLine("training", one_time=book.training_run, monthly=retrains * book.training_run),
                  CostLine("people", one_time=(effort.data_prep + effort.evaluation) * book.day_rate,
                           monthly=retrains * effort.per_retrain * book.day_rate)]
    return ApproachCost(approach, tuple(lines), measured)


def estimate(inputs: CostInputs, book: PriceBook, approaches: tuple[str, ...] = APPROACHES) -> dict[str, ApproachCost]:
    return {a: approach_cost(a, inputs, book) for a in approaches}
