"""The bake-off: one question set through every variant (base, few-shot, RAG, fine-tuned,
fine-tuned + RAG), scored side by side with confidence intervals, latency and cost."""
