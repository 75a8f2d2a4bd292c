"""The application layer: the product's own concepts (variants, jobs, the demo loop), each defined once.

The CLI and the HTTP server are thin adapters over this package; it orchestrates the pipelines
(rag, raft, finetune, evaluation) and never imports an adapter."""
