"""The LLM judge: the exact prompt it sends (golden), reading its replies, follow-ups when a reply cannot be read,
HTTP retries against a local fake endpoint, where its key comes from, and its cache."""

from __future__ import annotations

import pytest

from fake_http import FakeServer
from ragtune.bakeoff.judge_cache import CachedJudge, JudgmentCache
from ragtune.errors import RagtuneError
from ragtune.evaluation.judge import JUDGES, Judgment
from ragtune.evaluation.judge_fake import ScriptedJudge
from ragtune.evaluation.judge_openai import OpenAIJudge, judge_key_env
from ragtune.evaluation.judge_prompt import JUDGE_PROMPT_VERSION, RUBRIC, parse_reply

QUESTION, REFERENCE = "How many times do webhooks retry?", "eight times"
PASSAGES = ["Webhooks\nWebhooks retry failed deliveries eight times.", "Refunds take five business days."]
SYSTEM = {"role": "system", "content": "You grade answers to questions. Reply with one JSON object and nothing else."}
CORRECT = ("correct: true when the answer gives the same fact as the reference answer (other wording, more detail "
           "or a whole sentence are fine); false when it contradicts the reference, misses its key fact, hedges "
           "between several answers, is empty, or declines to answer.")
SUPPORTED = ("supported: true when every claim the answer makes is stated in the passages or follows directly from "
             "them; false when any claim is not in the passages.")
GOLDEN = f"""Grade the answer.
{CORRECT}
{SUPPORTED}

Question: How many times do webhooks retry?
Reference answer: eight times
Passages:
[1] Webhooks
Webhooks retry failed deliveries eight times.
[2] Refunds take five business days.
Answer to grade: They retry eight times.

Reply with {{"correct": true|false, "supported": true|false}}."""
GOLDEN_NO_PASSAGES = f"""Grade the answer.
{CORRECT}

Question: How many times do webhooks retry?
Reference answer: eight times
Answer to grade: Twelve.

Reply with {{"correct": true|false}}."""


def test_the_exact_prompt_with_passages():
    judge = ScriptedJudge(script=['{"correct": true, "supported": true}'])
    got = judge.judge(QUESTION, REFERENCE, "They retry eight times.", PASSAGES)
    assert judge.calls == [[SYSTEM, {"role": "user", "content": GOLDEN}]]
    assert got == Judgment(correct=True, supported=True, reply='{"correct": true, "supported": true}', tries=1)
    assert JUDGE_PROMPT_VERSION == "2" and f"{CORRECT}\n{SUPPORTED}" == RUBRIC  # a new wording is a new version


def test_without_passages_support_is_neither_asked_nor_read():
    judge = ScriptedJudge(script=['{"correct": false, "supported": true}'])
    got = judge.judge(QUESTION, REFERENCE, "Twelve.", [])
    assert judge.calls == [[SYSTEM, {"role": "user", "content": GOLDEN_NO_PASSAGES}]]
    assert (got.correct, got.supported, got.parsed) == (False, None, True)


@pytest.mark.parametrize("reply, with_support, expected", [
    ('{"correct": true, "supported": false}', True, (True, False)),
    ('```json\n{"correct": false,\n "supported": true}\n```', True, (False, True)),
    ("correct: yes\nsupported: no", True, (True, False)),
    ("Correct: NO\nSupported: Yes", True, (False, True)),
    ('{"correct": "yes", "supported": "no"}', True, (True, False)),
    ("correct = true, supported = true", True, (True, True)),
    # a judge that reasons first: its verdict is the last one stated
    ("At first sight correct: yes, but the year differs.\ncorrect: no\nsupported: yes", True, (False, True)),
    ('{"correct": true}', False, (True, None)),
    ('{"correct": true, "supported": false}', False, (True, None)),  # not asked: not read
    ('{"correct": true}', True, None),  # support asked, missing
    ('{"supported": true}', True, None),
    ('{"correct": "partially", "supported": true}', True, None),
    ("The answer is correct and supported.", True, None),  # no verdict stated as a field
    ("incorrect: yes", False, None),  # another word that ends in "correct"
    ("", False, None),
])
def test_reading_replies(reply, with_support, expected):
    assert parse_reply(reply, with_support) == expected


def test_an_unreadable_reply_is_asked_again_with_the_format_then_read():
    judge = ScriptedJudge(script=["I think it is fine.", '{"correct": false, "supported": true}'])
    got = judge.judge(QUESTION, REFERENCE, "They retry eight times.", PASSAGES)
    assert (got.correct, got.supported, got.parsed, got.tries) == (False, True, True, 2)
    first = [SYSTEM, {"role": "user", "content": GOLDEN}]
    assert judge.calls == [first, [*first, {"role": "assistant", "content": "I think it is fine."},
                                   {"role": "user", "content": 'That reply could not be read. Reply with only the '
                                                               'JSON object {"correct": true|false, '
                                                               '"supported": true|false}.'}]]


def test_replies_that_never_read_are_recorded_unparsed_after_the_retries():
    judge = ScriptedJudge(script=["maybe", "perhaps", "who knows"], parse_retries=2)
    got = judge.judge(QUESTION, REFERENCE, "Twelve.", [])
    assert got == Judgment(correct=None, supported=None, parsed=False, reply="who knows", tries=3)
    assert len(judge.calls) == 3 and judge.calls[2][-1]["content"].endswith('JSON object {"correct": true|false}.')
    assert ScriptedJudge(script=["no"], parse_retries=0).judge(QUESTION, REFERENCE, "x", []).tries == 1


def test_the_scripted_judge_without_a_script_judges_by_rule():
    judge = ScriptedJudge()
    right = judge.judge(QUESTION, REFERENCE, "They retry eight times.", PASSAGES)
    assert (right.correct, right.supported) == (True, False)  # "they" is in no passage
    quoted = judge.judge(QUESTION, REFERENCE, "Webhooks retry eight times.", PASSAGES)
    assert (quoted.correct, quoted.supported) == (True, True)
    assert judge.judge(QUESTION, REFERENCE, "", PASSAGES).model_dump(include={"correct", "supported"}) == \
        {"correct": False, "supported": False}
    assert judge.judge(QUESTION, REFERENCE, "Nine times.", []).correct is False
    assert JUDGES.get("scripted") is ScriptedJudge and JUDGES.get("openai") is OpenAIJudge


CHAT = {"id": "c1", "object": "chat.completion", "created": 0, "model": "judge-m",
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def reply(content: str):
    return 200, {**CHAT, "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}]}, {}


def in_turn(*replies):
    """Replies in order; the last one repeats."""
    left = list(replies)
    return lambda req: left.pop(0) if len(left) > 1 else left[0]


def test_an_endpoint_sends_garbage_then_valid_json():
    with FakeServer(in_turn(reply("Sure! The answer looks good"), reply('{"correct": true, "supported": true}'))) as srv:
        judge = OpenAIJudge(base_url=srv.url + "/v1", model="judge-m")
        got = judge.judge(QUESTION, REFERENCE, "They retry eight times.", PASSAGES)
    assert (got.correct, got.supported, got.tries) == (True, True, 2)
    first, second = (r.json() for r in srv.requests)
    assert first["model"] == "judge-m" and first["temperature"] == 0.0
    assert first["messages"] == [SYSTEM, {"role": "user", "content": GOLDEN}]
    assert second["messages"][2] == {"role": "assistant", "content": "Sure! The answer looks good"}
    assert first["response_format"] == {"type": "json_schema", "json_schema": {"name": "judgment", "strict": True, "schema": {
        "type": "object", "properties": {"correct": {"type": "boolean"}, "supported": {"type": "boolean"}},
        "required": ["correct", "supported"], "additionalProperties": False}}}


def test_an_endpoint_without_structured_output_is_sent_none():
    with FakeServer(in_turn(reply("correct: no"))) as srv:
        got = OpenAIJudge(base_url=srv.url + "/v1", model="m", json_schema=False).judge(QUESTION, REFERENCE, "x", [])
    assert got.correct is False and "response_format" not in srv.requests[0].json()


def test_a_5xx_is_retried_with_backoff_then_the_judgment_is_read():
    failed = (500, {"error": {"message": "overloaded"}}, {})
    with FakeServer(in_turn(failed, reply('{"correct": false}'))) as srv:
        got = OpenAIJudge(base_url=srv.url + "/v1", model="m", max_retries=2).judge(QUESTION, REFERENCE, "x", [])
    assert got.correct is False and got.tries == 1 and len(srv.requests) == 2


def test_an_endpoint_that_keeps_failing_is_a_clear_error():
    with FakeServer(in_turn((500, {"error": {"message": "model crashed"}}, {}))) as srv:
        judge = OpenAIJudge(base_url=srv.url + "/v1", model="m", max_retries=1)
        with pytest.raises(RagtuneError) as e:
            judge.judge(QUESTION, REFERENCE, "x", [])
    assert str(e.value) == f"judge endpoint {srv.url}/v1 answered HTTP 500 (after 1 retries): model crashed"
    assert len(srv.requests) == 2


def test_the_key_is_the_judges_own_else_openais(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.delenv("RAGTUNE_JUDGE_API_KEY", raising=False)
    assert judge_key_env() == "OPENAI_API_KEY"
    monkeypatch.setenv("RAGTUNE_JUDGE_API_KEY", "sk-judge")
    assert judge_key_env() == "RAGTUNE_JUDGE_API_KEY"
    with FakeServer(in_turn(reply('{"correct": true}'))) as srv:
        OpenAIJudge(base_url=srv.url + "/v1", model="m", api_key_env=judge_key_env()).judge(QUESTION, REFERENCE, "x", [])
    assert srv.requests[0].headers["authorization"] == "Bearer sk-judge"


def test_judgments_are_cached_by_model_prompt_version_and_everything_shown(tmp_path, monkeypatch):
    inner = ScriptedJudge(script=["garbage"], parse_retries=1)
    judge = CachedJudge(inner, "judge-m", JudgmentCache(tmp_path / "cache.db"))
    first = judge.judge(QUESTION, REFERENCE, "x", PASSAGES)
    assert not judge.hit and not first.parsed and len(inner.calls) == 2
    again = CachedJudge(inner, "judge-m", JudgmentCache(tmp_path / "cache.db"))  # a re-run: another process
    assert again.judge(QUESTION, REFERENCE, "x", PASSAGES) == first and again.hit and len(inner.calls) == 2
    for changed in ((QUESTION + "?", REFERENCE, "x", PASSAGES), (QUESTION, "nine", "x", PASSAGES),
                    (QUESTION, REFERENCE, "y", PASSAGES), (QUESTION, REFERENCE, "x", PASSAGES[:1])):
        again.judge(*changed)
        assert not again.hit
    CachedJudge(inner, "other-judge", JudgmentCache(tmp_path / "cache.db")).judge(QUESTION, REFERENCE, "x", PASSAGES)
    assert len(inner.calls) == 2 * 6
    key = JudgmentCache.key("m", QUESTION, REFERENCE, "x", PASSAGES)
    monkeypatch.setattr("ragtune.bakeoff.judge_cache.JUDGE_PROMPT_VERSION", JUDGE_PROMPT_VERSION + "-next")
    assert JudgmentCache.key("m", QUESTION, REFERENCE, "x", PASSAGES) != key  # another prompt, another judgment
