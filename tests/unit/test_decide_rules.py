"""The guide's decision tree, path by path, from the rules table alone (no measurements)."""

import itertools

import pytest

from ragtune.decide.answers import Answers
from ragtune.decide.engine import decide
from ragtune.decide.rules import RuleBook, load_rules, matches


def ans(**kw) -> Answers:
    """A stable task with enough examples, no freshness, citation, behaviour or volume pressure."""
    base = dict(knowledge_changes_weekly=False, needs_citations=False, behaviour_problem=False, labelled_examples=200,
                queries_per_month=10_000, latency_or_cost_pressure=False, still_iterating=False, needs_both=False)
    return Answers(**{**base, **kw})


# One case per branch of the guide's tree (Decision Framework), plus the two few-shot branches.
PATHS = [
    ("dynamic knowledge → RAG", dict(knowledge_changes_weekly=True), "rag", "dynamic"),
    ("citations → RAG", dict(needs_citations=True), "rag", "citations"),
    ("behaviour → fine-tuning", dict(behaviour_problem=True), "ft", "behaviour"),
    ("under 50 examples → RAG, not ready", dict(labelled_examples=49), "rag", "not-ready"),
    ("latency/cost critical above 500K → fine-tuning", dict(latency_or_cost_pressure=True, queries_per_month=500_000),
     "ft", "scale"),
    ("still iterating → RAG", dict(still_iterating=True), "rag", "iterating"),
    ("stable, no gap named → RAG by the guide's default", {}, "rag", "stable-no-gap"),
    ("needs both → fine-tuned RAG", dict(needs_both=True), "ft+rag", "both-stable"),
    ("needs both, dynamic knowledge → fine-tuned RAG", dict(needs_both=True, knowledge_changes_weekly=True),
     "ft+rag", "both-stable"),
    ("needs both, still iterating → RAG for now", dict(needs_both=True, still_iterating=True), "rag",
     "both-iterating"),
    ("needs both, under 50 examples → RAG", dict(needs_both=True, labelled_examples=10), "rag", "both-not-ready"),
    ("behaviour, under 50 examples → few-shot first", dict(behaviour_problem=True, labelled_examples=10), "fewshot",
     "behaviour-not-ready"),
    ("behaviour, still iterating → few-shot first", dict(behaviour_problem=True, still_iterating=True), "fewshot",
     "behaviour-iterating"),
    ("volume above 500K but still iterating → RAG", dict(latency_or_cost_pressure=True, queries_per_month=2_000_000,
                                                        still_iterating=True), "rag", "iterating"),
    ("dynamic beats behaviour when both is not claimed", dict(knowledge_changes_weekly=True, behaviour_problem=True),
     "rag", "dynamic"),
]


@pytest.mark.parametrize("name,answers,expected,rule", PATHS, ids=[p[0] for p in PATHS])
def test_every_path_of_the_guide_tree(name, answers, expected, rule):
    d = decide(ans(**answers))
    assert (d.recommendation, d.decided_by) == (expected, rule)
    assert not d.overridden and d.evidence_rule is None
    assert d.because == next(r.because for r in load_rules().rules if r.id == rule)


def test_paths_cover_every_rule():
    assert {p[3] for p in PATHS} == {r.id for r in load_rules().rules}


@pytest.mark.parametrize("answers,expected", [
    (dict(labelled_examples=50, behaviour_problem=True), "ft"),       # 50+ is ready
    (dict(labelled_examples=49, behaviour_problem=True), "fewshot"),
    (dict(latency_or_cost_pressure=True, queries_per_month=499_999), "rag"),
    (dict(latency_or_cost_pressure=False, queries_per_month=5_000_000), "rag"),  # volume alone is not pressure
])
def test_thresholds_sit_where_the_guide_puts_them(answers, expected):
    assert decide(ans(**answers)).recommendation == expected


def _all_answers():
    bools = ("knowledge_changes_weekly", "needs_citations", "behaviour_problem", "latency_or_cost_pressure",
             "still_iterating", "needs_both")
    for values in itertools.product([False, True], repeat=len(bools)):
        for examples, volume in itertools.product([10, 200], [10_000, 1_000_000]):
            yield ans(**dict(zip(bools, values, strict=True)), labelled_examples=examples, queries_per_month=volume)


def test_every_answer_gets_a_recommendation_and_the_guide_invariants_hold():
    hit = set()
    for a in _all_answers():
        d = decide(a)
        hit.add(d.decided_by)
        assert d.recommendation in load_rules().recommendations
        assert len(d.chain) == 8
        if a.labelled_examples < 50:  # "you're not ready for fine-tuning"
            assert d.recommendation not in ("ft", "ft+rag")
            assert any("not ready to fine-tune" in c for c in d.caveats)
        if a.knowledge_changes_weekly or a.needs_citations:  # a tuned model alone can neither follow nor cite
            assert d.recommendation != "ft"
        if a.still_iterating:
            assert d.recommendation in ("rag", "fewshot")
    assert hit == {r.id for r in load_rules().rules}  # no row is dead


def test_chain_shows_each_question_answer_and_implication():
    d = decide(ans(labelled_examples=12, queries_per_month=750_000, latency_or_cost_pressure=True))
    rows = {r.question: (r.answer, r.implies) for r in d.chain}
    assert list(rows) == [f.description for f in Answers.model_fields.values()]
    examples = rows[Answers.model_fields["labelled_examples"].description]
    assert examples == ("12", "not ready to fine-tune: 12 examples is under 50, which rarely produces meaningful "
                              "improvement")
    volume = rows[Answers.model_fields["queries_per_month"].description]
    assert volume[0] == "750,000" and "above the guide's 500,000" in volume[1]


def test_caveats_follow_the_recommendation():
    ft = decide(ans(behaviour_problem=True))
    assert any(c.startswith("Catastrophic forgetting") for c in ft.caveats)
    assert any(c.startswith("Retraining") for c in ft.caveats)
    rag = decide(ans(needs_citations=True))
    assert not any(c.startswith(("Catastrophic", "Retraining")) for c in rag.caveats)
    assert any("ragtune bakeoff" in m for m in rag.measure_next)  # no bake-off yet: measure first


def test_matches_values_and_lists():
    facts = {"a": True, "b": "unclear"}
    assert matches({}, facts) and matches({"a": True, "b": ["worse", "unclear"]}, facts)
    assert not matches({"a": False}, facts) and not matches({"b": ["better"]}, facts)


def test_a_typo_in_the_table_is_rejected_when_loaded():
    data = load_rules().model_dump()
    data["rules"][0]["when"] = {"dynamc": True}
    with pytest.raises(ValueError, match="unknown fact"):
        RuleBook.model_validate(data)
    data = load_rules().model_dump()
    data["rules"].append({"id": "x", "when": {"dynamic": True}, "recommend": "rag", "because": "."})
    with pytest.raises(ValueError, match="last rule"):
        RuleBook.model_validate(data)


def test_the_chunk_size_advice_fits_the_default_embedder():
    """`decide` used to advise 500-1000-token chunks, which the default embedder (256 word pieces) would cut."""
    import json

    from typer.testing import CliRunner

    from ragtune.cli.app import app

    flags = ["--no-knowledge-changes-weekly", "--needs-citations", "--no-behaviour-problem", "--labelled-examples",
             "200", "--queries-per-month", "1000", "--no-latency-or-cost-pressure", "--no-still-iterating",
             "--no-needs-both"]
    r = CliRunner().invoke(app, ["decide", *flags, "--json"])
    assert r.exit_code == 0, r.output
    chunking = [c for c in json.loads(r.stdout)["caveats"] if "chunk" in c]
    assert len(chunking) == 1 and "256 word pieces" in chunking[0]
    assert "500-1000 tokens suit embedders with longer windows" in chunking[0]
