"""The recorded mini-wiki bake-off (bench/results/bakeoff_miniwiki.json) is read through the typed results,
and its README table still renders from it; a result of another schema version is refused by name."""

import importlib.util
import json
from pathlib import Path

import pytest

from ragtune.bakeoff.results import parse_results
from ragtune.errors import RagtuneError

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench_report():
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _with_later_fields(bakeoff: dict) -> dict:
    """A version-1 file as written before reference recall, containment, the minimum detectable difference, the
    Holm-adjusted p-values, the comparisons against the strongest untrained variant, the tuned models' labels,
    the LLM judge (a run without one) and the variants' retrievers."""
    empty = {"mean": None, "low": None, "high": None, "n": 0}
    out = json.loads(json.dumps(bakeoff))
    for v in out["variants"].values():
        v["retriever"] = None
        v["metrics"] = {**{k: v["metrics"][k] for k in ("exact_match", "f1")}, "reference_recall": empty,
                        "containment": empty, **v["metrics"], "judge_correct": empty, "judge_supported": empty}
    for comparison in out["paired_vs_rag"].values():
        for metric in comparison.values():
            metric["p_holm"] = None
            metric["mdd"] = None
        comparison["judge_correct"] = None
    out["best_untrained"] = None
    out["paired_vs_best_untrained"] = {}
    out["tuned_models"] = {}
    out["judge"] = None
    return out


def test_the_recorded_bakeoff_reads_through_the_models_and_the_readme_is_current():
    payload = json.loads((BENCH / "results" / "bakeoff_miniwiki.json").read_text())
    results = parse_results(payload["runs"][0]["bakeoff"], "bakeoff_miniwiki.json")
    assert results.schema_version == 1 and list(results.variants) == ["base", "fewshot", "rag", "ft", "ft+rag"]
    # nothing lost or renamed in a round trip; the fields added since read as not measured
    assert results.to_dict() == _with_later_fields(payload["runs"][0]["bakeoff"])
    assert results.variants["rag"].metrics.containment.mean is None
    assert results.paired_vs_rag["ft"].f1.mdd is None and results.paired_vs_rag["ft"].f1.p_holm is None
    assert results.best_untrained is None and results.paired_vs_best_untrained == {}
    readme = (BENCH / "README.md").read_text(encoding="utf-8")
    assert _bench_report().render(readme) == readme


def test_a_result_of_another_version_is_refused_by_name():
    payload = json.loads((BENCH / "results" / "bakeoff_miniwiki.json").read_text())
    newer = {**payload["runs"][0]["bakeoff"], "schema": "ragtune.bakeoff/3"}
    with pytest.raises(RagtuneError, match=r"^x.json: bake-off results of schema version 3; this ragtune reads "
                                           r"version 1"):
        parse_results(newer, "x.json")
    with pytest.raises(RagtuneError, match=r"^x.json: not a bake-off result"):
        parse_results(payload, "x.json")  # the benchmark's wrapper, not a bake-off result
