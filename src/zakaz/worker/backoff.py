"""Exponential backoff with jitter (pure)."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_seconds(
    attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before try ``attempt + 1``: base * 2^(attempt-1), capped, with "equal jitter".

    Half of the delay is fixed, half random, so retries of messages that failed together spread out
    but none comes back sooner than half its step.
    """
    step = min(cap, base * 2.0 ** max(0, attempt - 1))
    return step / 2 + rand() * step / 2
