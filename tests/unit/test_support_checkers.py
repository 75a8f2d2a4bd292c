"""The pluggable support checks, chosen in the project config and picked up by `ask`: an NLI cross-encoder
(sentence-transformers' CrossEncoder replaced by a small fake with its `predict` and `config`: none ships
offline) and an LLM judge over an OpenAI-compatible endpoint (a local fake server)."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest
import sentence_transformers
from typer.testing import CliRunner

from conftest import run_main, write_files
from fake_http import FakeServer
from ragtune.cli.app import app
from ragtune.documents.types import Chunk, Hit
from ragtune.errors import RagtuneError
from ragtune.rag.check import Outcome
from ragtune.rag.checkers import _built
from ragtune.rag.judge_check import LLMJudgeChecker
from ragtune.rag.nli_check import NLIChecker

QUESTION = "How many times is a failed webhook retried?"
DOC = "A failed webhook is retried 9 times. Backoff between attempts is exponential."
REFUSAL = "I don't know: the provided documents do not contain the answer."
runner = CliRunner()


class FakeNLI:
    """A cross-encoder's interface: ``predict`` on (premise, hypothesis) pairs gives per-label probabilities, in
    the label order of ``config.id2label``. Its one rule: a premise entails a hypothesis whose last number it
    holds."""

    loaded: ClassVar[list[str]] = []

    def __init__(self, path, device="cpu"):
        FakeNLI.loaded.append(path)
        self.config = SimpleNamespace(id2label={0: "contradiction", 1: "entailment", 2: "neutral"})
        self.pairs: list[tuple[str, str]] = []

    def predict(self, pairs, apply_softmax=False, batch_size=32):
        assert apply_softmax
        self.pairs += pairs
        entails = [hyp.split()[-1] in premise.split() for premise, hyp in pairs]
        return np.array([[0.05, 0.9, 0.05] if e else [0.6, 0.1, 0.3] for e in entails])


def cli(*args, code=0):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr, r.exception)
    return r


def project(tmp_path, reply: str, *settings: str):
    write_files(tmp_path / "docs", {"webhooks.md": DOC, "billing.md": "Invoices are emailed monthly."})
    proj = tmp_path / "proj"
    cli("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted",
        "--set", f"generator.params.script={json.dumps([reply])}", *[a for s in settings for a in ("--set", s)])
    cli("ingest", tmp_path / "docs", "-p", proj)
    return proj


def ask_json(proj) -> dict:
    return json.loads(cli("ask", QUESTION, "-p", proj, "--json").stdout)


@pytest.fixture
def nli(monkeypatch):
    monkeypatch.setattr(sentence_transformers, "CrossEncoder", FakeNLI)
    FakeNLI.loaded = []
    _built.cache_clear()  # a configured checker is built once per process: here, once per test


@pytest.mark.parametrize("reply, shown, check", [
    ("It is retried 9 [1]", "It is retried 9 [1]", "kept"),
    ("It is retried 9", "A failed webhook is retried 9 times. [1]", "replaced"),  # cites nothing
    ("It is retried 3 [1]", REFUSAL, "refused"),
])
def test_the_nli_checker_configured_in_the_project_checks_ask(tmp_path, nli, reply, shown, check):
    proj = project(tmp_path, reply, "checker.type=nli", "checker.params.model=/models/nli")
    a = ask_json(proj)
    assert (a["answer"], a["check"], a["generated"]) == (shown, check, reply)
    assert FakeNLI.loaded == ["/models/nli"]


def test_the_nli_checker_reads_sentence_pairs_and_says_why():
    hits = [Hit(Chunk("a#0", "a", 0, "Invoices are emailed monthly."), 0.5), Hit(Chunk("b#0", "b", 0, DOC), 0.9)]
    c = NLIChecker(model="/m")
    c._model = FakeNLI("/m")
    v = c.check(QUESTION, "9 [1]", hits)
    assert v.outcome is Outcome.replaced and v.shown == "A failed webhook is retried 9 times. [2]"
    assert v.reason == "the cited passage [1] does not entail it; passage [2] does"
    assert c._model.pairs == [(s, f"{QUESTION} 9") for s in ["Invoices are emailed monthly.",
                                                           "A failed webhook is retried 9 times.",
                                                           "Backoff between attempts is exponential."]]
    assert c.check(QUESTION, "9 [2]", hits).citations[0].n == 2
    refused = c.check(QUESTION, "4 [2]", hits)
    assert refused.outcome is Outcome.refused
    assert refused.reason == "the cited passage [2] does not entail it, and no passage sentence entails it (best 0.10 < 0.50)"


def test_the_nli_checker_needs_a_model_and_its_entailment_label(tmp_path, nli, monkeypatch, capsys):
    proj = project(tmp_path, "9 [1]", "checker.type=nli")
    code, _, err = run_main(monkeypatch, capsys, "ask", QUESTION, "-p", proj)
    assert code == 2 and "the nli checker needs a model: set checker.params.model" in err
    c = NLIChecker(model="/m", entailment_label="ENTAILS")
    c._model = FakeNLI("/m")
    with pytest.raises(RagtuneError, match=re.escape("has no 'ENTAILS' label; its labels: contradiction, entailment")):
        c.check(QUESTION, "9 [1]", [Hit(Chunk("b#0", "b", 0, DOC), 0.9)])


def judged(verdict: dict):
    body = {"id": "j", "object": "chat.completion", "created": 0, "model": "judge",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": f"Verdict:\n{json.dumps(verdict)}"}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}}
    return FakeServer(lambda req: (200, body, {}))


@pytest.mark.parametrize("verdict, shown, check, reason", [
    ({"supported": True, "reason": "it says 9", "passage": 1, "sentence": ""}, "It is retried 9 [1]", "kept", ""),
    ({"supported": False, "reason": "wrong number", "passage": 1, "sentence": "A failed webhook is retried 9 times."},
     "A failed webhook is retried 9 times. [1]", "replaced", "the judge: wrong number"),
    ({"supported": False, "reason": "wrong number", "passage": 1, "sentence": "Webhooks retry 9 times."},
     REFUSAL, "refused", "the judge: wrong number; its supporting sentence is not in passage [1]"),  # not verbatim
    ({"supported": False, "reason": "nothing answers it", "passage": 0, "sentence": ""},
     REFUSAL, "refused", "the judge: nothing answers it"),
])
def test_the_llm_judge_checker_configured_in_the_project_checks_ask(tmp_path, verdict, shown, check, reason):
    with judged(verdict) as srv:
        proj = project(tmp_path, "It is retried 9 [1]", "checker.type=llm-judge",
                       f"checker.params.base_url={srv.url}/v1", "checker.params.model=judge")
        a = ask_json(proj)
    assert (a["answer"], a["check"], a["reason"]) == (shown, check, reason)
    sent = srv.requests[-1].json()
    assert sent["model"] == "judge" and sent["temperature"] == 0.0
    assert sent["messages"][1]["content"].endswith(f"Question: {QUESTION}\nAnswer: It is retried 9 [1]\n"
                                                   "The answer cites: [1]")


def test_an_llm_judge_that_does_not_answer_in_json_is_an_error():
    hits = [Hit(Chunk("b#0", "b", 0, DOC), 0.9)]
    prose = {"id": "j", "object": "chat.completion", "created": 0, "model": "judge", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Looks fine to me."}}]}
    expected = re.escape("did not reply with the JSON verdict asked for: 'Looks fine to me.'")
    with FakeServer(lambda req: (200, prose, {})) as srv, pytest.raises(RagtuneError, match=expected):
        LLMJudgeChecker(base_url=f"{srv.url}/v1", max_retries=0).check(QUESTION, "9 [1]", hits)
