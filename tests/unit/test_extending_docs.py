"""docs/extending.md's worked examples, run as written: each section's Python blocks in order (they
register a component, build it from a config dict by name and use it), and the store example's own
conformance test class through pytest, as a plugin's test suite would run it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ragtune.documents.loaders import LOADERS
from ragtune.embedding import EMBEDDERS
from ragtune.generation import GENERATORS
from ragtune.retrieval.rerank import RERANKERS
from ragtune.stores import STORES

DOC = Path(__file__).parents[2] / "docs" / "extending.md"
SECTIONS = {"A store": STORES, "An embedder": EMBEDDERS, "A generator": GENERATORS, "A loader": LOADERS,
            "A re-ranker": RERANKERS}


def python_blocks(heading: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, f"docs/extending.md has no section {heading!r}"
    return re.findall(r"^```python\n(.*?)^```", section.group(1), re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("heading", sorted(SECTIONS))
def test_example_registers_builds_by_name_and_runs(heading, monkeypatch):
    registry = SECTIONS[heading]
    monkeypatch.setattr(registry, "_classes", dict(registry.classes()))  # the example's name goes away after
    before = set(registry.names())
    blocks = python_blocks(heading)
    assert blocks
    exec(compile("\n".join(blocks), f"{DOC}:{heading}", "exec"), {"__name__": "extending_example"})
    added = set(registry.names()) - before
    assert len(added) == 1, f"the {heading!r} example should register one new {registry.kind}"
    (name,) = added
    assert registry.create(name).to_dict()["type"] == name


def test_the_store_example_passes_the_conformance_suite(tmp_path):
    module = tmp_path / "test_memory_store.py"
    module.write_text("\n".join(python_blocks("A store")), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-k", "not sigkill",
                        str(module)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = r.stdout.strip().splitlines()[-1]
    skipped = re.search(r"\b(\d+) skipped\b", summary)
    assert re.search(r"\b\d{2} passed, .*1 deselected\b", summary), summary
    # only the optional keyword-search capability's tests may skip: the example store does not declare it
    reasons = [line for line in r.stdout.splitlines() if line.startswith("SKIPPED")]  # "SKIPPED [n] file: reason"
    assert sum(int(re.search(r"\[(\d+)\]", line).group(1)) for line in reasons) == \
        (int(skipped.group(1)) if skipped else 0), r.stdout[-3000:]
    assert all("does not rank keywords in its engine" in line for line in reasons), r.stdout[-3000:]
