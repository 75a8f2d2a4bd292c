"""Charts as SVG text, so a report embeds them inline and opens offline. Every function takes plain
lists and returns the ``<svg>`` element; none keeps a figure open."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: reports are written by CLIs and servers

import matplotlib.pyplot as plt
import numpy as np

_RC: dict[str, Any] = {"svg.fonttype": "path",       # text as outlines: no font needed where the page is opened
                       "svg.hashsalt": "ragtune",     # stable element ids: the same data gives the same SVG
                       "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}
_SIZE = (6.4, 3.4)


def to_svg(fig) -> str:
    """The figure as an ``<svg>`` element (no XML prolog or metadata, so it can sit inside HTML); closes it."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]  # the stubs type rc keys as a Literal
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _styled(chart: Callable[..., str]) -> Callable[..., str]:
    """Runs a chart function under the house style, without touching the caller's matplotlib settings."""
    @functools.wraps(chart)
    def wrapper(*args, **kwargs) -> str:
        with matplotlib.rc_context(_RC):  # type: ignore[arg-type]  # the stubs type rc keys as a Literal
            return chart(*args, **kwargs)
    return wrapper


def _figure():
    return plt.subplots(figsize=_SIZE)


@_styled
def bar_chart_with_intervals(names: Sequence[str], series: dict[str, Sequence[tuple[float | None, float | None,
                             float | None]]], ylabel: str = "") -> str:
    """Grouped bars: one group per name, one bar per series, each ``(mean, low, high)`` with its interval
    as an error bar. A ``None`` mean draws no bar (the metric did not apply)."""
    fig, ax = _figure()
    x = np.arange(len(names))
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        pos = x - 0.4 + width * (i + 0.5)
        kept = [(p, m, lo, hi) for p, (m, lo, hi) in zip(pos, values, strict=True) if m is not None]
        if not kept:
            continue
        p, m, lo, hi = (np.array(c, dtype=float) for c in zip(*kept, strict=True))
        lo, hi = np.where(np.isnan(lo), m, lo), np.where(np.isnan(hi), m, hi)
        ax.bar(p, m, width, label=label)
        ax.errorbar(p, m, yerr=[m - lo, hi - m], fmt="none", ecolor="black", capsize=2, linewidth=0.8)
    ax.set_xticks(x, names)
    ax.set_ylabel(ylabel)
    if len(series) > 1:
        ax.legend(fontsize=7, ncols=min(len(series), 3), frameon=False)
    return to_svg(fig)


@_styled
def scatter(xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], xlabel: str = "",
            ylabel: str = "") -> str:
    """Points labelled by name, e.g. quality against latency per variant."""
    fig, ax = _figure()
    ax.scatter(xs, ys)
    for x, y, label in zip(xs, ys, labels, strict=True):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return to_svg(fig)


@_styled
def line_chart(x: Sequence[float], series: dict[str, Sequence[float]], xlabel: str = "", ylabel: str = "",
               log_x: bool = False, log_y: bool = False, markers: Sequence[tuple[float, str]] = ()) -> str:
    """One line per series over the same x; each marker ``(x, label)`` draws a labelled vertical line
    (e.g. a break-even volume)."""
    fig, ax = _figure()
    for label, ys in series.items():
        ax.plot(x, ys, label=label)
    for mx, label in markers:
        ax.axvline(mx, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(label, (mx, 0.97), xycoords=("data", "axes fraction"), rotation=90, va="top", ha="right",
                    fontsize=7, color="dimgrey")
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, frameon=False)
    return to_svg(fig)


@_styled
def stacked_bars(names: Sequence[str], parts: dict[str, Sequence[float]], ylabel: str = "") -> str:
    """One bar per name, stacked from the parts (e.g. cost by category per approach)."""
    fig, ax = _figure()
    bottom = np.zeros(len(names))
    for label, values in parts.items():
        v = np.asarray(values, dtype=float)
        if v.any():
            ax.bar(names, v, bottom=bottom, label=label)
        bottom += v
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, frameon=False)
    return to_svg(fig)
