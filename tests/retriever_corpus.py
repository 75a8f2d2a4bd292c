"""A BEIR-layout corpus for retriever tuning tests: document d<i> is about one word, query q<i> asks about it
and is judged against it."""

from __future__ import annotations

import json
from pathlib import Path

WORDS = ["apple", "basalt", "cobalt", "dolphin", "ember", "fjord", "glacier", "harbor", "iris", "jasper", "kelp",
         "lagoon", "marble", "nectar", "onyx", "pepper", "quartz", "raven", "saffron", "tundra", "umber", "violet",
         "walnut", "xenon", "yarrow", "zephyr", "amber", "birch", "cedar", "delta", "elm", "fern"]


def beir(folder: Path, n_docs: int = 32, n_queries: int = 32, extra_docs: dict[str, str] | None = None,
         qrels: list[tuple[str, str]] | None = None) -> tuple[Path, Path, Path]:
    """A corpus where document d<i> is about WORDS[i], query q<i> asks about it and is judged against it."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = {f"d{i}": f"The {w} report covers {w} samples. Each {w} sample was measured twice. Results for {w} "
                     f"agree with earlier {w} work." for i, w in enumerate(WORDS[:n_docs])}
    docs.update(extra_docs or {})
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": d, "title": "", "text": t}) + "\n" for d, t in docs.items()))
    queries = folder / "queries.jsonl"
    queries.write_text("".join(json.dumps({"_id": f"q{i}", "text": f"what was measured about {w}?"}) + "\n"
                               for i, w in enumerate(WORDS[:n_queries])))
    judged = qrels if qrels is not None else [(f"q{i}", f"d{i}") for i in range(n_queries)]
    rels = folder / "qrels.tsv"
    rels.write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, d in judged))
    return corpus, queries, rels
