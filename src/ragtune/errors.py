"""Errors a user can act on: the CLI prints their message and exits non-zero, without a traceback."""


class RagtuneError(Exception):
    """A problem with the user's input, data or configuration, described in words they can act on."""
