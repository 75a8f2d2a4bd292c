"""``ragtune serve``: an OpenAI-compatible API over the project's variants, with A/B assignment, API keys,
limits, and the interaction log that feeds the next fine-tune. ``create_app`` is in app.py."""
