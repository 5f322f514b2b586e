"""Log-in rate limiting: failed attempts per (address, e-mail) and per address in a sliding window.

Kept in process memory: with several server processes each counts on its own, so the effective limit
is multiplied by the number of processes (still far below what password guessing needs).
"""

from __future__ import annotations

import threading
import time
from collections import deque


class LoginLimiter:
    def __init__(self, *, per_account: int, per_address: int, window_seconds: float) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures.setdefault(key, deque())
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def retry_after(self, address: str, email: str) -> int:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key, limit in ((f"{address}|{email}", self.per_account), (address, self.per_address)):
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    waits.append(recent[-limit] + self.window - now)
            return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, address: str, email: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"{address}|{email}", address):
                self._recent(key, now).append(now)
            if len(self._failures) > 50_000:  # bound memory under a spray of addresses
                self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}

    def succeeded(self, address: str, email: str) -> None:
        with self._lock:
            self._failures.pop(f"{address}|{email}", None)
