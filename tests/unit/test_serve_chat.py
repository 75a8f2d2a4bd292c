"""Streaming pieces: the optional generator capability; a grounded answer streamed once checked (its repeated
question dropped, exactly as the whole answer's), and a conversation passed through streamed as generated."""

from dataclasses import dataclass, field

from ragtune.app.variants import resolve
from ragtune.generation.fake import ScriptedGenerator
from ragtune.generation.protocol import Completion
from ragtune.rag.answer import answer
from ragtune.serve.chat import Params, Reply, complete, stream_reply

QUESTION = "How many times do webhooks retry failed deliveries?"


@dataclass
class Pieces:
    """A streaming generator that answers in the given pieces (the last carrying the usage)."""

    pieces: list[str]
    calls: list = field(default_factory=list)

    def generate(self, messages, max_tokens=256, temperature=0.0, stop=None):
        return Completion("".join(self.pieces), 10, len(self.pieces))

    def stream(self, messages, max_tokens=256, temperature=0.0, stop=None):
        self.calls.append(messages)
        for i, p in enumerate(self.pieces):
            last = i == len(self.pieces) - 1
            yield Completion(p, 10 if last else 0, len(self.pieces) if last else 0)


def test_a_generator_without_stream_yields_its_whole_completion_once():
    pieces = list(ScriptedGenerator(script=["one reply"]).stream([{"role": "user", "content": "hi"}]))
    assert [(p.text, p.completion_tokens) for p in pieces] == [("one reply", 2)]
    streaming = Pieces(["a", "b", "c"])
    assert [p.text for p in streaming.stream([{"role": "user", "content": "hi"}])] == ["a", "b", "c"]


def run(indexed, monkeypatch, pieces: list[str], name: str = "rag") -> tuple[list[str], Reply, Reply]:
    project, _ = indexed
    fake = Pieces(pieces)
    monkeypatch.setattr(project, "generator", lambda spec=None: fake)
    variant = resolve(project, name)
    messages = [{"role": "user", "content": QUESTION}]
    params = Params(max_tokens=50, temperature=0.0, stop=[])
    out = list(stream_reply(project, variant, messages, params))
    return out[:-1], out[-1], complete(project, variant, messages, params)


def test_a_grounded_answer_streams_once_checked_with_its_echo_dropped(indexed, monkeypatch):
    deltas, reply, whole = run(indexed, monkeypatch, ["Question: How many", " times do webhooks retry failed",
                                                      " deliveries?", " Eight", " times [1]."])
    assert deltas == ["Eight times [1]."] and reply.answer.text == whole.answer.text == "Eight times [1]."
    assert reply.answer.check == "kept"
    assert reply.answer.completion_tokens == 5 and reply.finish_reason == "stop"
    assert reply.prompt == whole.prompt and reply.prompt[1]["content"].endswith(f"Question: {QUESTION}")


def test_an_answer_that_is_only_the_echo_streams_the_refusal(indexed, monkeypatch):
    deltas, reply, whole = run(indexed, monkeypatch, ["Question: ", QUESTION])
    assert reply.answer.refused and deltas == [reply.answer.text] == [whole.answer.text]


def test_a_conversation_passed_through_streams_as_generated(indexed, monkeypatch):
    deltas, reply, whole = run(indexed, monkeypatch, ["Eight", " times", ""], name="base")
    assert deltas == ["Eight", " times"] and reply.answer.text == whole.answer.text == "Eight times"
    assert reply.answer.check is None and reply.answer.completion_tokens == 3


def test_whole_and_streamed_grounded_answers_match_the_pipelines_answer(indexed):
    project, _ = indexed
    variant = resolve(project, "rag")
    params = Params(max_tokens=96, temperature=0.0, stop=[])
    messages = [{"role": "user", "content": QUESTION}]
    expected = answer(QUESTION, project.retriever, project.generator(), project.config.answer)
    whole = complete(project, variant, messages, params).answer
    *deltas, reply = stream_reply(project, variant, messages, params)
    assert whole.text == expected.text == "".join(deltas) == reply.answer.text
    assert [c.chunk_id for c in whole.citations] == [c.chunk_id for c in expected.citations]
