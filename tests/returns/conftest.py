"""Fixtures for the returns tests: back-office users and the one shared headless Chromium (tests/web)."""

from __future__ import annotations

from tests.web.conftest import browser, page, web_users  # noqa: F401
