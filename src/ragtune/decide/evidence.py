"""What a bake-off measured, as facts the evidence table tests: quality differences with their intervals,
latency, and cost per query re-priced with the price book."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragtune.app.variants import UNTRAINED
from ragtune.bakeoff.results import RESULTS_FILE, BakeoffResults, MetricInterval, PairedComparison, VariantResult
from ragtune.bakeoff.results import read_results as read_bakeoff
from ragtune.cost.breakeven import BreakEven, break_even
from ragtune.cost.model import CostInputs, estimate
from ragtune.cost.prices import PriceBook
from ragtune.errors import RagtuneError

MISSING = "missing"
PROMPTS = {"base": "the model asked alone, told to answer briefly or refuse (no retrieval, no examples)",
           "fewshot": "worked examples (a question and its short answer) before the question, without retrieval",
           "rag": "the grounded prompt over retrieved passages, answering with citations",
           "fewshot+rag": "the worked-examples prompt with retrieval: each example a question, its retrieved "
                          "passages and a short cited answer, before the grounded prompt"}
"""What each untrained variant is, for the decision that says which prompt to ship."""


@dataclass
class Evidence:
    source: str
    created: str
    questions: int
    results: BakeoffResults
    per_query: dict[str, float]
    """Measured USD per query of each approach's generation, priced with the price book."""
    facts: dict = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    """Measurements in words, for the evidence table's explanations."""
    break_even: BreakEven | None = None
    approaches: dict[str, str] = field(default_factory=dict)
    """The variant each approach of ``per_query`` was measured as (ft: the strongest tuned model's label)."""
    tuned: list[TunedStanding] = field(default_factory=list)
    """Every tuned variant of the run, against the strongest untrained variant and the one decide weighs."""

    def to_dict(self) -> dict:
        return {"source": self.source, "created": self.created, "questions": self.questions,
                "per_query": self.per_query, "approaches": self.approaches, "facts": self.facts, "texts": self.texts,
                "break_even": self.break_even.to_dict() if self.break_even else None,
                "tuned": [asdict(t) for t in self.tuned]}


@dataclass(frozen=True)
class TunedStanding:
    """One tuned variant: its model, F1, and verdicts (better, worse, unclear, missing) against the strongest
    untrained variant and against the tuned variant decide weighs (``same`` for that one itself)."""

    variant: str
    model: str
    f1: str
    vs_best_untrained: str
    vs_best_untrained_text: str
    vs_weighed: str
    vs_weighed_text: str


@dataclass(frozen=True)
class Ship:
    """What to deploy for a recommendation: the bake-off variant measured as it and its model (a packaged or
    endpoint model, or ft:<job-id> for a tuned one); None where the bake-off did not measure it."""

    variant: str | None
    model: str | None
    what: str

    def text(self) -> str:
        if self.variant is None:
            return self.what
        return f"`{self.variant}`, model `{self.model}`: {self.what}"


def read_results(bakeoff_dir: Path) -> BakeoffResults:
    """The bake-off's results, which must include RAG: the baseline every comparison needs."""
    results = read_bakeoff(bakeoff_dir)
    if "rag" not in results.variants:
        raise RagtuneError(f"{Path(bakeoff_dir) / RESULTS_FILE}: the bake-off has no 'rag' variant, the baseline "
                           "every comparison needs")
    return results


def score(m: MetricInterval | None) -> str:
    return "not measured" if m is None or m.mean is None else m.text()


def variant_per_query(v: VariantResult, book: PriceBook, bakeoff_prices: dict[str, dict]) -> float:
    """The variant's measured tokens or seconds at the price book's prices, so --prices applies to the
    measurement too. A hosted model only the bake-off priced (``bakeoff_prices``: its price entries by
    model) keeps the bake-off's cost."""
    if v.model in book.models:
        price = book.models[v.model]
        if price.input_per_m is not None:
            return price.per_query(v.tokens.prompt_mean, v.tokens.completion_mean)
        return v.seconds_per_query * price.hardware_per_hour / 3600  # type: ignore[operator]  # one kind of price is set
    if v.model in bakeoff_prices:
        return v.cost_per_1k_queries / 1000
    return v.seconds_per_query * book.self_hosted_per_hour / 3600


def paired_f1(results: BakeoffResults, name: str | None) -> PairedComparison | None:
    paired = results.paired_vs_rag.get(name)  # type: ignore[arg-type]  # None finds nothing
    return paired.f1 if paired else None


def vs_best(results: BakeoffResults, name: str | None) -> PairedComparison | None:
    """``name`` against the strongest untrained variant on F1 (None for that variant itself, for no variant,
    or when the bake-off predates the comparison)."""
    paired = results.paired_vs_best_untrained.get(name)  # type: ignore[arg-type]  # None finds nothing
    return paired.f1 if paired else None


def beats_verdict(d: PairedComparison | None) -> str:
    """better / worse only when the difference holds up (interval excludes 0, Holm p under alpha): the test a
    claim of beating the strongest untrained variant must pass; unclear otherwise."""
    if d is None or d.diff is None:
        return MISSING
    return ("better" if d.low > 0 else "worse") if d.differs() else "unclear"  # type: ignore[operator]  # set with diff


def tuned_variants(results: BakeoffResults) -> list[str]:
    """Every variant that needed training: any name but the untrained ones (labels cannot take those)."""
    return [n for n in results.variants if n not in UNTRAINED]


def strongest_tuned(results: BakeoffResults) -> str | None:
    """The tuned variant decide weighs: one that beats the strongest untrained variant if any does, then one
    compared with it, each by the largest paired gain; those without that comparison by their mean F1."""
    tuned = tuned_variants(results)
    if not tuned:
        return None

    def rank(name: str) -> tuple[bool, bool, float]:  # beats, compared, then the gain (else the F1)
        d = vs_best(results, name)
        if d is None or d.diff is None:
            return False, False, results.variants[name].metrics.f1.mean or 0.0
        return beats_verdict(d) == "better", True, d.diff

    return max(tuned, key=rank)


def between_tuned(results: BakeoffResults, name: str, other: str | None) -> PairedComparison | None:
    """``name`` against ``other`` on F1, both tuned, as the bake-off paired them: each tuned variant with the
    strongest tuned one (``best_tuned``); the pair the other way round when ``name`` is that one. None when
    neither is (results before schema version 2 pair no tuned variants)."""
    if results.best_tuned == other and name in results.paired_vs_best_tuned:
        return results.paired_vs_best_tuned[name].f1
    if results.best_tuned == name and other in results.paired_vs_best_tuned:
        d = results.paired_vs_best_tuned[other].f1
        return None if d.diff is None else d.model_copy(update={"diff": -d.diff, "low": -d.high, "high": -d.low})  # type: ignore[operator]  # set with diff
    return None


def rivals(results: BakeoffResults, tuned: str | None) -> list[str]:
    """The tuned variants but ``tuned`` (the weighed one) that beat the strongest untrained variant: the ones it was
    chosen over by ``strongest_tuned``, which weighs one that beats whenever any does (so none when it does not)."""
    return [n for n in tuned_variants(results) if n != tuned and beats_verdict(vs_best(results, n)) == "better"]


def standings(results: BakeoffResults, tuned: str | None) -> list[TunedStanding]:
    """Every tuned variant of the run, in its order, against the strongest untrained variant and ``tuned``."""
    def row(n: str) -> TunedStanding:
        d, t = vs_best(results, n), between_tuned(results, n, tuned)
        same = n == tuned
        return TunedStanding(n, results.variants[n].model, score(results.variants[n].metrics.f1), beats_verdict(d),
                             comparison_text(d), "same" if same else beats_verdict(t),
                             "(itself)" if same else comparison_text(t))
    return [row(n) for n in tuned_variants(results)]


def rival_fact(close: list[TunedStanding]) -> str:
    """How the weighed tuned model stands against ``close``, the others that also beat the strongest untrained
    variant and are not measurably worse than it: unclear when the run cannot tell one from it, missing when one
    was not paired with it, none when there is no such rival."""
    verdicts = {t.vs_weighed for t in close}
    return next((v for v in ("unclear", MISSING) if v in verdicts), "none")


def to_ship(ev: Evidence | None, recommendation: str) -> Ship | None:
    """The variant and model to deploy for ``recommendation``: the weighed tuned model in the recommended form
    (LABEL or LABEL+rag), or the untrained variant recommended; None without a bake-off."""
    if ev is None:
        return None
    results = ev.results
    if recommendation in ("ft", "ft+rag"):
        tuned = strongest_tuned(results)
        if tuned is None:
            return Ship(None, None, "no tuned model was measured: tune one and re-run the bake-off with --ft-model")
        variant = forms(results, tuned).get(recommendation)
        retrieval = "with retrieval" if recommendation == "ft+rag" else "without retrieval"
        if variant is None:
            return Ship(None, results.variants[tuned].model,
                        f"the tuned model of {tuned} ({results.variants[tuned].model}) {retrieval}, a form this "
                        "bake-off did not measure")
        v = results.variants[variant]
        return Ship(variant, v.model, f"the tuned model {variant.removesuffix('+rag')} {retrieval}, "
                                      f"F1 {score(v.metrics.f1)}")
    if recommendation not in results.variants:
        return Ship(None, None, f"{recommendation}: not measured in this bake-off")
    v = results.variants[recommendation]
    return Ship(recommendation, v.model, f"{PROMPTS[recommendation]}; no training, "
                                         f"F1 {score(v.metrics.f1)}")


def forms(results: BakeoffResults, tuned: str | None) -> dict[str, str]:
    """The approach each form of ``tuned``'s model is measured as: ``ft`` (its label) and ``ft+rag``
    (label+rag), where the bake-off ran them."""
    if tuned is None:
        return {}
    label = tuned.removesuffix("+rag")  # a label holds no "+"
    return {k: n for k, n in (("ft", label), ("ft+rag", f"{label}+rag")) if n in results.variants}


def approach_variants(results: BakeoffResults) -> dict[str, str]:
    """The variant each costed approach was measured as: fewshot and rag by name; ft and ft+rag are the
    strongest tuned model's label and label+rag."""
    made = {"fewshot": "fewshot", "rag": "rag", **forms(results, strongest_tuned(results))}
    return {a: n for a, n in made.items() if n in results.variants}


def comparison_text(d: PairedComparison | None) -> str:
    """The paired F1 difference with its Holm-adjusted p-value and what the run could detect."""
    if d is None or d.diff is None:
        return "not measured"
    holm = "" if d.p_holm is None else f", Holm p {d.p_holm:.3f}"
    detectable = "" if d.mdd is None else f", smallest difference this run could detect {d.mdd:.2f}"
    return f"{d.text()}{holm}{detectable}"


def apart_text(d: PairedComparison | None, name: str, best: str, questions: int) -> str:
    """Whether ``name`` and ``best`` can be told apart, in words: the minimum detectable difference says how
    large a difference the run could have missed."""
    verdict = beats_verdict(d)
    if d is None or verdict == MISSING:
        return "not measured"
    if verdict != "unclear":
        return f"{name} is measurably {verdict} than {best}"
    missed = ("" if d.mdd is None else f": with these {questions} questions it could detect an F1 difference of "
              f"about {d.mdd:.2f} (80% power), so a smaller one would go unseen")
    return f"the run cannot tell {name} from {best}{missed}"


def read_evidence(bakeoff_dir: Path, book: PriceBook, queries_per_month: float,
                  cost_inputs: CostInputs | None = None) -> Evidence:
    results = read_results(bakeoff_dir)
    variants = results.variants
    tuned = strongest_tuned(results)
    approach = approach_variants(results)
    per_query = {a: variant_per_query(variants[n], book, results.prices.models) for a, n in approach.items()}
    ft, ftrag = approach.get("ft"), approach.get("ft+rag")
    p50 = {n: v.latency_ms.p50 for n, v in variants.items()}
    best = results.best_untrained
    facts = {"bakeoff": True, "best_untrained": best or MISSING,
             "tuned_vs_best": beats_verdict(vs_best(results, tuned)),
             "ft_vs_best": beats_verdict(vs_best(results, ft)), "ftrag_vs_best": beats_verdict(vs_best(results, ftrag)),
             "fewshot_vs_best": "same" if best == "fewshot" else beats_verdict(vs_best(results, "fewshot")),
             "rag_vs_best": "same" if best == "rag" else beats_verdict(vs_best(results, "rag")),
             "fewshot_measured": "fewshot" in variants or "fewshot+rag" in variants,
             "ft_cheaper": per_query["ft"] < per_query["rag"] if "ft" in per_query else MISSING,
             "ft_faster": p50[approach["ft"]] < p50["rag"] if "ft" in per_query else MISSING}
    # what the run cannot tell apart: against the strongest untrained variant (against RAG in older results)
    baseline, against = (best, vs_best) if best else ("rag", paired_f1)
    unclear = [n for n in variants if n != baseline and beats_verdict(against(results, n)) == "unclear"]
    facts["unclear"] = bool(unclear)
    texts = {"rag_per_1k": f"${1000 * per_query['rag']:.4f}", "rag_p50": f"{p50['rag']:,.0f} ms",
             "unclear_list": ", ".join(f"{n} vs {baseline} (F1 {comparison_text(against(results, n))})"
                                       for n in unclear)}
    if best:
        texts |= {"best_untrained": best, "best_what": PROMPTS[best], "best_f1": score(variants[best].metrics.f1),
                  "ft_vs_best": comparison_text(vs_best(results, ft)),
                  "ftrag_vs_best": comparison_text(vs_best(results, ftrag)),
                  "rag_vs_best": comparison_text(vs_best(results, "rag")),
                  "fewshot_vs_best": comparison_text(vs_best(results, "fewshot"))}
    if tuned and best:
        texts |= {"tuned": tuned, "tuned_model": variants[tuned].model,
                  "tuned_vs_best": comparison_text(vs_best(results, tuned)),
                  "tuned_apart": apart_text(vs_best(results, tuned), tuned, best, results.questions.answerable)}
    standing = standings(results, tuned)
    beat = rivals(results, tuned)
    close = [t for t in standing if t.variant in beat and t.vs_weighed != "worse"]
    facts["tuned_rival"] = rival_fact(close)
    texts["rivals"] = "; ".join(f"{t.variant} ({t.model}, F1 {t.f1}) against {tuned}: "
                                + ("not paired in this bake-off" if t.vs_weighed == MISSING
                                   else f"F1 difference {t.vs_weighed_text}") for t in close)
    if "ft" in per_query:  # otherwise the explanations read "not measured" (engine._Text)
        texts |= {"ft_p50": f"{p50[approach['ft']]:,.0f} ms", "ft_per_1k": f"${1000 * per_query['ft']:.4f}"}
    be = None
    if "ft" in per_query:
        inputs = (cost_inputs or CostInputs()).model_copy(update={"queries_per_month": queries_per_month,
                                                                  "inference_per_query": per_query})
        costs = estimate(inputs, book, ("rag", "ft"))
        be = break_even(costs["ft"], costs["rag"], inputs.months)
        facts["above_break_even"] = be.cheaper_at(queries_per_month)
        texts["break_even"] = be.threshold_text()
    else:
        facts["above_break_even"] = MISSING
    return Evidence(str(bakeoff_dir), results.created, results.questions.n, results, per_query, facts, texts, be,
                    approach, standing)
