"""Per-module scores of the last `mutmut run`, checked against docs/mutation-testing.md.

Reads `mutmut results --all true`, counts each module's mutants by outcome and prints a Markdown
table. Survivors that the document lists by name (in backticks) under "Equivalent mutants" are
excluded from the score; those under "Accepted survivors" count as survivors with a written reason;
functions listed under "Not in scope" (in a mutated file, but not scoring: how qa.py asks) are left out.
The script exits 1 when a module kills under 90% of its non-equivalent mutants, or when a mutant
survives that the document does not explain. mutmut has no per-module summary of its own.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

THRESHOLD = 0.9
DOC = Path(__file__).resolve().parent.parent / "docs" / "mutation-testing.md"
_LINE = re.compile(r"^\s*(?P<name>\S+)__mutmut_\d+: (?P<status>.+)$")


def documented(doc: str, heading: str, pattern: str = r"`(ragtune\.[\w.ǁ]+__mutmut_\d+)`") -> set[str]:
    if f"## {heading}" not in doc:
        return set()
    section = doc.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(pattern, section))


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run([str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    doc = DOC.read_text(encoding="utf-8")
    equivalent, accepted = documented(doc, "Equivalent mutants"), documented(doc, "Accepted survivors")
    out_of_scope = documented(doc, "Not in scope", r"`(ragtune\.[\w.ǁ]+)`")
    counts: dict[str, Counter] = defaultdict(Counter)
    unexplained = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        full = line.split(":")[0].strip()
        if m["name"] in out_of_scope:
            continue
        module = m["name"].rsplit(".", 1)[0]
        status = m["status"].strip()
        if status == "survived" and full in equivalent:
            status = "equivalent"
        elif status != "killed" and not (status == "survived" and full in accepted):
            unexplained.append(f"{full}: {status}")
        counts[module][status] += 1
    if not counts:
        print("no mutants: run `mutmut run` first", file=sys.stderr)
        return 1
    failing = []
    print("| module | mutants | killed | equivalent | other survivors | score (excl. equivalent) |")
    print("|---|---:|---:|---:|---:|---:|")
    for module in sorted(counts):
        c = counts[module]
        total, killed, eq = sum(c.values()), c["killed"], c["equivalent"]
        score = killed / (total - eq) if total > eq else 1.0
        failing += [module] if score < THRESHOLD else []
        print(f"| {module} | {total} | {killed} | {eq} | {total - killed - eq} | {score:.1%} |")
    for line in unexplained[:20]:
        print(f"not killed, and not explained in {DOC.name}: {line}", file=sys.stderr)
    if len(unexplained) > 20:
        print(f"... and {len(unexplained) - 20} more (mutmut results)", file=sys.stderr)
    for module in failing:
        print(f"{module} kills under {THRESHOLD:.0%} of its mutants", file=sys.stderr)
    return 1 if failing or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
