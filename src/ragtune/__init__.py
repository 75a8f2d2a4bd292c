"""ragtune: RAG or fine-tuning? Measured on your own data, then built and served."""

__version__ = "0.1.0"
