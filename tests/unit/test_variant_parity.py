"""What is measured is what is served: for every variant name, the messages (and stop sequences) the bake-off
sends the model equal those the server sends for a client's single user question, on the same index."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from ragtune.app.variants import BASE_SYSTEM, resolve
from ragtune.bakeoff.run import run_bakeoff
from ragtune.cost.prices import load_prices
from ragtune.errors import RagtuneError
from ragtune.evaluation.qa import Question
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.trainer import job_dir
from ragtune.generation.protocol import Completion
from ragtune.project import Project
from ragtune.rag.focus import focused
from ragtune.rag.prompts import STOP, SYSTEM, grounded_messages
from ragtune.serve.app import create_app

QUESTION = "How many times do webhooks retry failed deliveries?"
TRAINED = "Answer with ANSWER: and a number."
SHOTS = (("When are invoices emailed?", "on the first day of each month"),)


@dataclass
class Recorder:
    """Stands in for every generator: records what it is sent, answers the same each time."""

    calls: list = field(default_factory=list)

    def generate(self, messages, max_tokens=256, temperature=0.0, stop=None):
        self.calls.append((messages, list(stop or [])))
        return Completion("Eight times [1].", 20, 4)


@pytest.fixture
def served(indexed, tmp_path, monkeypatch):
    """The indexed fake project with a succeeded (faked) tuning job and two remotes, every generator recorded."""
    project, _ = indexed
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"messages": [{"role": "system", "content": TRAINED},
                                              {"role": "user", "content": "q"},
                                              {"role": "assistant", "content": "ANSWER: 8"}]}) + "\n")
    plain = tmp_path / "plain.jsonl"  # a support voice taught without a system message
    plain.write_text(json.dumps({"messages": [{"role": "user", "content": "q"},
                                              {"role": "assistant", "content": "Happy to help: 8"}]}) + "\n")
    jobs = JobStore(project.root / "jobs.db")
    made = []
    for data in (train, plain):
        job = jobs.create("smollm2-135m", str(data), "x", None, None, {})
        jobs.update(job.id, status="succeeded")
        (job_dir(project.root, job.id) / "adapter").mkdir(parents=True)
        made.append(job.id)
    data = json.loads(project.config_path.read_text())
    remote = {"generator": {"type": "scripted"}}
    data["serve"]["remotes"] = {"partner": {**remote, "rag": False}, "partner-rag": {**remote, "rag": True}}
    data["serve"]["require_key"] = False
    project.config_path.write_text(json.dumps(data))
    recorder = Recorder()
    monkeypatch.setattr(Project, "generator", lambda self, spec=None: recorder)
    return Project(project.root), made, recorder


def bakeoff_sends(project, variant, recorder, out) -> tuple[list, list]:
    recorder.calls.clear()
    run_bakeoff(project, [Question("1", QUESTION, "eight times")], [variant], out, load_prices())
    [call] = recorder.calls
    return call


def server_sends(client, name, recorder) -> tuple[list, list]:
    recorder.calls.clear()
    r = client.post("/v1/chat/completions", json={"model": name, "messages": [{"role": "user", "content": QUESTION}]})
    assert r.status_code == 200, r.text
    [call] = recorder.calls
    return call


def test_every_served_variant_is_sent_what_the_bakeoff_measured(served, tmp_path):
    project, (job, plain), recorder = served
    client = TestClient(create_app(project.root))
    names = ["base", "rag", f"ft:{job}", f"ft+rag:{job}", f"ft:{plain}", f"ft+rag:{plain}", "partner", "partner-rag"]
    for n, name in enumerate(names):
        measured = bakeoff_sends(project, resolve(project, name), recorder, tmp_path / f"bo{n}")
        assert server_sends(client, name, recorder) == measured, name

    # and they are what each variant is defined to send
    sent = {name: bakeoff_sends(project, resolve(project, name), recorder, tmp_path / f"again{n}")
            for n, name in enumerate(names)}
    assert sent["base"] == ([{"role": "system", "content": BASE_SYSTEM}, {"role": "user", "content": QUESTION}],
                            STOP)
    assert sent[f"ft:{job}"] == ([{"role": "system", "content": TRAINED}, {"role": "user", "content": QUESTION}],
                                 STOP)
    for as_sent in (f"ft:{plain}", "partner"):  # taught without rules; a pass-through remote
        assert sent[as_sent] == ([{"role": "user", "content": QUESTION}], [])
    for name, rules in (("rag", SYSTEM), (f"ft+rag:{job}", TRAINED), (f"ft+rag:{plain}", SYSTEM),
                        ("partner-rag", SYSTEM)):
        messages, stop = sent[name]
        assert messages[0] == {"role": "system", "content": rules} and stop == STOP
        assert messages[1]["content"].startswith("[1] ") and messages[1]["content"].endswith(f"Question: {QUESTION}")


def test_fewshot_sends_its_examples_and_is_not_served(served, tmp_path):
    project, _, recorder = served
    fewshot = resolve(project, "fewshot", shots=SHOTS)
    messages, stop = bakeoff_sends(project, fewshot, recorder, tmp_path / "bo")
    assert messages == [{"role": "system", "content": BASE_SYSTEM},
                        {"role": "user", "content": SHOTS[0][0]}, {"role": "assistant", "content": SHOTS[0][1]},
                        {"role": "user", "content": QUESTION}] and stop == STOP
    with pytest.raises(RagtuneError, match="needs worked examples"):
        resolve(project, "fewshot")  # a request carries no examples, so the server cannot offer it


def test_fewshot_rag_sends_worked_examples_with_their_passages_and_is_not_served(served, tmp_path):
    project, _, recorder = served
    shots = (("How many times do webhooks retry?", "eight times"), ("What is the capital of Mars?", "none"))
    variant = resolve(project, "fewshot+rag", shots=shots)
    messages, stop = bakeoff_sends(project, variant, recorder, tmp_path / "bo")
    rag, _ = bakeoff_sends(project, resolve(project, "rag"), recorder, tmp_path / "rag")
    # the rag prompt, with each example between its rules and the question: the example's own passages and
    # question, then its answer citing the first passage holding it (uncited when no passage holds it)
    assert messages[0] == rag[0] == {"role": "system", "content": SYSTEM} and messages[-1] == rag[-1]
    assert stop == STOP and [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant",
                                                             "user"]
    assert messages[1]["content"].startswith("[1] ") and messages[1]["content"].endswith(f"Question: {shots[0][0]}")
    cited = int(messages[2]["content"].removeprefix("eight times [").removesuffix("]"))
    assert "eight times" in messages[1]["content"].split(f"[{cited}]")[1].split("\n\n")[0].lower()
    assert messages[3]["content"].endswith(f"Question: {shots[1][0]}") and messages[4]["content"] == "none"
    with pytest.raises(RagtuneError, match="fewshot\\+rag variant needs worked examples"):
        resolve(project, "fewshot+rag")  # a request carries no examples, so the server cannot offer it


def test_a_client_system_message_replaces_the_variants_rules(served):
    project, (job, _), _ = served
    conversation = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": QUESTION}]
    for name in ("base", f"ft:{job}"):
        v = resolve(project, name)
        assert v.messages(conversation) == conversation and v.stop(conversation) == []


def test_passages_cut_to_a_word_budget_are_cut_alike_for_both(served, tmp_path):
    project, (job, _), recorder = served
    data = json.loads(project.config_path.read_text())
    data["answer"]["context_words"] = 3
    project.config_path.write_text(json.dumps(data))
    project = Project(project.root)
    client = TestClient(create_app(project.root))
    for n, name in enumerate(["rag", "partner-rag", f"ft+rag:{job}"]):
        variant = resolve(project, name)
        messages, _ = bakeoff_sends(project, variant, recorder, tmp_path / f"bo{n}")
        assert server_sends(client, name, recorder) == (messages, STOP), name
        hits = project.retriever.search(QUESTION, k=project.config.answer.k)
        whole = grounded_messages(QUESTION, hits, variant.system)[-1]["content"]
        if name.startswith("ft+rag"):  # a tuned model reads passages as it was trained: whole
            assert messages[-1]["content"] == whole
        else:
            assert messages[-1]["content"] == grounded_messages(QUESTION, focused(QUESTION, hits, 3))[-1]["content"]
            assert len(messages[-1]["content"]) < len(whole)
