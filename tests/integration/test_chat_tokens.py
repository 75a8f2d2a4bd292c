"""Token counts come from the base model's own tokenizer and chat template."""

from __future__ import annotations

import pytest

from ragtune.finetune.chat_tokens import chat_counter

pytestmark = pytest.mark.integration


def test_smollm2_counts_with_its_chat_template():
    counter = chat_counter("smollm2-135m")
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    # <|im_start|>system ... default system turn, then user and assistant turns: far more than 2 words
    assert counter.count(msgs) > 10
    longer = [{"role": "user", "content": "hi " * 100}, {"role": "assistant", "content": "yo"}]
    assert counter.count(longer) - counter.count(msgs) == pytest.approx(100, abs=2)
    assert counter.context == 8192
