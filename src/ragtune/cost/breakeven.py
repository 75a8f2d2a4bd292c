"""Break-even volume: the monthly query volume at which two approaches cost the same over a horizon.
Both totals are lines in the volume, so it is solved exactly rather than searched for."""

from __future__ import annotations

from dataclasses import dataclass

from ragtune.cost.model import ApproachCost


@dataclass(frozen=True)
class BreakEven:
    challenger: str
    incumbent: str
    months: int
    kind: str
    """'above': the challenger costs less above queries_per_month; 'below': less below it; 'always' / 'never':
    at every volume it costs less or equal / more."""
    queries_per_month: float | None = None

    def sentence(self) -> str:
        from ragtune.cost.model import LABELS

        a, b = LABELS[self.challenger], LABELS[self.incumbent]
        span = f"over {self.months} months"
        if self.kind == "always":
            return f"{a} costs no more than {b} at any volume {span}."
        if self.kind == "never":
            return f"{a} costs more than {b} at every volume {span}: no break-even."
        side = "above" if self.kind == "above" else "below"
        return f"{a} costs less than {b} {side} {self.queries_per_month:,.0f} queries/month {span}."

    def cheaper_at(self, queries_per_month: float) -> bool:
        """Whether the challenger costs less than the incumbent at this volume."""
        if self.kind in ("always", "never"):
            return self.kind == "always"
        assert self.queries_per_month is not None  # "above" and "below" name their volume
        if self.kind == "above":
            return queries_per_month > self.queries_per_month
        return queries_per_month < self.queries_per_month

    def threshold_text(self) -> str:
        if self.kind == "always":
            return "0 queries/month (it costs less at every volume)"
        if self.kind == "never":
            return "infinite: it costs more at every volume"
        return f"{self.queries_per_month:,.0f} queries/month"

    def to_dict(self) -> dict:
        return {"challenger": self.challenger, "incumbent": self.incumbent, "months": self.months,
                "kind": self.kind, "queries_per_month": self.queries_per_month}


def break_even(challenger: ApproachCost, incumbent: ApproachCost, months: int) -> BreakEven:
    """Solves one_time_c + m (fixed_c + q per_c) = one_time_i + m (fixed_i + q per_i) for q >= 0."""
    fixed = (challenger.one_time - incumbent.one_time) + months * (challenger.monthly_fixed - incumbent.monthly_fixed)
    saving = months * (incumbent.per_query - challenger.per_query)  # what each monthly query saves, whole horizon
    args = (challenger.approach, incumbent.approach, months)
    if saving == 0:
        return BreakEven(*args, "always" if fixed <= 0 else "never")
    q = fixed / saving
    if q <= 0:  # the lines cross at a negative volume: one side wins everywhere that exists
        return BreakEven(*args, "always" if saving > 0 else "never")
    return BreakEven(*args, "above" if saving > 0 else "below", q)
