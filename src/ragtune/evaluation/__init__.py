"""Retrieval and answer metrics, and the evaluation runs that use them."""
