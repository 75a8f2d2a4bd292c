"""The price book: dated default prices and effort shipped with ragtune (prices.yaml), which a user file
overrides entry by entry."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ragtune.errors import RagtuneError
from ragtune.yaml_file import read_mapping

APPROACHES = ("fewshot", "rag", "ft", "ft+rag")


class ModelPrice(BaseModel):
    """Hosted (per-token prices) or self-hosted (machine price x busy seconds per query)."""

    model_config = ConfigDict(extra="forbid")
    input_per_m: float | None = Field(None, ge=0, description="USD per million input tokens (hosted)")
    output_per_m: float | None = Field(None, ge=0, description="USD per million output tokens (hosted)")
    hardware_per_hour: float | None = Field(None, ge=0, description="USD per hour of the machine (self-hosted)")
    seconds_per_query: float | None = Field(None, ge=0, description="machine seconds one query takes (self-hosted)")

    @model_validator(mode="after")
    def _one_kind(self) -> ModelPrice:
        hosted = self.input_per_m is not None and self.output_per_m is not None
        local = self.hardware_per_hour is not None and self.seconds_per_query is not None
        if hosted == local:
            raise ValueError("give either input_per_m and output_per_m, or hardware_per_hour and seconds_per_query")
        return self

    def per_query(self, input_tokens: float, output_tokens: float) -> float:
        if self.input_per_m is not None and self.output_per_m is not None:  # _one_kind: both or neither
            return (input_tokens * self.input_per_m + output_tokens * self.output_per_m) / 1e6
        assert self.seconds_per_query is not None and self.hardware_per_hour is not None  # by _one_kind
        return self.seconds_per_query * self.hardware_per_hour / 3600


class Effort(BaseModel):
    model_config = ConfigDict(extra="forbid")
    setup: dict[str, float] = Field(description="engineer-days to build each approach (fewshot, rag, ft); "
                                                "ft+rag is rag plus ft")
    data_prep: float = Field(ge=0, description="engineer-days preparing training data, once")
    evaluation: float = Field(ge=0, description="engineer-days evaluating the first tuned model, once")
    per_retrain: float = Field(ge=0, description="engineer-days of data refresh and evaluation per retraining run")
    maintenance_per_month: dict[str, float] = Field(description="engineer-days per month to keep each approach "
                                                                "running; ft+rag is rag plus ft")

    def days(self, table: dict[str, float], approach: str) -> float:
        parts = ("rag", "ft") if approach == "ft+rag" else (approach,)
        missing = [p for p in parts if p not in table]
        if missing:
            raise RagtuneError(f"price file: effort_days has no entry for {', '.join(missing)}")
        return sum(table[p] for p in parts)


class PriceBook(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: str = Field(description="date the prices were checked")
    sources: str = Field("", description="where the figures come from")
    models: dict[str, ModelPrice] = Field(description="inference price per model")
    self_hosted_per_hour: float = Field(ge=0, description="machine price for a model the book does not list")
    embedding_per_m: dict[str, float] = Field(description="USD per million tokens embedded, per embedding model")
    vector_db_per_month: float = Field(ge=0, description="vector database hosting, USD per month")
    training_run: float = Field(ge=0, description="USD per fine-tuning run")
    day_rate: float = Field(ge=0, description="USD per engineer-day")
    effort_days: Effort

    def model_price(self, name: str) -> ModelPrice:
        if name not in self.models:
            raise RagtuneError(f"no price for model {name!r}; add it under models: in a --prices file "
                               f"(known: {', '.join(sorted(self.models))})")
        return self.models[name]

    def measured_per_query(self, name: str, input_tokens: float, output_tokens: float, seconds: float) -> float:
        """USD for one query as measured: hosted models by their tokens; self-hosted ones (listed without
        token prices, or not listed at all) by the seconds the query held the machine."""
        price = self.models.get(name)
        if price is not None and price.input_per_m is not None:
            return price.per_query(input_tokens, output_tokens)
        hourly = price.hardware_per_hour if price is not None and price.hardware_per_hour is not None \
            else self.self_hosted_per_hour
        return seconds * hourly / 3600

    def embedding(self, name: str) -> float:
        if name not in self.embedding_per_m:
            raise RagtuneError(f"no price for embedding model {name!r}; add it under embedding_per_m: in a "
                               f"--prices file")
        return self.embedding_per_m[name]


def _merge(base: dict, override: dict) -> dict:
    """Override wins leaf by leaf, so a user file names only what it changes. A model's entry is replaced
    whole: mixing hosted and self-hosted fields from two files would describe neither."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "models":
            merged[key] = _merge(merged[key], value)
        elif key == "models" and isinstance(value, dict):
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


def default_prices_text() -> str:
    return resources.files("ragtune.cost").joinpath("prices.yaml").read_text(encoding="utf-8")


def load_prices(path: Path | None = None) -> PriceBook:
    data = yaml.safe_load(default_prices_text())
    if path is not None:
        data = _merge(data, read_mapping(path, "price file", "a mapping like the shipped prices.yaml"))
    try:
        return PriceBook.model_validate(data)
    except ValidationError as e:
        raise RagtuneError(f"price file {path or 'prices.yaml'}: {e}") from None
