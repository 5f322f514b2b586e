"""Flash messages: stored on the browser's session row, shown (and removed) by the next full page.

Messages are stored untranslated (a catalogue msgid plus arguments) and translated when shown, so a
language switch in between still shows them in the new language.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from zakaz.db import unit_of_work
from zakaz.users import service as users
from zakaz.users.service import SessionUser


def _engine(request: Request) -> Any:
    return request.app.state.ctx.engine


def flash(request: Request, user: SessionUser, level: str, text: str, **args: Any) -> None:
    """Queue ``text`` (marked with ``N_``; ``%(name)s`` placeholders filled from ``args``)."""
    with unit_of_work(_engine(request)) as session:
        users.push_flash(session, user.session_id, {"level": level, "text": text, "args": args})


def flash_text(request: Request, user: SessionUser, level: str, translated: str) -> None:
    """Queue a message that is already translated (e.g. built from several catalogue entries)."""
    with unit_of_work(_engine(request)) as session:
        users.push_flash(session, user.session_id, {"level": level, "raw": translated})


def now(request: Request, level: str, text: str, **args: Any) -> None:
    """Show ``text`` on the page rendered by this very request."""
    pending = list(getattr(request.state, "flash", None) or [])
    request.state.flash = [*pending, {"level": level, "text": text, "args": args}]


def clear(request: Request, user: SessionUser) -> None:
    with unit_of_work(_engine(request)) as session:
        users.take_flash(session, user.session_id)
