"""The ingest and answer pipelines."""
