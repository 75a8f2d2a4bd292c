"""Building the int8 embedder leaves the terminal alone: onnxruntime's quantiser warns on the root logger,
which used to print its advice and then let every library's log lines (bm25s's DEBUG ones) through."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = """
import logging
from ragtune.embedding.onnx_quantize import dynamic_int8
from ragtune.packaged import minilm_int8_onnx
dynamic_int8(minilm_int8_onnx())
logging.getLogger("bm25s").setLevel(logging.DEBUG)  # as bm25s does on import
logging.getLogger("bm25s").debug("Building index from IDs objects")
"""


@pytest.mark.integration
def test_quantising_prints_nothing_and_installs_no_root_handler(tmp_path):
    env = {**os.environ, "RAGTUNE_CACHE": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert list(tmp_path.glob("*dynint8*.onnx"))  # it did quantise
    assert "pre-processing" not in run.stderr and "Building index" not in run.stderr, run.stderr
