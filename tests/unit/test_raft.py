"""RAFT example construction: oracle placement, the p-oracle share, distractor mining, target format,
resumable builds, question generation, and the CLI's output passing `data validate`."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from conftest import CORPUS, make_project, run_main, write_files
from ragtune.cli.app import app
from ragtune.documents.types import Chunk, Hit
from ragtune.errors import RagtuneError
from ragtune.generation.fake import ScriptedGenerator
from ragtune.raft.build import QA, RaftBuilder, RaftConfig, build, locate_oracle
from ragtune.raft.format import ANSWER, BEGIN_QUOTE, END_QUOTE, RAFT_SYSTEM
from ragtune.raft.questions import generate_questions, parse_pairs
from ragtune.rag.prompts import REFUSAL, SYSTEM, final_answer, quotes

runner = CliRunner()

# Ten chunks; the question "what colour is item 3?" is answered by chunk c3 only. The fake search
# ranks c3 first, then the others in a fixed order, like a retriever would.
CHUNKS = {f"c{i}": Chunk(f"c{i}", f"doc{i}", 0, f"Item {i} is kept in room {i}. Its colour is shade{i}.",
                         title=f"Item {i}") for i in range(10)}
RANKING = ["c3", "c7", "c1", "c8", "c2", "c9", "c0", "c4", "c5", "c6"]
QA3 = QA("What colour is item 3?", "shade3")


def search(question: str, n: int) -> list[Hit]:
    return [Hit(CHUNKS[c], 1.0 / (r + 1)) for r, c in enumerate(RANKING[:n])]


def builder(**cfg) -> RaftBuilder:
    return RaftBuilder(RaftConfig(**cfg), search, lambda ids: [CHUNKS[i] for i in ids if i in CHUNKS],
                       sorted(CHUNKS))


def passages(example: dict) -> dict[int, str]:
    user = example["messages"][1]["content"]
    return {int(n): body for n, body in re.findall(r"^\[(\d+)\] [^\n]*\n(.*?)$", user, re.MULTILINE)}


def test_oracle_is_in_the_context_and_the_target_quotes_and_cites_it():
    example, meta = builder(p_oracle=1.0, distractors=2).example(0, QA3)
    msgs = example["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"] and msgs[0]["content"] == RAFT_SYSTEM
    assert msgs[1]["content"].endswith("Question: What colour is item 3?")
    ctx = passages(example)
    assert len(ctx) == 3 and meta["with_oracle"] and meta["oracle"] == "c3"
    n = meta["context"].index("c3") + 1
    target = msgs[2]["content"]
    assert target == f"{BEGIN_QUOTE}Its colour is shade3.{END_QUOTE} [{n}]\n{ANSWER} shade3 [{n}]"
    assert quotes(target)[0] in ctx[n] and final_answer(target) == f"shade3 [{n}]"


def test_hard_distractors_are_the_best_ranked_chunks_that_do_not_answer():
    # c7 would be the first distractor, but it also holds the answer: it is another oracle, not a distractor
    CHUNKS["c7"] = Chunk("c7", "doc7", 0, "Item 3 sits beside item 7; item 3's colour is shade3.", title="Item 7")
    try:
        _, meta = builder(p_oracle=1.0, distractors=2).example(0, QA3)
    finally:
        CHUNKS["c7"] = Chunk("c7", "doc7", 0, "Item 7 is kept in room 7. Its colour is shade7.", title="Item 7")
    assert sorted(meta["context"]) == ["c1", "c3", "c8"]


def test_random_distractors_come_from_the_whole_index_and_never_the_oracle():
    contexts = [builder(p_oracle=1.0, distractors=3, distractor_source="random", seed=s).example(0, QA3)[1]["context"]
                for s in range(20)]
    assert all("c3" in c and len(c) == 4 and len(set(c)) == 4 for c in contexts)
    used = {cid for c in contexts for cid in c if cid != "c3"}
    assert used - {"c7", "c1", "c8"}  # not just the top-ranked ones


def test_without_the_oracle_the_context_keeps_its_size_and_the_target_refuses():
    example, meta = builder(p_oracle=0.0, distractors=2).example(0, QA3)
    assert not meta["with_oracle"] and "c3" not in meta["context"] and len(meta["context"]) == 3
    assert example["messages"][2]["content"] == f"{ANSWER} {REFUSAL}"
    example, _ = builder(p_oracle=0.0, target="answer").example(0, QA3)
    assert example["messages"][2]["content"] == REFUSAL


def test_answer_targets_are_the_short_answer_and_its_citation():
    example, meta = builder(p_oracle=1.0, target="answer").example(0, QA3)
    assert example["messages"][2]["content"] == f"shade3 [{meta['context'].index('c3') + 1}]"


def test_plain_data_is_the_oracle_alone_and_the_short_cited_answer_under_the_grounded_rules():
    b = RaftBuilder(RaftConfig.plain(), search, lambda ids: [CHUNKS[i] for i in ids], sorted(CHUNKS))
    examples = [b.example(i, QA3) for i in range(20)]
    assert all(meta["context"] == ["c3"] and meta["with_oracle"] for _, meta in examples)
    msgs = examples[0][0]["messages"]
    assert msgs[0]["content"] == SYSTEM and passages(examples[0][0]) == {1: CHUNKS["c3"].text}
    assert msgs[2]["content"] == "shade3 [1]"


@pytest.mark.parametrize("p", [0.0, 0.3, 0.8, 1.0])
def test_the_oracle_is_kept_in_about_p_of_examples(p):
    b = builder(p_oracle=p)
    kept = sum(b.example(i, QA3)[1]["with_oracle"] for i in range(400))
    # binomial(400, p): 4 standard deviations at most 0.1
    assert abs(kept / 400 - p) <= 0.1


def test_the_oracle_is_located_by_source_then_by_answer_text():
    hits = search("q", 10)
    assert locate_oracle(QA("q?", "shade8"), hits).chunk.chunk_id == "c8"
    assert locate_oracle(QA("q?", "shade8", source="doc2"), hits).chunk.chunk_id == "c2"
    assert locate_oracle(QA("q?", "yes"), hits).chunk.chunk_id == "c3"  # a yes/no answer names no passage


def test_bad_settings_are_refused():
    for bad in ({"target": "essay"}, {"distractor_source": "nearby"}, {"p_oracle": 1.5}, {"distractors": 0}):
        with pytest.raises(RagtuneError):
            RaftConfig(**bad)


def test_an_interrupted_build_resumes_and_matches_an_uninterrupted_one(tmp_path):
    items = [QA(f"What colour is item {i}?", f"shade{i}") for i in range(10)]
    whole = build(builder(), items, tmp_path / "whole.jsonl")
    assert whole["examples"] == 10

    class Crash(Exception):
        pass

    crashing = builder()
    original = crashing.example

    def example(index, qa):
        if index == 6:
            raise Crash
        return original(index, qa)

    crashing.example = example
    with pytest.raises(Crash):
        build(crashing, items, tmp_path / "resumed.jsonl")
    assert not (tmp_path / "resumed.jsonl").exists()  # only a complete build appears
    part = tmp_path / "resumed.jsonl.part"
    part.write_text(part.read_text() + '{"meta": {"index": 6, "trunc')  # a line torn by a kill
    report = build(builder(), items, tmp_path / "resumed.jsonl")
    assert report["resumed_after"] == 6
    assert (tmp_path / "resumed.jsonl").read_text() == (tmp_path / "whole.jsonl").read_text()
    assert (tmp_path / "resumed.meta.jsonl").read_text() == (tmp_path / "whole.meta.jsonl").read_text()


def test_generated_questions_are_filtered_and_journalled(tmp_path):
    chunk = CHUNKS["c4"]
    script = ["Question: What colour is item 4?\nAnswer: shade4\n"
              "Question: So what colour is item 4?\nAnswer: shade4\n"  # near duplicate
              "Question: Where is item 4 kept today?\nAnswer: the attic\n"  # not in the chunk
              "Question: Is shade4 the colour of item 4?\nAnswer: shade4\n"  # gives the answer away
              "Question: Which room keeps item 4?\nAnswer: room 4"]
    gen = ScriptedGenerator(script=script)
    kept, rejected = generate_questions([chunk], gen, 5, tmp_path / "q.part")
    assert [(q.question, q.answer, q.chunk_id) for q in kept] == [("What colour is item 4?", "shade4", "c4"),
                                                                  ("Which room keeps item 4?", "room 4", "c4")]
    assert rejected == {"duplicate of an earlier question": 1, "the chunk does not hold the answer": 1,
                        "the question gives its answer away": 1}
    again, _ = generate_questions([chunk], gen, 5, tmp_path / "q.part")
    assert len(gen.calls) == 1 and again == kept  # the journal answered; the model was not asked again


def test_parse_pairs_reads_several_pairs():
    assert parse_pairs("Question: A?\nAnswer: one\n\nQuestion: B?\nAnswer: two\nextra") == [("A?", "one"),
                                                                                         ("B?", "two")]


def test_cli_builds_data_that_validates(tmp_path, monkeypatch, capsys):
    project = tmp_path / "p"
    make_project(project)
    docs = write_files(tmp_path / "docs", CORPUS)
    assert runner.invoke(app, ["ingest", str(docs), "-p", str(project), "--json"]).exit_code == 0
    qa = tmp_path / "qa.jsonl"
    rows = [{"question": "How many times do webhooks retry failed deliveries?", "answer": "eight times"},
            {"question": "Who configures SAML single sign-on?", "answer": "an administrator"},
            {"question": "How fast are refunds issued?", "answer": "within five business days"},
            {"question": "When are invoices emailed?", "answer": "on the first day of each month"},
            {"question": "How many requests per minute does the API allow?", "answer": "six hundred"},
            {"question": "In what format is workspace data exported?", "answer": "a zip archive"},
            {"question": "Where is single sign-on set up?", "answer": "under security settings"},
            {"question": "Where do refunds go?", "answer": "to the original card"},
            {"question": "What backoff do webhook retries use?", "answer": "exponential backoff"},
            {"question": "Who can export workspace data?", "answer": "administrators"},
            {"question": "What is the API rate limit counted per?", "answer": "per workspace token"},
            {"question": "How long do refunds take according to billing?", "answer": "five business days"},
            {"question": "Is there a mobile app?", "answer": ""}]  # unanswerable: nothing to teach from
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "raft.jsonl"
    r = runner.invoke(app, ["raft", "build", "--qa", str(qa), "--out", str(out), "-p", str(project), "--json",
                            "--p-oracle", "1"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["examples"] == 12 and report["with_oracle"] == 12
    meta = [json.loads(x) for x in (tmp_path / "raft.meta.jsonl").read_text().splitlines()]
    assert [m["oracle"] for m in meta[:3]] == ["docs/kb/webhooks.md#0", "docs/kb/sso.md#0", "docs/kb/refunds.md#0"]
    v = runner.invoke(app, ["data", "validate", str(out), "--json"])
    assert json.loads(v.stdout)["ok"], v.stdout
    plain = tmp_path / "plain.jsonl"
    r = runner.invoke(app, ["raft", "build", "--qa", str(qa), "--out", str(plain), "-p", str(project), "--json",
                            "--plain"])
    assert r.exit_code == 0 and json.loads(r.stdout)["config"]["distractors"] == 0, r.output
    first = json.loads(plain.read_text().splitlines()[0])["messages"]
    assert first[1]["content"].startswith("[1] ") and "[2] " not in first[1]["content"]
    assert first[2]["content"] == "eight times [1]"
    code, _, err = run_main(monkeypatch, capsys, "raft", "build", "--out", out, "-p", project)
    assert code == 2 and "give either --qa QA.jsonl or --generate-questions N" in err


def test_cli_generates_questions_with_the_configured_generator(tmp_path):
    script = ["Question: How many times do webhooks retry failed deliveries?\nAnswer: eight times"]
    project = tmp_path / "p"
    from ragtune.config import ComponentSpec

    make_project(project, generator=ComponentSpec(type="scripted", params={"script": script}))
    docs = write_files(tmp_path / "docs", {"kb/webhooks.md": CORPUS["kb/webhooks.md"]})
    assert runner.invoke(app, ["ingest", str(docs), "-p", str(project), "--json"]).exit_code == 0
    out = tmp_path / "raft.jsonl"
    r = runner.invoke(app, ["raft", "build", "--generate-questions", "1", "--chunks", "5", "--out", str(out),
                            "-p", str(project), "--json", "--distractors", "1"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["questions_generated"]["kept"] == 1 and report["examples"] == 1
    example = json.loads(out.read_text())
    assert example["messages"][1]["content"].endswith("Question: How many times do webhooks retry failed "
                                                      "deliveries?")


def test_records_holding_unicode_line_separators_stay_whole(tmp_path):
    # JSON leaves U+2028 and U+0085 unescaped; Wikipedia text has them. Each must stay inside its record.
    items = [QA(f"What colour is item {i}?\u2028Really\x85?", f"shade{i}") for i in range(3)]
    assert build(builder(), items, tmp_path / "r.jsonl")["examples"] == 3
    from ragtune.finetune.dataset import read_chat_file

    assert len(read_chat_file(tmp_path / "r.jsonl").examples) == 3
