"""Adapters that plug a ragtune index into other frameworks (optional extras: langchain, llamaindex)."""
