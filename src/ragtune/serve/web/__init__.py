"""The web page served at / by ``ragtune serve``: server-rendered templates with htmx, over the same callers,
scopes and endpoints as the API (docs/architecture.md, "The web page")."""
