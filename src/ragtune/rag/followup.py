"""A follow-up question made standalone before retrieval. "And on the Business plan?" retrieves nothing useful
on its own: the passages it needs are about what the conversation was asking. The rule is a fixed one, so a
conversation always retrieves the same way and the logged prompt shows what was asked:

the last user message is a follow-up when an earlier user message exists and it
  - opens with a connective ("and", "but", "also", "or", "what about", "how about", "same for"), or
  - refers back with a pronoun ("it", "they", "them", "its", "their", "that one", "those", ...), or
  - has at most ``SHORT`` content words (ragtune's stop words left out: "and the refund?").
A follow-up is asked as the topic question (the most recent earlier user message that is not itself a
follow-up) followed by the follow-up, so a chain of follow-ups keeps naming the topic without growing.
Any other message is asked as written. Not a model's rewrite: it cannot drop what the follow-up replaces
("the Pro plan" stays beside "the Business plan"), which retrieval tolerates and the model reads as context."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragtune.errors import RagtuneError
from ragtune.generation.protocol import Message
from ragtune.rag.citations import content_words

SHORT = 2
OPENERS = ("and", "but", "also", "or", "what about", "how about", "same for", "same with")
PRONOUNS = {"it", "its", "they", "them", "their", "theirs", "those", "these", "he", "she", "him", "her", "his",
            "one", "ones"}
_WORDS = re.compile(r"[a-z']+")


def is_follow_up(text: str) -> bool:
    """Whether a message leans on an earlier one (see the module's rule)."""
    words = _WORDS.findall(text.lower())
    opening = " ".join(words[:2])
    return (any(opening == o or opening.startswith(o + " ") for o in OPENERS)
            or any(w in PRONOUNS for w in words) or len(content_words(text)) <= SHORT)


def standalone(conversation: Sequence[Message]) -> str:
    """The question to retrieve for and answer: the last user message, joined to its topic question when it
    is a follow-up (a RagtuneError when there is no user message)."""
    asked = [m["content"] for m in conversation if m["role"] == "user" and m["content"].strip()]
    if not asked:
        raise RagtuneError("the messages hold no user message to answer")
    last = asked[-1]
    if len(asked) == 1 or not is_follow_up(last):
        return last
    topic = next((q for q in reversed(asked[:-1]) if not is_follow_up(q)), asked[0])
    return f"{topic.strip()} {last.strip()}"
