"""Applies the rule tables: answers -> facts -> the first matching rule, then the first matching evidence
row, caveats and next measurements. Every step is kept, so the output shows its reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ragtune.decide.answers import Answers
from ragtune.decide.evidence import MISSING, Evidence, Ship, to_ship
from ragtune.decide.rules import EVIDENCE_FACTS, PROMPT, RuleBook, load_rules, matches


@dataclass(frozen=True)
class Reason:
    question: str
    answer: str
    implies: str


@dataclass
class Decision:
    recommendation: str
    label: str
    decided_by: str
    because: str
    chain: list[Reason]
    caveats: list[str]
    measure_next: list[str]
    rules_recommendation: str
    """What the rules alone said; differs from recommendation when a measurement overrode them."""
    evidence_rule: str | None = None
    evidence_because: str | None = None
    facts: dict = field(default_factory=dict)
    evidence: Evidence | None = None
    ship: Ship | None = None
    """The measured variant and model to deploy for the recommendation; None without a bake-off."""

    @property
    def overridden(self) -> bool:
        return self.recommendation != self.rules_recommendation

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "evidence"}
        d["overridden"] = self.overridden
        d["evidence"] = self.evidence.to_dict() if self.evidence else None
        return d


class _Text(dict):
    """Format values; a measurement the explanation names but the bake-off lacks reads 'not measured'."""

    def __missing__(self, key: str) -> str:
        return "not measured"


def answer_facts(a: Answers, thresholds: dict[str, int]) -> dict:
    return {"dynamic": a.knowledge_changes_weekly, "citations": a.needs_citations, "behaviour": a.behaviour_problem,
            "ready": a.labelled_examples >= thresholds["min_examples"],
            "scale": a.latency_or_cost_pressure and a.queries_per_month >= thresholds["scale_queries_per_month"],
            "pressure": a.latency_or_cost_pressure, "iterating": a.still_iterating, "both": a.needs_both}


def _shown(value) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else f"{value:,}"


def decide(answers: Answers, evidence: Evidence | None = None, rules: RuleBook | None = None) -> Decision:
    rules = rules or load_rules()
    facts = answer_facts(answers, rules.thresholds)
    text = _Text({**answers.model_dump(), **rules.thresholds, **(evidence.texts if evidence else {})})
    chain = [Reason(Answers.model_fields[q.field].description or q.field, _shown(getattr(answers, q.field)),
                    (q.if_true if facts[q.fact] else q.if_false).format_map(text)) for q in rules.questions]
    rule = next(r for r in rules.rules if matches(r.when, facts))  # the last row matches everything
    facts |= {"recommendation": rule.recommend, "decided_by": rule.id}
    facts |= evidence.facts if evidence else {**dict.fromkeys(EVIDENCE_FACTS, MISSING), "bakeoff": False,
                                              "unclear": False, "fewshot_measured": False, "tuned_rival": "none"}
    text["months"] = evidence.break_even.months if evidence and evidence.break_even else 12
    found = next((e for e in rules.evidence if matches(e.when, facts)), None) if evidence else None
    final = rule.recommend if found is None or found.then == "keep" else found.then
    final = facts["best_untrained"] if final == PROMPT else final  # the strongest untrained variant measured
    facts["recommendation"] = final
    return Decision(
        recommendation=final, label=rules.recommendations[final], decided_by=rule.id,
        because=rule.because.format_map(text), chain=chain,
        caveats=[c.text.format_map(text) for c in rules.caveats if matches(c.when, facts)],
        measure_next=[n.text.format_map(text) for n in rules.measure_next if matches(n.when, facts)],
        rules_recommendation=rule.recommend, evidence_rule=found.id if found else None,
        evidence_because=found.because.format_map(text) if found else None, facts=facts, evidence=evidence,
        ship=to_ship(evidence, final))
