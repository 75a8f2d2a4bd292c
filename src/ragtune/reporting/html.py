"""Markdown to one self-contained HTML page: inline CSS, figures as inline SVG, no external requests."""

from __future__ import annotations

import html as _html
import re

from markdown_it import MarkdownIt

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.5;color:#1f2328}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem}
th{background:#f6f8fa;text-align:left}code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
figure{margin:1.5rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#57606a}
"""
# Raw HTML in the Markdown is escaped: report text carries user data (questions, model names).
_MD = MarkdownIt("commonmark", {"html": False}).enable("table")


def _figure_html(name: str, svg: str) -> str:
    return f"<figure>{svg}<figcaption>{_html.escape(name)}</figcaption></figure>"


def render_html(title: str, markdown_text: str, figures: dict[str, str] | None = None) -> str:
    """A complete HTML page. A paragraph reading exactly ``[figure: NAME]`` is replaced by that figure;
    figures not placed that way follow the text, in order."""
    body = _MD.render(markdown_text)
    rest = dict(figures or {})

    def place(m: re.Match) -> str:
        name = _html.unescape(m.group(1))
        return _figure_html(name, rest.pop(name)) if name in rest else m.group(0)

    body = re.sub(r"<p>\[figure: (.+?)\]</p>", place, body)
    body += "".join(_figure_html(name, svg) for name, svg in rest.items())
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n")
