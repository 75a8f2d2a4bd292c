"""Passages cut to a word budget before the model reads them (rag.focus), against outcomes worked out by hand:
the question's stemmed content words are {iron, tower, pari, built}; passage 1's sentences share 1, 4 and 0 of
them and hold 4, 9 and 2 words; passage 2's share 1 and 1 and hold 5 and 5 (25 words in all)."""

from __future__ import annotations

import pytest

from conftest import make_project
from ragtune.app.variants import resolve
from ragtune.config import AnswerConfig, ComponentSpec
from ragtune.documents.types import Chunk, Hit
from ragtune.generation.fake import ScriptedGenerator
from ragtune.rag.answer import LEXICAL, answer
from ragtune.rag.focus import LOCAL_WORDS, focused
from ragtune.rag.prompts import grounded_user

CFG = AnswerConfig(k=4)

QUESTION = "When was the iron tower in Paris built?"
HITS = [Hit(Chunk("a:0", "a", 0, "The tower is tall. Paris has a tower of iron built in 1889. Cats sleep.", "Towers"), 0.9),
        Hit(Chunk("b:0", "b", 0, "Iron melts at 1538 degrees.\nBerlin has a tower too.", "Metals"), 0.5, {"dense": 0.5})]


def texts(hits: list[Hit]) -> list[str]:
    return [h.chunk.text for h in hits]


@pytest.mark.parametrize("budget", [None, 25, 100])
def test_passages_within_the_budget_are_given_whole(budget):
    assert focused(QUESTION, HITS, budget) == HITS


def test_a_passage_that_fits_exactly_keeps_its_layout():
    hits = [Hit(Chunk("c:0", "c", 0, "The iron tower.\n\n  Built in 1889."), 1.0)]
    assert focused(QUESTION, hits, 6) == hits
    assert texts(focused(QUESTION, hits, 5)) == ["The iron tower."]


@pytest.mark.parametrize("budget, expected", [
    # each passage keeps its best sentence (14 words); then the next best while they fit: "The tower is tall."
    # (18), not "Berlin has a tower too." (23), then "Cats sleep." (20)
    (20, ["The tower is tall. Paris has a tower of iron built in 1889. Cats sleep.", "Iron melts at 1538 degrees."]),
    (19, ["The tower is tall. Paris has a tower of iron built in 1889.", "Iron melts at 1538 degrees."]),
    # below one sentence a passage, each keeps its best; of passage 2's equals, the first
    (10, ["Paris has a tower of iron built in 1889.", "Iron melts at 1538 degrees."]),
    # "Berlin has a tower too." fits at 23 words, and then "Cats sleep." does not
    (24, ["The tower is tall. Paris has a tower of iron built in 1889.",
          "Iron melts at 1538 degrees.\nBerlin has a tower too."]),
])
def test_past_the_budget_each_passage_keeps_the_sentences_nearest_the_question(budget, expected):
    assert texts(focused(QUESTION, HITS, budget)) == expected


def test_a_kept_sentence_stays_on_its_own_line():
    hits = [Hit(Chunk("c:0", "c", 0, "Towers\nThe iron tower in Paris was built in 1889.\nIt is tall. It is grey."), 1.0)]
    assert texts(focused(QUESTION, hits, 9)) == ["The iron tower in Paris was built in 1889."]
    assert texts(focused(QUESTION, hits, 10)) == ["Towers\nThe iron tower in Paris was built in 1889."]
    assert texts(focused(QUESTION, hits, 13)) == ["Towers\nThe iron tower in Paris was built in 1889.\nIt is tall."]


def test_only_the_text_changes():
    cut = focused(QUESTION, HITS, 10)
    assert [(h.chunk.chunk_id, h.chunk.title, h.score, h.scores) for h in cut] == \
           [(h.chunk.chunk_id, h.chunk.title, h.score, h.scores) for h in HITS]
    assert texts(HITS)[0].startswith("The tower is tall.")  # the retrieved hits are not changed in place


def test_the_word_budget_holds_for_the_packaged_model_unless_the_config_says_otherwise(tmp_path):
    local = make_project(tmp_path / "local", generator=ComponentSpec(type="llamacpp"))
    assert resolve(local, "rag").context_words == LOCAL_WORDS
    assert resolve(local, "fewshot+rag", shots=(("q", "a"),)).context_words == LOCAL_WORDS
    assert resolve(local, "base").context_words is None  # no passages
    reader = make_project(tmp_path / "reader", generator=ComponentSpec(type="llamacpp"),
                          answer=AnswerConfig(reader=True))
    assert resolve(reader, "rag").context_words is None  # asked as it was trained: whole passages
    fake = make_project(tmp_path / "fake")
    assert resolve(fake, "rag").context_words is None  # not the packaged SmolLM2
    assert resolve(fake, "rag", model="smollm2-135m").context_words == LOCAL_WORDS
    assert resolve(fake, "rag", model="qwen2.5-coder-0.5b").context_words is None  # another local model
    assert resolve(fake, "rag", model="m", base_url="http://x/v1").context_words is None  # an endpoint's model
    for words, expected in ((0, None), (40, 40)):
        for generator in ("llamacpp", "scripted"):
            p = make_project(tmp_path / f"{words}-{generator}", generator=ComponentSpec(type=generator),
                             answer=AnswerConfig(context_words=words))
            assert resolve(p, "rag").context_words == expected


def test_the_model_reads_the_cut_passages_and_the_answer_is_checked_against_whole_ones(indexed):
    p, _ = indexed
    question = "When are invoices emailed?"
    checked = []

    class Recording:
        def check(self, question, answer_text, passages):
            checked.append(list(passages))
            return LEXICAL.check(question, answer_text, passages)

    whole = p.retriever.search(question, k=CFG.k)
    gen = ScriptedGenerator(script=["on the first day of each month [1]"])
    a = answer(question, p.retriever, gen, CFG, checker=Recording(), context_words=1)
    (messages,) = gen.calls
    billing = next(h for h in whole if h.chunk.doc_id == "kb/billing.md")
    assert billing.chunk.text == "Invoices are emailed on the first day of each month. Refunds take five business days."
    assert "[1] Billing\nInvoices are emailed on the first day of each month.\n\n[2]" in messages[-1]["content"]
    assert messages[-1]["content"] == grounded_user(question, focused(question, whole, 1))
    assert checked == [whole] and a.contexts == whole and a.supported is True
