"""RAFT (Zhang et al., 2024): training data that teaches a model to answer from the right passage
among distractors, quoting it, and to refuse when no passage holds the answer."""
