"""What the hosted fine-tuning backends share: upload the chat files, create the provider's job, keep
the local job row in step with it, and serve the finished model through the provider's
OpenAI-compatible chat endpoint (the ``openai`` generator). Each provider supplies the few calls
its official SDK names differently."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ragtune.component import Component
from ragtune.config import ComponentSpec
from ragtune.errors import RagtuneError
from ragtune.finetune.backends.protocol import Launch
from ragtune.finetune.jobs import TERMINAL, Job, JobStore
from ragtune.finetune.trainer import TuneConfig
from ragtune.openai_endpoint import server_words


@dataclass
class Remote:
    """A provider's job, reduced to what the local row keeps."""

    id: str
    status: str  # the provider's own word
    model: str | None = None
    error: str | None = None


@dataclass
class HostedBackend(Component):
    base_url: str = ""
    """API base URL; empty means the SDK's default (or its *_BASE_URL environment variable)."""

    provider: ClassVar[str] = ""
    api_key_env: ClassVar[str] = ""
    chat_url: ClassVar[str] = ""  # where the provider serves tuned models; empty: the OpenAI SDK default
    statuses: ClassVar[dict[str, str]] = {}  # provider status -> ragtune status
    ignored: ClassVar[tuple[str, ...]] = ()  # TuneConfig fields the provider has no setting for
    trains_here: ClassVar[bool] = False
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def client(self):
        if self._client is None:
            self._client = self._make_client()
        return self._client

    # --- what each provider implements with its official SDK ---
    def _make_client(self):
        raise NotImplementedError

    def _upload(self, path: Path) -> str:
        raise NotImplementedError

    def _create(self, job: Job, cfg: TuneConfig, train_id: str, val_id: str | None) -> Remote:
        raise NotImplementedError

    def _retrieve(self, provider_id: str) -> Remote:
        raise NotImplementedError

    def _cancel(self, provider_id: str) -> None:
        raise NotImplementedError

    def _events(self, provider_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    # --- the shared flow ---
    def check(self, cfg: TuneConfig) -> None:
        """Refuse settings the provider cannot honour, before anything is created or uploaded."""
        if cfg.init_adapter:
            raise RagtuneError(f"{self.provider} fine-tuning cannot continue a local LoRA adapter; train from the base")
        if cfg.max_steps > 0 or cfg.epochs != int(cfg.epochs):
            raise RagtuneError(f"{self.provider} fine-tuning counts whole epochs; use --epochs N, not --max-steps "
                               "or a fraction")

    def length_tokenizer(self, base: str) -> str:
        return "words"  # the provider's tokenizer is not here: words stand in for tokens (it re-checks)

    def submit(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        cfg = TuneConfig(**job.config)
        try:
            self.check(cfg)
            train = self._call("upload the training file", self._upload, Path(job.train_file))
            val = self._call("upload the validation file", self._upload, Path(job.val_file)) if job.val_file else None
            remote = self._call("create the job", self._create, job, cfg, train, val)
        except RagtuneError as e:
            store.update(job.id, status="failed", finished=time.time(), error=str(e))
            raise
        store.update(job.id, provider_job_id=remote.id, started=time.time())
        self._record(store, job.id, remote)

    def refresh(self, store: JobStore, job: Job) -> Job:
        """The job row, brought up to date with the provider's view of it."""
        if job.provider_job_id and job.status not in TERMINAL:
            self._record(store, job.id, self._call("read the job", self._retrieve, job.provider_job_id))
        return store.get(job.id)

    def cancel(self, store: JobStore, job: Job) -> Job:
        if job.provider_job_id is None:  # never reached the provider
            store.update(job.id, status="cancelled", finished=time.time())
        else:
            self._call("cancel the job", self._cancel, job.provider_job_id)
        return self.refresh(store, store.get(job.id))

    def events(self, job: Job) -> list[dict[str, Any]]:
        """The provider's log of the job, oldest first: {created, level, message}."""
        if job.provider_job_id is None:
            return []
        return self._call("read the job's events", self._events, job.provider_job_id)

    def progress(self, project_root: Path, store: JobStore, job: Job) -> dict[str, Any]:
        return {"events": self.events(job)}

    def resume(self, project_root: Path, store: JobStore, job: Job, launch: Launch = Launch()) -> None:
        raise self._local_only(job, "resumed")

    def run_here(self, project_root: Path, store: JobStore, job: Job) -> None:
        raise self._local_only(job, "trained here")

    def steps(self, store: JobStore, job: Job) -> list[dict[str, Any]]:
        raise self._local_only(job, "followed step by step")

    def adapter(self, project_root: Path, job: Job) -> Path:
        raise self._local_only(job, "evaluated here")

    def generator_spec(self, project_root: Path, store: JobStore, job: Job) -> ComponentSpec:
        """The finished model as an ``openai`` generator on the provider's chat endpoint."""
        job = self.refresh(store, job)
        if job.status != "succeeded" or not job.provider_model:
            raise RagtuneError(f"{job.model_name} is not usable yet: job {job.id} is {job.status} on {job.backend}"
                               + (f" ({job.error})" if job.error else ""))
        return ComponentSpec(type="openai", params={"model": job.provider_model,
                                                    "base_url": self.base_url or self.chat_url,
                                                    "api_key_env": self.api_key_env})

    def describe(self, job: Job) -> str:
        return (f"job {job.id} {job.status} on {job.backend} as {job.provider_job_id}; "
                f"'ragtune tune status {job.id}' follows it, then use it as --model {job.model_name}")

    @staticmethod
    def _local_only(job: Job, action: str) -> RagtuneError:
        return RagtuneError(f"job {job.id} trains on {job.backend}; only a local job can be {action} "
                            f"('ragtune tune status {job.id}' shows the provider's view of it)")

    def _record(self, store: JobStore, job_id: str, remote: Remote) -> None:
        status = self.statuses.get(remote.status)
        if status is None:
            raise RagtuneError(f"{self.provider} reported job {remote.id} as {remote.status!r}, which ragtune "
                               "does not know; nothing was changed")
        fields: dict[str, Any] = {"status": status, "provider_model": remote.model, "error": remote.error}
        if status in TERMINAL:
            fields["finished"] = time.time()
        store.update(job_id, **fields)

    def _call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except RagtuneError:
            raise
        except Exception as e:  # both SDKs raise APIStatusError (status_code, body) / APIConnectionError
            status = getattr(e, "status_code", None)
            said = f"HTTP {status}: {server_words(e)}" if status else f"{type(e).__name__}: {e}"
            raise RagtuneError(f"{self.provider} fine-tuning API could not {what} ({said})") from e

