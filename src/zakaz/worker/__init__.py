"""The outbox worker: claims outbox rows, runs idempotent handlers, retries, dead-letters; periodic jobs."""
