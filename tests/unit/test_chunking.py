import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from ragtune.chunking.fixed import FixedChunker
from ragtune.chunking.sections import sections, split_section
from ragtune.chunking.sentence import SentenceChunker
from ragtune.chunking.token import TokenChunker, token_windows
from ragtune.chunking.tokenizer import get_counter
from ragtune.documents.types import Document
from ragtune.errors import RagtuneError

SCIFACT = Path(__file__).parents[2].parent / "shared/data" / "scifact" / "corpus.jsonl"
MINILM_LIMIT = 256  # all-MiniLM-L6-v2 reads at most 256 word pieces, [CLS] and [SEP] included

# Sentences with unique markers, so coverage can be checked without the chunker's own segmenter.
SENTENCES = [f"Sentence number {i} says that item{i} weighs {i * 7} grams and is kept in the {c} box."
             for i, c in zip(range(40), ["red", "green", "blue", "black", "white"] * 8, strict=True)]
DOC = Document("doc", " ".join(SENTENCES), source="/x/doc.txt", title="Inventory notes",
               metadata={"team": "ops"})


def _ws_words(text: str) -> int:
    return len(text.split())


# --- sentence chunker ---------------------------------------------------------------------------

def test_sentence_chunker_ids_metadata_and_no_empty_chunks():
    chunks = SentenceChunker(max_tokens=60, tokenizer="whitespace").split(DOC)
    assert len(chunks) > 3
    assert [c.chunk_id for c in chunks] == [f"doc#{i}" for i in range(len(chunks))]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text.strip() and c.doc_id == "doc" and c.title == "Inventory notes"
        assert c.metadata == {"team": "ops", "source": "/x/doc.txt"}


def test_sentence_chunker_covers_every_sentence_and_respects_budget():
    chunker = SentenceChunker(max_tokens=60, overlap_sentences=0, tokenizer="whitespace")
    chunks = chunker.split(DOC)
    for s in SENTENCES:
        assert any(s in c.text for c in chunks), s
    for c in chunks:
        assert _ws_words(c.indexed_text) <= 60
    # without overlap each sentence is in exactly one chunk, in order
    joined = " ".join(c.text for c in chunks)
    assert joined == " ".join(SENTENCES)


def test_sentence_chunker_overlap_repeats_the_last_sentence():
    chunks = SentenceChunker(max_tokens=60, overlap_sentences=1, tokenizer="whitespace").split(DOC)
    assert len(chunks) > 3
    for prev, nxt in pairwise(chunks):
        last = [s for s in SENTENCES if s in prev.text][-1]
        assert nxt.text.startswith(last)
    for s in SENTENCES:
        assert any(s in c.text for c in chunks)


def test_sentence_chunker_keeps_paragraphs_apart():
    doc = Document("d", "Heading one\n\nFirst paragraph text here.", source="s")
    chunker = SentenceChunker(max_tokens=100, tokenizer="whitespace")
    assert chunker.sentences(doc.text) == ["Heading one", "First paragraph text here."]


def test_short_document_is_one_chunk():
    doc = Document("short.txt", "Just one line.", source="s", title="t")
    for chunker in (SentenceChunker(), TokenChunker(), FixedChunker()):
        chunks = chunker.split(doc)
        assert [c.text for c in chunks] == ["Just one line."]
        assert chunks[0].chunk_id == "short.txt#0"


@pytest.mark.parametrize("cls, kwargs", [
    (SentenceChunker, {"max_tokens": 4}), (SentenceChunker, {"overlap_sentences": -1}),
    (TokenChunker, {"max_tokens": 4}), (TokenChunker, {"max_tokens": 100, "overlap": 50}),
    (TokenChunker, {"overlap": -1}),
    (FixedChunker, {"size": 10}), (FixedChunker, {"size": 100, "overlap": 50}),
])
def test_bad_parameters(cls, kwargs):
    with pytest.raises(RagtuneError):
        cls(**kwargs)


def test_unknown_tokenizer():
    with pytest.raises(RagtuneError, match="unknown tokenizer"):
        SentenceChunker(tokenizer="nope").split(DOC)


# --- token chunker ------------------------------------------------------------------------------

def test_token_windows_step_and_overlap():
    text = " ".join(f"w{i}" for i in range(10))
    windows = token_windows(text, get_counter("whitespace").offsets(text), 4, 1)
    assert windows == ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]
    assert token_windows("   ", [], 4, 1) == []


def test_token_chunker_overlap_and_coverage():
    words = [f"w{i}" for i in range(100)]
    doc = Document("t", " ".join(words), source="s", title="T")  # title costs 1 + 1 tokens of budget
    chunks = TokenChunker(max_tokens=22, overlap=5, tokenizer="whitespace").split(doc)
    pieces = [c.text.split() for c in chunks]
    assert all(len(p) == 20 for p in pieces[:-1])
    for a, b in pairwise(pieces):
        assert a[-5:] == b[:5]
    # every word is covered, in order, once the overlaps are removed
    assert pieces[0] + [w for p in pieces[1:] for w in p[5:]] == words
    assert [c.chunk_id for c in chunks] == [f"t#{i}" for i in range(len(chunks))]


# --- fixed chunker ------------------------------------------------------------------------------

def test_fixed_chunker_sizes_overlap_and_coverage():
    text = " ".join(SENTENCES)
    doc = Document("f", text, source="s")
    chunks = FixedChunker(size=200, overlap=40).split(doc)
    assert len(chunks) > 5
    assert all(c.text and len(c.text) <= 200 for c in chunks)
    # consecutive chunks share text, and every word position of the text is inside some chunk
    pos = 0
    for c in chunks:
        start = text.find(c.text, max(0, pos - 200))
        assert start != -1 and start <= pos, "chunk is not a contiguous slice continuing the previous"
        pos = start + len(c.text)
    assert pos == len(text)
    for a, b in pairwise(chunks):
        assert a.text[-10:] in b.text or b.text[:10] in a.text
    # chunks end on word boundaries when one is available
    for c in chunks[:-1]:
        assert text[text.find(c.text) + len(c.text)] == " "


def test_fixed_chunker_without_spaces_still_progresses():
    doc = Document("f", "x" * 1000, source="s")
    chunks = FixedChunker(size=100, overlap=10).split(doc)
    assert all(len(c.text) == 100 for c in chunks[:-1])
    assert "".join(c.text[10:] if i else c.text for i, c in enumerate(chunks)) == "x" * 1000


# --- the real tokenizer limit -------------------------------------------------------------------

def _word_pieces(text: str) -> int:
    """Independent count: the tokenizer with its post-processor, i.e. what the embedder reads."""
    from tokenizers import Tokenizer

    from ragtune.packaged import minilm_dir

    tok = _word_pieces.tok = getattr(_word_pieces, "tok", None) or Tokenizer.from_file(
        str(minilm_dir() / "tokenizer.json"))
    tok.no_truncation()
    return len(tok.encode(text, add_special_tokens=True).ids)


@pytest.mark.skipif(not SCIFACT.exists(), reason=f"shared data not found at {SCIFACT}")
@pytest.mark.parametrize("chunker", [SentenceChunker(), TokenChunker()], ids=["sentence", "token"])
def test_default_chunkers_fit_minilm_on_real_text(chunker):
    docs = []
    with SCIFACT.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(Document(row["_id"], row["text"], source="scifact", title=row["title"]))
            if len(docs) == 300:
                break
    longest = 0
    n_chunks = 0
    multi = 0
    for doc in docs:
        chunks = chunker.split(doc)
        assert chunks, doc.doc_id
        multi += len(chunks) > 1
        n_chunks += len(chunks)
        for c in chunks:
            n = _word_pieces(c.indexed_text)
            longest = max(longest, n)
            assert n <= MINILM_LIMIT, f"{c.chunk_id} has {n} word pieces"
    assert multi > 10  # the data really exercises splitting
    assert longest > 150  # and the chunks really use the budget


def test_one_huge_sentence_is_cut_not_truncated():
    words = [f"alpha{i}" for i in range(1000)]
    doc = Document("huge", " ".join(words) + ".", source="s", title="A very long sentence")
    for chunker in (SentenceChunker(), TokenChunker(overlap=0)):
        chunks = chunker.split(doc)
        assert len(chunks) >= 5
        for c in chunks:
            assert _word_pieces(c.indexed_text) <= MINILM_LIMIT
        # nothing is lost or repeated: the chunks put back together are the sentence (bar spaces)
        assert re.sub(r"\s", "", "".join(c.text for c in chunks)) == re.sub(r"\s", "", doc.text)


def test_sections_cut_at_breaks_and_number_chunks_across_them():
    text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(40))
    parts = list(sections(text, 1000))
    assert "".join(parts) == text and all(len(p) <= 1000 for p in parts) and len(parts) > 5
    assert all(p.startswith("\n\nParagraph") for p in parts[1:])  # cut at paragraph breaks only
    assert list(sections("x" * 2500, 1000)) == ["x" * 1000, "x" * 1000, "x" * 500]  # no break: hard cuts
    assert list(sections(text, len(text))) == [text]
    chunker = TokenChunker(max_tokens=16, overlap=0, tokenizer="whitespace")
    doc = Document(doc_id="d", text=text, source="d.txt")
    chunks = []
    for part in parts:
        chunks += split_section(chunker, doc, part, len(chunks))
    assert [c.chunk_id for c in chunks] == [f"d#{i}" for i in range(len(chunks))]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert " ".join(c.text for c in chunks).split() == text.split()
