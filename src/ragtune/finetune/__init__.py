"""Fine-tuning: chat data (validate, split), and later training jobs and the tuned-model registry."""
