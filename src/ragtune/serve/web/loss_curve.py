"""A job's loss curve as inline SVG, drawn from the losses its steps logged. Written out rather than with
matplotlib (which the reports use): the page redraws it every few seconds while a job runs, and a polyline
per series is all it needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 600, 240, 40
SERIES = (("loss", "training loss", "#0b57d0"), ("eval_loss", "validation loss", "#a50e0e"))


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    points: list[tuple[float, float]]
    """SVG coordinates, left to right."""


@dataclass(frozen=True)
class Curve:
    lines: list[Line]
    steps: tuple[int, int]
    losses: tuple[float, float]
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def curve(steps: Sequence[dict]) -> Curve | None:
    """The plotted lines for a job's logged steps (each a dict with ``step`` and ``loss``/``eval_loss``, either
    may be None); None when no loss was logged yet. Steps map linearly to x, losses to y (higher loss
    higher up), both onto the frame inside the padding."""
    values = [(s["step"], s[key]) for s in steps for key, _, _ in SERIES if s.get(key) is not None]
    if not values:
        return None
    first, last = min(v[0] for v in values), max(v[0] for v in values)
    low, high = min(v[1] for v in values), max(v[1] for v in values)

    def x(step: float) -> float:
        return PAD + (step - first) / ((last - first) or 1) * (WIDTH - 2 * PAD)

    def y(loss: float) -> float:
        return HEIGHT - PAD - (loss - low) / ((high - low) or 1) * (HEIGHT - 2 * PAD)

    lines = [Line(label, colour, [(round(x(s["step"]), 1), round(y(s[key]), 1)) for s in steps if s.get(key) is not None])
             for key, label, colour in SERIES]
    return Curve([line for line in lines if line.points], (first, last), (low, high))
