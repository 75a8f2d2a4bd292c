"""Dense, BM25 and hybrid retrieval, with an optional re-ranker after it."""
