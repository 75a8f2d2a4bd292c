"""The project as the server sees it: config.json is re-read when its modification time changes, so the A/B
weights, limits and variants change without a restart. A config that does not validate is refused and the
running one kept; components (embedder, store, models) are rebuilt only when their own settings changed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from ragtune.errors import RagtuneError
from ragtune.file_stamp import file_stamp
from ragtune.project import Project

log = logging.getLogger("ragtune.serve")


class LiveProject:
    def __init__(self, root: Path, check: Callable[[Project], None] = lambda p: None):
        self.root = Path(root)
        self.check = check
        self.project = Project(self.root)
        check(self.project)  # at start a bad config is an error, not a warning
        self._stamp = file_stamp(self.root / "config.json")
        self._lock = threading.Lock()
        self.version = 0
        """Bumped on every accepted reload; caches keyed by it go stale with the config."""

    def current(self) -> Project:
        stamp = file_stamp(self.root / "config.json")
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._stamp = stamp
                    if stamp is not None:  # a deleted config.json is a mistake to survive, not defaults to adopt
                        self._reload()
        return self.project

    def _reload(self) -> None:
        candidate = Project(self.root)
        try:
            new = candidate.config
            self.check(candidate)
        except RagtuneError as e:
            log.warning("config change ignored, still serving the previous one: %s", e)
            return
        old = self.project.config
        if new.model_dump(exclude={"serve"}) == old.model_dump(exclude={"serve"}):
            self.project._config = new  # only serving settings changed: keep the loaded components
        else:
            self.project = candidate
        self.version += 1
        log.info("config reloaded (version %d)", self.version)
