"""What every OpenAI-compatible backend shares: where the endpoint is, where its key comes from,
and the official client built lazily from them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ragtune.component import Component


@dataclass
class OpenAIEndpoint(Component):
    base_url: str = ""
    """Endpoint base URL, e.g. http://127.0.0.1:8080/v1; empty means OPENAI_BASE_URL or OpenAI."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the key (the key itself is never saved in config)."""
    timeout: float = 120.0
    """Seconds before a request is abandoned."""
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def client(self):
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(base_url=self.base_url or None, timeout=self.timeout,
                                  api_key=os.environ.get(self.api_key_env) or "not-needed")
        return self._client
