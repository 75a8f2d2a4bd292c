"""Fine-tuning for retrieval: training pairs from the user's judgements or the corpus, hard negatives
mined with the project's own retriever, and sentence-transformers' trainers for a bi-encoder and a
cross-encoder re-ranker, run as jobs of the same store as generator tuning."""
