"""Options and helpers that several commands share, so that no command module imports another."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ragtune.cli.common import out, styled
from ragtune.errors import RagtuneError
from ragtune.rag.answer import Answer

ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="smollm2-135m (default), qwen2.5-coder-0.5b, a GGUF path, or with --base-url "
                          "the endpoint's model name")]
BaseUrlOpt = Annotated[str | None, typer.Option(
    "--base-url", envvar="RAGTUNE_BASE_URL", help="OpenAI-compatible endpoint (key from OPENAI_API_KEY)")]


def print_answer(a: Answer) -> None:
    """The answer, marked when it was refused or no cited passage supports it, then its citations."""
    label, style = ("A (refused):", "bold yellow") if a.refused else \
        ("A (unsupported):", "bold yellow") if a.supported is False else ("A:", "bold green")
    out.print(styled("Q:", "bold", a.question))
    out.print(styled(label, style, a.text))
    if a.reason:
        out.print(Text(f"   ({a.reason})", style="dim"))
    for c in a.citations:
        note = " (inferred from overlap)" if c.inferred else ""
        out.print(f"   [{c.n}] {c.doc_id} · chunk {c.chunk_index} · {c.title}{note}")


FilterOpt = Annotated[list[str] | None, typer.Option(
    "--filter", "-f", help="metadata filter applied inside the search: key=value, key!=value, "
                           "'key in a,b', key>=2026-01-01 (repeatable; all must hold)")]


def require_index(p) -> None:
    if p.index_spec() is None:
        raise RagtuneError(f"no index in {p.root}; run 'ragtune ingest PATH' first")
