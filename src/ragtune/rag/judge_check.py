"""The LLM-judge support check: any OpenAI-compatible chat endpoint (the project's client, ``openai_endpoint``)
reads the numbered passages, the question and the answer, and says whether the passages the answer cites
support it, and which passage sentence answers the question when they do not. What it says is verified: a
supporting sentence must be copied verbatim from the passage it names, or the answer is refused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from ragtune.documents.types import Hit
from ragtune.errors import RagtuneError
from ragtune.openai_endpoint import OpenAIEndpoint
from ragtune.rag.check import CHECKERS, Outcome, SupportVerdict
from ragtune.rag.citations import citation, resolve
from ragtune.rag.prompts import format_context

JUDGE_SYSTEM = (
    "You check answers against the numbered passages they cite. Reply with one JSON object and nothing else: "
    '{"supported": true or false, "reason": "why, in one sentence", "passage": a passage number or 0, '
    '"sentence": "a sentence copied exactly from that passage, or empty"}. '
    "supported is true only when a passage the answer cites states what the answer says. When it is false, "
    "copy into sentence the one passage sentence that answers the question, with its passage number, or leave "
    "sentence empty and passage 0 when no passage answers it."
)


class JudgeReply(BaseModel):
    supported: bool
    reason: str = ""
    passage: int = 0
    sentence: str = ""


def _squash(text: str) -> str:
    return " ".join(text.split())


@CHECKERS.register("llm-judge")
@dataclass
class LLMJudgeChecker(OpenAIEndpoint):
    """A judge model over an OpenAI-compatible endpoint; greedy, so a verdict is reproducible where the
    endpoint is."""

    model: str = "gpt-4o-mini"
    """Model name the endpoint knows."""
    max_tokens: int = 200
    """Most tokens of the judge's reply (its JSON verdict)."""

    def check(self, question: str, answer: str, passages: Sequence[Hit]) -> SupportVerdict:
        cited = resolve(answer, passages)
        cites = ", ".join(f"[{c.n}]" for c in cited) or "no passage"
        user = f"{format_context(passages)}\n\nQuestion: {question}\nAnswer: {answer}\nThe answer cites: {cites}"
        try:
            r = self.client.chat.completions.create(
                model=self.model, temperature=0.0, max_tokens=self.max_tokens,
                messages=[{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}])
        except Exception as e:  # the SDK's errors all say what the server answered
            raise self.error("support judge", e) from e
        reply = _parse(r.choices[0].message.content or "")
        if reply.supported and cited:
            return SupportVerdict(Outcome.kept, citations=tuple(cited))
        why = f"the judge: {reply.reason}" if reply.reason else "the judge found it unsupported"
        if not cited:
            why = f"it cites no passage; {why}"
        if not reply.sentence.strip():
            return SupportVerdict(Outcome.refused, why)
        n = reply.passage
        if not 1 <= n <= len(passages) or _squash(reply.sentence) not in _squash(passages[n - 1].chunk.text):
            return SupportVerdict(Outcome.refused, f"{why}; its supporting sentence is not in passage [{n}]")
        return SupportVerdict(Outcome.replaced, why, (citation(n, passages[n - 1]),), reply.sentence.strip())


def _parse(content: str) -> JudgeReply:
    """The JSON object in the judge's reply (some models wrap it in a code fence or a sentence)."""
    start, end = content.find("{"), content.rfind("}")
    try:
        return JudgeReply.model_validate(json.loads(content[start:end + 1]))
    except (ValueError, ValidationError):
        raise RagtuneError(f"the support judge did not reply with the JSON verdict asked for: {content[:200]!r}") \
            from None
