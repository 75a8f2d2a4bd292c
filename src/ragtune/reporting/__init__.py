"""Shared report rendering: matplotlib figures as inline SVG text, Markdown to one self-contained HTML page."""
