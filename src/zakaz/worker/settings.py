"""Worker settings from ``ZAKAZ_WORKER_*`` environment variables."""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_WORKER_", env_file=".env", extra="ignore")

    batch_size: int = 50
    #: A claimed row becomes claimable again this long after the claim (a crashed worker's rows return).
    lease_seconds: float = 60.0
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 3600.0
    poll_interval_seconds: float = 0.5
    delayed_check_seconds: float = 60.0
    purge_interval_seconds: float = 3600.0
    #: Done outbox rows older than this are deleted by the purge job.
    keep_done_days: int = 7


@cache
def get_worker_settings() -> WorkerSettings:
    return WorkerSettings()
