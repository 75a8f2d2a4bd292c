"""The import directions written in pyproject.toml ([tool.importlinter]) hold for the whole package,
imports inside functions included; a violation fails with the offending import chain."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(src: Path) -> subprocess.CompletedProcess:
    if not LINT_IMPORTS.exists():
        pytest.fail("lint-imports is missing: pip install -e '.[dev]' (import-linter)")
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"],
                          capture_output=True, text=True, env=env, cwd=src)


def test_the_package_keeps_its_layers_and_has_no_cycles():
    r = lint(ROOT / "src")
    assert r.returncode == 0, "import contracts broken:\n" + r.stdout[r.stdout.find("Broken contracts"):] + r.stderr


@pytest.mark.parametrize("module, upward, shown", [
    # a component reaching up into training, from inside a function: the generation -> finetune kind
    ("generation/fake.py", "def _up():\n    from ragtune.finetune.trainer import TuneConfig\n",
     "ragtune.generation.fake -> ragtune.finetune.trainer"),
    # one CLI command importing another
    ("cli/ask.py", "from ragtune.cli.tune import app as _tune\n", "ragtune.cli.ask -> ragtune.cli.tune"),
    # a cycle between two pipelines that may otherwise import each other
    ("rag/prompts.py", "from ragtune.raft.format import RAFT_SYSTEM\n", ".rag -> .raft"),
])
def test_an_upward_import_or_a_cycle_is_caught_with_its_chain(tmp_path, module, upward, shown):
    shutil.copytree(ROOT / "src" / "ragtune", tmp_path / "ragtune", ignore=shutil.ignore_patterns("demo", "__pycache__"))
    (tmp_path / "ragtune" / module).open("a").write("\n" + upward)
    r = lint(tmp_path)
    assert r.returncode != 0 and shown in r.stdout[r.stdout.find("Broken contracts"):]
