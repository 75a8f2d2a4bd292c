"""Loaders turn one file into documents, by file extension."""

from ragtune.documents.loaders import beir, html, markdown, pdf, text  # noqa: F401  (registers them)
from ragtune.documents.loaders.protocol import LOADERS, Loader, Problem, loader_for, unsupported_type

__all__ = ["LOADERS", "Loader", "Problem", "loader_for", "unsupported_type"]
