"""``ragtune tune eval``: the tuned model against its base on held-out chat data (loss, perplexity,
the QA evaluator's EM / F1 and refusal precision / recall on the final answers, adherence to the training
answers' fixed format) and on a small general-knowledge set, to show what fine-tuning cost elsewhere
(catastrophic forgetting)."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from importlib.resources import files
from pathlib import Path

import numpy as np

from ragtune.evaluation.answer_metrics import normalize
from ragtune.evaluation.qa import Asker, QARow, Question, reply_answer, summarize, to_row
from ragtune.finetune.dataset import Example, read_chat_file
from ragtune.generation.protocol import Generator
from ragtune.generation.transformers_lm import TransformersGenerator
from ragtune.rag.citations import is_refusal, strip_markers
from ragtune.rag.prompts import final_answer

GENERAL_KNOWLEDGE = files("ragtune") / "demo" / "finetune" / "general_knowledge.jsonl"
_KEY = re.compile(r"^(.{1,24}?:)")


def format_signature(references: list[str], share: float = 0.9) -> list[str]:
    """Line openings (up to a colon, or a whole short line) that nearly every reference answer has,
    in their usual order: the fixed format the examples teach, if they teach one."""
    counts: dict[str, int] = {}
    positions: dict[str, list[int]] = {}
    for ref in references:
        seen = set()
        for pos, line in enumerate(x.strip() for x in ref.splitlines() if x.strip()):
            m = _KEY.match(line)
            key = m.group(1) if m else (line if len(line) <= 40 else None)
            if key and key not in seen:
                seen.add(key)
                counts[key] = counts.get(key, 0) + 1
                positions.setdefault(key, []).append(pos)
    keys = [k for k, c in counts.items() if c >= share * len(references)]
    return sorted(keys, key=lambda k: np.median(positions[k]))


def follows(text: str, signature: list[str]) -> bool:
    at = 0
    for key in signature:
        at = text.find(key, at)
        if at < 0:
            return False
        at += len(key)
    return True


def completion_loss(generator: TransformersGenerator, examples: list[Example]) -> float:
    """Mean token negative log-likelihood of each final assistant turn, given everything before it,
    rendered with the chat template used in training and inference."""
    import torch

    model, tok = generator.loaded()
    total, count = 0.0, 0
    for e in examples:
        prompt = tok.apply_chat_template(e.messages[:-1], add_generation_prompt=True, tokenize=True,
                                         return_dict=False)
        full = tok.apply_chat_template(e.messages, tokenize=True, return_dict=False)
        ids = torch.tensor([full])
        labels = ids.clone()
        labels[0, :len(prompt)] = -100
        with torch.no_grad():
            loss = model(input_ids=ids, labels=labels).loss.item()
        n = int((labels != -100).sum()) - 1
        total += loss * n
        count += n
    return total / max(count, 1)


def question_of(example: Example) -> Question:
    """A held-out example as a QA question: its last user turn (after any passages), and the final answer of
    its assistant turn as the reference; a reference that refuses makes the question unanswerable, so
    refusals are scored as the bake-off scores them."""
    user = next((m["content"] for m in reversed(example.messages[:-1]) if m["role"] == "user"), "")
    reference = strip_markers(final_answer(example.messages[-1]["content"]))
    return Question(str(example.line), user.rpartition("Question:")[2].strip() or user,
                    "" if is_refusal(reference) else reference)


def _rows(generator: Generator, asked: Asker, examples: list[Example], max_tokens: int,
          progress) -> tuple[list[str], list[QARow]]:
    """Each example's reply to its own turns, put to the model as the tuned variant is served: the raw texts
    (for format adherence) and the evaluator's rows."""
    texts, rows = [], []
    for e in examples:
        conversation = e.messages[:-1]
        t = time.perf_counter()
        out = generator.generate(asked.messages(conversation), max_tokens=max_tokens, stop=asked.stop(conversation))
        texts.append(out.text.strip())
        q = question_of(e)
        rows.append(to_row(q, reply_answer(q.question, out, time.perf_counter() - t)))
        progress(1)
    return texts, rows


def _general(generator, rows: list[dict], progress) -> dict:
    answers = []
    for r in rows:
        answers.append(generator.generate([{"role": "user", "content": r["question"] + " Answer briefly."}],
                                          max_tokens=24).text)
        progress(1)
    correct = [normalize(r["answer"]) in normalize(a) for r, a in zip(rows, answers, strict=True)]
    return {"accuracy": float(np.mean(correct)), "answers": answers}


def evaluate_job(base: str, adapter: Path, data: Path, limit: int | None = None, max_tokens: int = 160,
                 general_limit: int | None = None, progress: Callable[[int], None] = lambda n: None, *,
                 answerers: Mapping[str, Generator], asked: Asker) -> dict:
    """``answerers``: the "base" and "tuned" models that answer, as the tuned variant is served (llama.cpp
    when the adapter was exported); ``asked``: that variant. Losses are scored in transformers either way."""
    cf = read_chat_file(data)
    examples = cf.examples[:limit]
    references = [e.messages[-1]["content"] for e in examples]
    signature = format_signature(references)
    general = [json.loads(x) for x in GENERAL_KNOWLEDGE.read_text().splitlines() if x.strip()][:general_limit]
    result: dict = {"data": str(data), "examples": len(examples), "format_signature": signature, "models": {}}
    for name, scorer in (("base", TransformersGenerator(base=base)),
                         ("tuned", TransformersGenerator(base=base, adapter=str(adapter)))):
        loss = completion_loss(scorer, examples)
        gen = answerers[name]
        answers, rows = _rows(gen, asked, examples, max_tokens, progress)
        scores = summarize(rows)
        result["models"][name] = {
            "loss": loss, "perplexity": math.exp(loss),
            "exact_match": scores.exact_match, "f1": scores.f1,
            "refusal_precision": scores.refusal_precision, "refusal_recall": scores.refusal_recall,
            "format_adherence": float(np.mean([follows(a, signature) for a in answers])) if signature else None,
            "general_knowledge": _general(gen, general, progress),
            "engine": type(gen).__name__,
            "answers": answers,
            "rows": [r.model_dump(mode="json") for r in rows],
        }
    b, t = result["models"]["base"], result["models"]["tuned"]
    result["forgetting"] = b["general_knowledge"]["accuracy"] - t["general_knowledge"]["accuracy"]
    return result
