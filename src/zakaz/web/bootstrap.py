"""First start: when no back-office user exists, create an administrator and print its password once."""

from __future__ import annotations

import os
import secrets

from rich.console import Console
from sqlalchemy.engine import Engine

from zakaz.auth.roles import Role
from zakaz.db import unit_of_work
from zakaz.users import service as users

FIRST_ADMIN_EMAIL = "admin@zakaz.local"


def bootstrap(engine: Engine, *, console: Console | None = None) -> str | None:
    """Create the first admin if there are no users; returns the password (None when users exist).

    The e-mail can be chosen with ZAKAZ_WEB_ADMIN_EMAIL. The password is random and shown once; change
    it with ``zakaz user password EMAIL``.
    """
    email = os.environ.get("ZAKAZ_WEB_ADMIN_EMAIL", FIRST_ADMIN_EMAIL)
    password = secrets.token_urlsafe(12)
    with unit_of_work(engine) as session:
        if users.count_users(session):
            return None
        users.create_user(session, email=email, password=password, role=Role.admin)
    out = console or Console()
    out.print("[bold green]First start:[/bold green] a back-office administrator was created (shown once):")
    out.print(f"  e-mail:   [bold]{email}[/bold]")
    out.print(f"  password: [bold]{password}[/bold]")
    out.print("  Log in at /login and create personal accounts with `zakaz user create`.")
    return password
