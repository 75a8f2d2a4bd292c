"""SQuAD's answer metrics (Rajpurkar et al., 2016): normalised exact match and token F1; and two that do not
punish a right answer said in a sentence: reference recall and containment, on the same normalisation."""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize(prediction) == normalize(reference))


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def reference_recall(prediction: str, reference: str) -> float:
    """The share of the reference's normalised tokens found in the answer (counted with multiplicity, as F1
    counts its overlap): F1's recall without its precision, so extra words around the answer cost nothing."""
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    if not ref:
        return float(not pred)
    return sum((Counter(pred) & Counter(ref)).values()) / len(ref)


def containment(prediction: str, reference: str) -> float:
    """1.0 when the normalised reference occurs as a contiguous run of the normalised answer's tokens."""
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    if not ref:
        return float(not pred)
    return float(any(pred[i:i + len(ref)] == ref for i in range(len(pred) - len(ref) + 1)))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0
