"""The worked scenario of retraining on the fakes: a model tuned on a project that holds the Quillstack 3.x pages
goes stale when the 4.0 pages arrive. `ragtune drift` names the changed documents and the training examples
that teach a superseded passage, and advises retraining (exit 4); `ragtune retrain` rebuilds the data from the
current pages and the corrections users sent, tunes a new job, bakes it off against the served model and puts it
behind a canary; `--promote` then gives it the served model's traffic.

Tuning is faked by a backend whose "model" memorises its training data: asked a question, it gives the answer
of the most similar training question. So the stale model really answers the 3.x values and the retrained one
the 4.0 values, and the bake-off's paired comparison measures that difference."""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from conftest import make_project
from ragtune.cli.app import app
from ragtune.component import Component
from ragtune.config import ComponentSpec
from ragtune.finetune.backends import TUNE_BACKENDS, Launch
from ragtune.finetune.dataset import jaccard, read_chat_file
from ragtune.finetune.jobs import Job, JobStore
from ragtune.finetune.trainer import TuneConfig
from ragtune.generation import GENERATORS
from ragtune.generation.protocol import Completion, GeneratorBase, Message
from ragtune.project import Project
from ragtune.raft.build import RaftConfig, read_config
from ragtune.raft.format import ANSWER
from ragtune.rag.prompts import BEGIN_QUOTE, REFUSAL
from ragtune.serve.interactions import Interaction
from ragtune.serve.state import open_state

runner = CliRunner()
KB = Path(__file__).parents[2] / "src" / "ragtune" / "demo" / "kb"
DAY = 86400.0


def _question(text: str) -> str:
    return text.rpartition("Question:")[2].strip()


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


@GENERATORS.register("memorised")
@dataclass
class Memorised(GeneratorBase):
    """A "tuned model" that answers with the answer of its most similar training question (word Jaccard)."""

    train_file: str = ""

    def generate(self, messages: list[Message], max_tokens: int = 256, temperature: float = 0.0,
                 stop: list[str] | None = None) -> Completion:
        learned: dict[str, str] = {}
        for e in read_chat_file(Path(self.train_file)).examples:
            answer = e.messages[-1]["content"].rpartition(ANSWER)[2].strip()
            if REFUSAL not in answer:  # a RAFT example without its oracle teaches refusal, not a fact
                learned[_question(e.messages[-2]["content"])] = answer
        asked = _words(_question(messages[-1]["content"]))
        best = max(learned, key=lambda q: jaccard(_words(q), asked))
        text = f"{ANSWER} {learned[best]}"
        return Completion(text, 10, len(text.split()))


@dataclass
class MemorisingBackend(Component):
    """Tuning that finishes at once; the finished model is the memorising generator over the job's data."""

    ignored: ClassVar[tuple[str, ...]] = ()
    trains_here: ClassVar[bool] = False

    def check(self, cfg: TuneConfig) -> None:
        return None

    def length_tokenizer(self, base: str) -> str:
        return "words"

    def submit(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        store.update(job.id, status="succeeded", started=time.time(), finished=time.time())

    def refresh(self, store: JobStore, job: Job) -> Job:
        return store.get(job.id)

    def cancel(self, store: JobStore, job: Job) -> Job:
        return store.get(job.id)

    def resume(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        store.update(job.id, status="succeeded")

    def progress(self, project_root: Path, store: JobStore, job: Job) -> dict[str, Any]:
        return {}

    def steps(self, store: JobStore, job: Job) -> list[dict[str, Any]]:
        return []

    def adapter(self, project_root: Path, job: Job) -> Path:
        return Path(job.train_file)

    def generator_spec(self, project_root: Path, store: JobStore, job: Job) -> ComponentSpec:
        return ComponentSpec(type="memorised", params={"train_file": job.train_file})

    def describe(self, job: Job) -> str:
        return f"job {job.id} {job.status}"


@pytest.fixture
def memorising(monkeypatch):
    monkeypatch.setitem(TUNE_BACKENDS._classes, "memorising", MemorisingBackend)


# The pages as a 3.x workspace had them: the rate-limit and webhook pages at their lasting paths, the 3.x limits
# reference, the 3.x changelogs, and the (unversioned) refund policy.
PAGES_3X = {"api/rate-limits.md": "api/rate-limits-v3.md", "api/webhooks.md": "api/webhooks-v3.md",
            "admin/plan-limits.md": "admin/plan-limits-3x.md", "changelog/3.1.md": "changelog/3.1.md",
            "changelog/3.2.md": "changelog/3.2.md", "billing/refund-policy.txt": "billing/refund-policy.txt"}
# 4.0: the two pages rewritten in place, the limits reference retired, the 4.0 pages added.
PAGES_40 = {"api/rate-limits.md": "api/rate-limits.md", "api/webhooks.md": "api/webhooks.md",
            "billing/plans.md": "billing/plans.md", "changelog/4.0.md": "changelog/4.0.md",
            "api/authentication.md": "api/authentication.md", "security/audit-logs.md": "security/audit-logs.md"}

# (question, 3.x answer, 3.x page, 4.0 answer): the seven facts that change, then facts that do not
FACTS = [
    ("What is the API rate limit of the Team plan?", "300 requests per minute", "api/rate-limits.md",
     "600 requests per minute"),
    ("How many times is a failed webhook delivery retried?", "up to 3 times", "api/webhooks.md", "5 times"),
    ("How many webhook endpoints can a workspace register?", "up to 10 endpoints", "api/webhooks.md", "20"),
    ("What is the default lifetime of an API key?", "365 days", "admin/plan-limits.md", "90 days"),
    ("What is the maximum file size for uploads?", "50 MB per file", "admin/plan-limits.md", "200 MB"),
    ("How long do Business workspaces keep audit log events?", "90 days", "admin/plan-limits.md", "180 days"),
    ("How many members can a Free workspace have?", "5", "admin/plan-limits.md", "3"),
]
STEADY = [
    ("Are monthly subscriptions refundable?", "Monthly subscriptions are not refundable", "billing/refund-policy.txt"),
    ("Within how many days can an annual subscription be refunded?", "within 14 days", "billing/refund-policy.txt"),
    ("Are seats removed during an annual term refunded?", "Seats removed during an annual term are not refunded",
     "billing/refund-policy.txt"),
    ("Does the Free plan get refunds or credits?", "The Free plan has no fees and therefore no refunds or credits",
     "billing/refund-policy.txt"),
]
# held out: the same facts asked in other words (never trained on), with their current answers
REGRESSION = [
    ("What is the API rate limit on the Team plan now?", "600 requests per minute"),
    ("How many times does a failed webhook delivery get retried?", "5 times"),
    ("What is the default API key lifetime?", "90 days"),
    ("Are monthly subscriptions refundable at all?", "Monthly subscriptions are not refundable"),
]


def place(docs: Path, pages: dict[str, str]) -> None:
    for target, source in pages.items():
        (docs / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(KB / source, docs / target)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def cli(project: Path, *args: str):
    return runner.invoke(app, [*args, "-p", str(project)])


def tuned_on_3x(tmp_path: Path, *build: str) -> tuple[Path, Path, str]:
    """A project of the 3.x pages whose RAFT-tuned model (``build``: more raft build options) is served beside
    RAG: (project, docs, job id)."""
    project, docs = tmp_path / "p", tmp_path / "docs"
    p = make_project(project)
    p.config.answer.min_relevance, p.config.answer.min_coverage = -1.0, 0.0  # the fakes' gates stay out of the way
    p.config.retrain.min_questions, p.config.retrain.min_requests, p.config.retrain.min_feedback = 5, 5, 5
    p.save()
    place(docs, PAGES_3X)
    assert cli(project, "ingest", str(docs)).exit_code == 0
    qa = write_jsonl(tmp_path / "train_qa.jsonl", [{"question": q, "answer": a, "source": s}
                                                   for q, a, s, _ in FACTS] + [{"question": q, "answer": a, "source": s}
                                                                                for q, a, s in STEADY])
    raft = tmp_path / "raft.jsonl"
    r = cli(project, "raft", "build", "--qa", str(qa), "--out", str(raft), "--p-oracle", "1.0", *build, "--json")
    assert r.exit_code == 0, r.output
    r = cli(project, "tune", "start", "--backend", "memorising", "--base", "tiny", "--train", str(raft), "--json")
    assert r.exit_code == 0, r.output
    old = json.loads(r.stdout)["id"]
    p = Project(project)
    p.config.serve.variants = {"rag": 0.5, f"ft+rag:{old}": 0.5}
    p.save()
    return project, docs, old


def upgrade_to_4_0(project: Path, docs: Path, old: str) -> Path:
    """4.0 arrives (two pages rewritten, the 3.x limits reference retired, the 4.0 pages added) and the tuned
    model's users correct its 3.x answers, after weeks of approving them. Returns the regression set."""
    place(docs, PAGES_40)
    (docs / "admin" / "plan-limits.md").unlink()
    assert cli(project, "ingest", str(docs), "--prune").exit_code == 0
    now = time.time()
    log = open_state(Project(project))
    ask = lambda q: [{"role": "user", "content": f"Passages...\n\nQuestion: {q}"}]
    for i in range(20):
        q, answer = FACTS[i % 7][0], FACTS[i % 7][1]
        log.record(Interaction(f"e{i}", f"ft+rag:{old}", True, 10.0, request=[{"role": "user", "content": q}],
                               prompt=ask(q), answer=answer, created=now - 10 * DAY - i * 3600))
        log.feedback(f"e{i}", "up")
    corrections = [(q, new) for q, _, _, new in FACTS] + [(REGRESSION[0][0], REGRESSION[0][1])]
    for i, (q, new) in enumerate(corrections):
        log.record(Interaction(f"r{i}", f"ft+rag:{old}", True, 10.0, request=[{"role": "user", "content": q}],
                               prompt=ask(q), answer="stale", created=now - DAY - i * 3600))
        log.feedback(f"r{i}", "down", corrected=f"{ANSWER} {new}")
    return write_jsonl(project.parent / "regression.jsonl", [{"_id": f"r{i}", "question": q, "answer": a}
                                                             for i, (q, a) in enumerate(REGRESSION)])


def test_a_model_tuned_on_3x_pages_goes_stale_at_4_0_and_is_retrained_behind_a_canary(tmp_path, memorising):
    project, docs, old = tuned_on_3x(tmp_path)

    # nothing has changed yet, and nothing was served: fine (exit 0), with what could not be judged said
    r = cli(project, "drift", "--json")
    assert r.exit_code == 0, r.output
    (m,) = json.loads(r.stdout)["models"]
    assert m["knowledge"]["judged"] and m["knowledge"]["stale"] == [] and m["knowledge"]["examples"] == 11
    assert (m["knowledge"]["added"], m["knowledge"]["changed"], m["knowledge"]["removed"]) == ([], [], [])
    assert "no interactions logged" in m["questions"]["note"] and not m["outcomes"]["judged"]

    regression = upgrade_to_4_0(project, docs, old)

    r = cli(project, "drift", "--json")
    assert r.exit_code == 4, r.output
    report = json.loads(r.stdout)
    assert report["advised"]
    (m,) = report["models"]
    k = m["knowledge"]
    assert k["changed"] == ["docs/api/rate-limits.md", "docs/api/webhooks.md"]
    assert k["removed"] == ["docs/admin/plan-limits.md"]
    assert set(k["added"]) == {"docs/billing/plans.md", "docs/changelog/4.0.md", "docs/api/authentication.md",
                               "docs/security/audit-logs.md"}
    stale = {s["question"]: s["state"] for s in k["stale"]}
    # every changing fact's example is stale (its oracle passage says something else, or is gone); no other is
    assert set(stale) == {q for q, *_ in FACTS}
    assert {stale[q] for q, _, page, _ in FACTS if page == "admin/plan-limits.md"} == {"gone"}
    assert k["stale_share"] == pytest.approx(7 / 11) and k["advised"]
    # outcomes: 8 of 8 corrected in the latest week against 0 of 20 before
    out = m["outcomes"]["variants"][f"ft+rag:{old}"]
    assert out["judged"] and out["worse"] and out["windows"][0]["negative"]["k"] == 8
    assert out["negative_change"]["diff"] == pytest.approx(1.0) and out["negative_change"]["p_value"] < 1e-6
    q = m["questions"]
    assert q["judged"] and q["recent"] == 8 and q["training"] == 11 and 0 < q["p_value"] <= 1
    assert any("training examples teach a passage that is gone or changed" in x for x in m["reasons"])

    # the text report says the same to a person
    r = cli(project, "drift")
    assert r.exit_code == 4 and "changed: docs/api/rate-limits.md" in r.stdout and "[gone]" in r.stdout

    # the stale model still gives the 3.x value, which the 4.0 passages no longer support
    r = cli(project, "ask", "--model", f"ft:{old}", "Team plan API rate limit?")
    assert "does not hold: 300" in r.stdout

    r = cli(project, "retrain", "--regression", str(regression), "--json")
    assert r.exit_code == 0, r.output
    run = json.loads(r.stdout)
    assert run["inputs"]["served"] == f"ft+rag:{old}" and run["job"] != old
    data = run["data"]
    # 4 steady examples rebuilt, 7 stale ones dropped; 7 corrections trained on (superseding the 20 approvals of
    # 3.x answers to the same questions), the correction of a regression question held out
    assert (data["kept"], data["dropped_stale"], data["feedback"], data["superseded"], data["held_out"]) == \
        (4, 7, 7, 20, 1)
    trained = Path(data["train"]).read_text()
    assert REGRESSION[0][0] not in trained and "600 requests per minute" in trained
    taught: dict[str, list[str]] = {}
    for line in trained.splitlines():
        messages = json.loads(line)["messages"]
        taught.setdefault(_question(messages[-2]["content"]), []).append(messages[-1]["content"].rpartition(ANSWER)[2])
    assert all(taught[q] == [f" {new}"] for q, _, _, new in FACTS)  # each changed fact: its 4.0 value, only
    d = run["decision"]
    assert d["promote"] and d["diff"] > 0 and d["n"] == 4 and "goes behind a canary" in d["text"]
    new = run["job"]
    assert run["canary"]["after"] == {"rag": 0.5, f"ft+rag:{old}": pytest.approx(0.45), f"ft+rag:{new}": pytest.approx(0.05)}
    assert Project(project).config.serve.variants == run["canary"]["after"]
    results = json.loads((Path(run["bakeoff"]) / "results.json").read_text())
    assert set(results["variants"]) == {f"ft+rag:{old}", f"ft+rag:{new}"}
    assert results["variants"][f"ft+rag:{new}"]["metrics"]["f1"]["mean"] > \
        results["variants"][f"ft+rag:{old}"]["metrics"]["f1"]["mean"]

    # the retrained model answers the 4.0 value
    assert "600 requests per minute" in cli(project, "ask", "--model", f"ft:{new}", "Team plan API rate limit?").stdout

    # promote settles the canary: the retrained model takes all of the served one's traffic
    r = cli(project, "retrain", "--promote", run["id"], "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["outcome"] == "promoted"
    assert Project(project).config.serve.variants == {"rag": 0.5, f"ft+rag:{new}": pytest.approx(0.5)}
    r = cli(project, "retrain", "--rollback", run["id"])
    assert r.exit_code != 0 and "already promoted" in str(r.exception)


def test_a_retraining_run_killed_mid_way_continues_where_it_stopped(tmp_path, memorising, monkeypatch):
    import ragtune.retrain.pipeline as pipeline

    project, docs, old = tuned_on_3x(tmp_path)
    regression = upgrade_to_4_0(project, docs, old)
    real = pipeline.run_bakeoff

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_bakeoff", killed)
    r = cli(project, "retrain", "--regression", str(regression))
    assert r.exit_code == 130
    (folder,) = (project / "retrain").iterdir()
    state = json.loads((folder / "state.json").read_text())
    assert state["data"]["feedback"] == 7 and state["job"] and state["bakeoff"] is None and state["decision"] is None
    assert Project(project).config.serve.variants == {"rag": 0.5, f"ft+rag:{old}": 0.5}  # nothing served yet

    monkeypatch.setattr(pipeline, "run_bakeoff", real)
    r = cli(project, "retrain", "--regression", str(regression), "--json")
    assert r.exit_code == 0, r.output
    run = json.loads(r.stdout)
    assert run["id"] == folder.name and run["job"] == state["job"]  # the same run, the same job: not trained twice
    jobs = json.loads(cli(project, "tune", "list", "--json").stdout)
    assert sorted(j["id"] for j in jobs) == sorted([old, state["job"]])
    assert run["decision"]["promote"] and run["canary"] is not None
    assert f"continuing unfinished run {folder.name}" in r.stderr


def test_a_retrained_model_that_may_be_worse_is_not_put_behind_a_canary(tmp_path, memorising):
    project, docs, old = tuned_on_3x(tmp_path)
    upgrade_to_4_0(project, docs, old)
    # a held-out set whose references are the 3.x values: the served model is right, the retrained one is not
    stale_truth = write_jsonl(tmp_path / "old_truth.jsonl", [
        {"_id": "a", "question": "What is the API rate limit on the Team plan now?", "answer": "300 requests per minute"},
        {"_id": "b", "question": "What is the default API key lifetime?", "answer": "365 days"},
        {"_id": "c", "question": "How many times does a failed webhook delivery get retried?", "answer": "up to 3 times"}])
    r = cli(project, "retrain", "--regression", str(stale_truth), "--json")
    assert r.exit_code == 5, r.output  # finished, not promoted: a scheduler's unit fails, a person looks
    run = json.loads(r.stdout)
    d = run["decision"]
    assert not d["promote"] and d["diff"] < 0 and d["low"] < 0 and "stays served alone" in d["text"]
    assert run["canary"] is None
    assert Project(project).config.serve.variants == {"rag": 0.5, f"ft+rag:{old}": 0.5}
    r = cli(project, "retrain", "--promote", run["id"])
    assert r.exit_code != 0 and "has no canary to settle" in str(r.exception)


def test_a_run_continuing_the_adapter_then_rolled_back(tmp_path, memorising):
    project, docs, old = tuned_on_3x(tmp_path)
    regression = upgrade_to_4_0(project, docs, old)
    r = cli(project, "retrain", "--regression", str(regression), "--continue-adapter", "--json")
    assert r.exit_code == 0, r.output
    run = json.loads(r.stdout)
    # continued training starts from the served job's adapter (this fake backend's "adapter" is its data)
    new_job = json.loads(cli(project, "tune", "status", run["job"], "--json").stdout)
    old_job = json.loads(cli(project, "tune", "status", old, "--json").stdout)
    assert new_job["config"]["init_adapter"] == old_job["train_file"]
    r = cli(project, "retrain", "--rollback", run["id"], "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["outcome"] == "rolled back"
    assert Project(project).config.serve.variants == {"rag": 0.5, f"ft+rag:{old}": pytest.approx(0.5)}


def test_what_is_missing_is_said(tmp_path, monkeypatch, capsys, memorising):
    from conftest import run_main

    bare = tmp_path / "bare"
    make_project(bare)
    code, _, err = run_main(monkeypatch, capsys, "drift", "-p", bare)
    assert code == 2 and "no tuned model is served" in err and "--model ft:<job-id>" in err
    code, _, err = run_main(monkeypatch, capsys, "drift", "--model", "rag", "-p", bare)
    assert code == 2 and "'rag' is not a tuned model" in err
    code, _, err = run_main(monkeypatch, capsys, "retrain", "-p", bare)
    assert code == 2 and "no tuned model is served" in err

    project, _, old = tuned_on_3x(tmp_path)
    code, _, err = run_main(monkeypatch, capsys, "retrain", "-p", project)
    assert code == 2 and "no regression set" in err and "retrain.regression_set" in err
    code, _, err = run_main(monkeypatch, capsys, "retrain", "--promote", "nope", "-p", project)
    assert code == 2 and "no retraining run 'nope'" in err
    # traffic too thin to judge: said per part, and nothing advises retraining on it
    log = open_state(Project(project))
    log.record(Interaction("x", f"ft+rag:{old}", True, 1.0, request=[{"role": "user", "content": "hi"}]))
    code, out, _ = run_main(monkeypatch, capsys, "drift", "--json", "-p", project)
    (m,) = json.loads(out)["models"]
    assert code == 0
    assert "too few recent questions to judge: 1 logged" in m["questions"]["note"]
    assert "too little traffic to judge: 1 requests in the latest window and 0 before it" in m["outcomes"]["note"]


def test_a_job_without_a_corpus_snapshot_is_not_judged_on_knowledge(tmp_path, memorising):
    # a project without an index records no snapshot (chat data from elsewhere has nothing here to go stale)
    project = tmp_path / "p"
    make_project(project)
    rows = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                          {"role": "assistant", "content": f"{2 * i}"}]} for i in range(10)]
    train = write_jsonl(tmp_path / "chat.jsonl", rows)
    r = cli(project, "tune", "start", "--backend", "memorising", "--base", "tiny", "--train", str(train), "--json")
    job = json.loads(r.stdout)["id"]
    assert not (project / "jobs" / job / "corpus.json").exists()
    r = cli(project, "drift", "--model", f"ft:{job}", "--json")
    assert r.exit_code == 0, r.output
    (m,) = json.loads(r.stdout)["models"]
    assert not m["knowledge"]["judged"] and f"job {job} has no corpus snapshot" in m["knowledge"]["note"]
    assert not m["advised"] and m["reasons"] == []


def test_nothing_new_to_learn_trains_nothing_and_says_so(tmp_path, memorising):
    project, _, old = tuned_on_3x(tmp_path)
    regression = write_jsonl(tmp_path / "regression.jsonl", [{"_id": f"r{i}", "question": q, "answer": a}
                                                             for i, (q, a) in enumerate(REGRESSION)])
    # the pages are as they were, no new question, no feedback: a retrained model would learn what it knows
    r = cli(project, "retrain", "--regression", str(regression), "--json")
    assert r.exit_code == 6, r.output
    run = json.loads(r.stdout)
    assert run["job"] is None and run["decision"] is None and run["canary"] is None
    assert run["idle"].startswith("nothing new to learn: all 11 training questions' passages are unchanged")
    assert [j["id"] for j in json.loads(cli(project, "tune", "list", "--json").stdout)] == [old]
    assert Project(project).config.serve.variants == {"rag": 0.5, f"ft+rag:{old}": 0.5}
    r = cli(project, "retrain", "--run", run["id"])
    assert r.exit_code == 6 and "nothing new to learn" in r.stdout
    # new training questions are something to learn: the same command then trains
    qa = write_jsonl(tmp_path / "new_qa.jsonl", [{"question": "How many retries does a webhook get?",
                                                 "answer": "up to 3 times"}])
    r = cli(project, "retrain", "--regression", str(regression), "--questions", str(qa), "--json")
    assert r.exit_code in (0, 5), r.output
    assert json.loads(r.stdout)["job"] not in (None, old)


def test_traffic_without_feedback_is_not_judged_on_feedback(tmp_path, memorising):
    project, _, old = tuned_on_3x(tmp_path)
    log, now = open_state(Project(project)), time.time()
    # 10 requests a week for four weeks, none rated; the latest week refuses 9 of its 10
    for i in range(40):
        week = i // 10
        log.record(Interaction(f"x{i}", f"ft+rag:{old}", True, 1.0, request=[{"role": "user", "content": f"q{i}"}],
                               refused=week == 0 and i % 10 != 0, created=now - week * 7 * DAY - 3600))
    log.feedback("x0", "down")
    r = cli(project, "drift", "--json")
    assert r.exit_code == 4, r.output
    (m,) = json.loads(r.stdout)["models"]
    v = m["outcomes"]["variants"][f"ft+rag:{old}"]
    assert v["judged"] and v["negative_change"] is None and v["worse"]
    assert v["windows"][0]["rated"] == 1 and v["refusal_change"]["p_value"] < 0.05
    assert ("too little feedback to judge negative feedback: 1 requests rated or corrected in the latest window "
            "and 0 before it; needs 5 in each (retrain.min_feedback)") in v["note"]
    r = cli(project, "drift")
    assert "too little feedback to judge negative feedback" in r.stdout


def test_a_run_killed_while_tuning_resumes_its_job_and_never_trains_on_held_out_questions(tmp_path, memorising,
                                                                                          monkeypatch):
    project, docs, old = tuned_on_3x(tmp_path)
    regression = upgrade_to_4_0(project, docs, old)
    # new training questions, one of them a regression question word for word: it must not be trained on
    qa = write_jsonl(tmp_path / "new_qa.jsonl", [
        {"question": "How many webhook retries are there in 4.0?", "answer": "5 times"},
        {"question": REGRESSION[2][0], "answer": REGRESSION[2][1]}])
    submit = MemorisingBackend.submit

    def killed(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MemorisingBackend, "submit", killed)
    args = ("retrain", "--regression", str(regression), "--questions", str(qa), "--json")
    assert cli(project, *args).exit_code == 130
    (folder,) = (project / "retrain").iterdir()
    state = json.loads((folder / "state.json").read_text())
    assert state["job"] and state["bakeoff"] is None  # the job was recorded before it was launched
    assert json.loads(cli(project, "tune", "status", state["job"], "--json").stdout)["status"] == "queued"

    monkeypatch.setattr(MemorisingBackend, "submit", submit)
    r = cli(project, *args)
    assert r.exit_code == 0, r.output
    run = json.loads(r.stdout)
    assert run["id"] == folder.name and run["job"] == state["job"]
    assert sorted(j["id"] for j in json.loads(cli(project, "tune", "list", "--json").stdout)) == \
        sorted([old, state["job"]])
    # of the 2 new questions, the one that is a regression question is held out, as is the corrected one (2)
    assert (run["data"]["new"], run["data"]["held_out"]) == (2, 2)
    trained = Path(run["data"]["train"]).read_text()
    assert "How many webhook retries are there in 4.0?" in trained
    assert REGRESSION[2][0] not in trained and REGRESSION[0][0] not in trained


def test_retraining_builds_its_data_the_way_the_served_model_was_built(tmp_path, memorising):
    project, docs, old = tuned_on_3x(tmp_path, "--target", "answer")
    built = RaftConfig(p_oracle=1.0, target="answer")
    assert read_config(tmp_path / "raft.jsonl") == built
    r = cli(project, "retrain", "--regression", str(upgrade_to_4_0(project, docs, old)), "--json")
    assert r.exit_code in (0, 5), r.output  # promoted or not, the data was built first
    train = Path(json.loads(r.stdout)["data"]["train"])
    rebuilt = train.with_name("raft.jsonl")
    targets = [json.loads(line)["messages"][-1]["content"] for line in rebuilt.read_text().splitlines()]
    assert len(targets) == 4 and not any(BEGIN_QUOTE in t or ANSWER in t for t in targets)  # short cited answers
    assert read_config(rebuilt) == read_config(train) == built


def _taught(train: Path) -> dict[str, list[str]]:
    """Each trained question's target answers (the final answer, without its citation)."""
    taught: dict[str, list[str]] = {}
    for line in train.read_text().splitlines():
        messages = json.loads(line)["messages"]
        answer = re.sub(r"\s*\[\d+\]$", "", messages[-1]["content"].rpartition(ANSWER)[2].strip())
        taught.setdefault(_question(messages[-2]["content"]), []).append(answer)
    return taught


def _correct(project: Path, variant: str, corrections: list[tuple[str, str]], at: float) -> None:
    """Users correct the answers to ``corrections`` (question, answer), asked in the millisecond before ``at``."""
    log = open_state(Project(project))
    for i, (q, answer) in enumerate(corrections):
        log.record(Interaction(f"{variant}-{at}-{i}", variant, True, 10.0, request=[{"role": "user", "content": q}],
                               prompt=[{"role": "user", "content": f"Passages...\n\nQuestion: {q}"}],
                               answer="stale", created=at - i / 1000))
        log.feedback(f"{variant}-{at}-{i}", "down", corrected=f"{ANSWER} {answer}")


def test_a_second_retraining_keeps_what_the_lineage_taught_that_still_holds(tmp_path, memorising):
    project, docs, old = tuned_on_3x(tmp_path)
    regression = upgrade_to_4_0(project, docs, old)
    signature = ("Which header carries the webhook signature?", "X-Quillstack-Signature")  # one passage says so
    _correct(project, f"ft+rag:{old}", [signature], time.time() - DAY / 2)
    first = json.loads(cli(project, "retrain", "--regression", str(regression), "--json").stdout)
    assert first["data"]["feedback"] == 8 and first["canary"]
    assert cli(project, "retrain", "--promote", first["id"]).exit_code == 0
    # 4.1 refunds removed seats and renames the signature header: the passages of that steady example and of
    # that correction now say something else
    for page, was, now in (("billing/refund-policy.txt", "are not refunded;", "are refunded pro rata;"),
                           ("api/webhooks.md", "`X-Quillstack-Signature`", "`X-Quillstack-Signature-256`")):
        (docs / page).write_text((docs / page).read_text().replace(was, now))
    assert cli(project, "ingest", str(docs)).exit_code == 0
    # the retrained model's users correct it: the removed seats, the webhook retries again (a later correction
    # of a question the first run was corrected on), a question never trained on, and a held-out question
    corrections = [(STEADY[2][0], "Seats removed during an annual term are refunded pro rata"),
                   (FACTS[1][0], "5 times, with exponential backoff"),
                   ("How old may a webhook's timestamp be?", "at most 5 minutes"), (REGRESSION[2][0], REGRESSION[2][1])]
    _correct(project, f"ft+rag:{first['job']}", corrections, time.time())
    # the held-out set has grown by a steady question the lineage trained on: it must leave the data
    held = [*REGRESSION, (STEADY[3][0], STEADY[3][1])]
    regression = write_jsonl(tmp_path / "regression2.jsonl", [{"_id": f"h{i}", "question": q, "answer": a}
                                                              for i, (q, a) in enumerate(held)])

    r = cli(project, "retrain", "--regression", str(regression), "--json")
    assert r.exit_code in (0, 5), r.output
    second = json.loads(r.stdout)
    assert second["inputs"]["previous_job"] == first["job"]
    assert [a["job"] for a in second["data"]["lineage"]] == [first["job"], old]
    # the original still-valid examples (rebuilt from their unchanged passages), the first run's corrections,
    # the later correction in place of the earlier one, the new corrections; no held-out question, no stale one
    assert _taught(Path(second["data"]["train"])) == {
        STEADY[0][0]: [STEADY[0][1]], STEADY[1][0]: [STEADY[1][1]],
        **{q: [new] for q, _, _, new in FACTS if q != FACTS[1][0]},
        STEADY[2][0]: [corrections[0][1]], FACTS[1][0]: [corrections[1][1]], corrections[2][0]: [corrections[2][1]]}
    d = second["data"]
    # carried: 2 steady + 6 corrections; stale: the removed seats' example and the signature's correction; new
    # feedback: 3 (1 held out); superseded: the first run's webhook correction; held out: a steady and a
    # regression question
    assert (d["kept"], d["dropped_stale"], d["feedback"], d["superseded"], d["held_out"]) == (8, 2, 3, 1, 2)
    # nothing changed since: retraining that model finds nothing new (the log's answers were read already)
    r = cli(project, "retrain", "--model", f"ft+rag:{second['job']}", "--regression", str(regression), "--json")
    assert r.exit_code == 6, r.output
    third = json.loads(r.stdout)
    assert (third["data"]["kept"], third["data"]["dropped_stale"], third["data"]["feedback"]) == (11, 0, 0)
    r = cli(project, "retrain", "--run", third["id"])
    assert r.exit_code == 6 and f"lineage (jobs whose data fed it): {second['job']} <- {first['job']} <- {old}" \
        in r.stdout and "11 examples carried (0 stale dropped)" in r.stdout


def test_a_record_of_the_first_schema_still_loads(tmp_path, memorising):
    project, docs, old = tuned_on_3x(tmp_path)
    run = json.loads(cli(project, "retrain", "--regression", str(upgrade_to_4_0(project, docs, old)),
                         "--json").stdout)
    path = project / "retrain" / run["id"] / "state.json"
    record = json.loads(path.read_text())
    for field in ("lineage", "log_until"):  # what version 1 did not record
        del record["data"][field]
    path.write_text(json.dumps({**record, "schema": "ragtune.retrain/1"}))
    r = cli(project, "retrain", "--promote", run["id"], "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(path.read_text())["schema"] == "ragtune.retrain/2"
    assert json.loads(r.stdout)["outcome"] == "promoted" and json.loads(r.stdout)["data"]["lineage"] == []
