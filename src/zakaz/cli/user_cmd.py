"""``zakaz user``: back-office accounts (create, list, password, role, enable/disable)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zakaz.auth.roles import Role
from zakaz.cli.common import console, engine, friendly_errors
from zakaz.db import unit_of_work
from zakaz.users import service as users

app = typer.Typer(help="Back-office users (people who log in to the web UI).", no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="the user's e-mail (their login)")]


def _password(given: str | None) -> str:
    if given is not None:
        return given
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command("create")
def create(
    email: Email,
    role: Annotated[Role, typer.Option(help="admin, operator, warehouse, support or readonly")],
    password: Annotated[str | None, typer.Option(help="prompted (hidden, confirmed) when not given")] = None,
    locale: Annotated[str, typer.Option(help="back-office language: zh_Hans or en")] = users.DEFAULT_LOCALE,
) -> None:
    """Create a user who can log in to the back office."""
    secret = _password(password)
    with friendly_errors(), unit_of_work(engine()) as session:
        user = users.create_user(session, email=email, password=secret, role=role, locale=locale)
        created = user.email
    console.print(f"created user [bold]{created}[/bold] with role {role.value}")


@app.command("list")
def list_users() -> None:
    from sqlalchemy import select

    from zakaz.users.models import User

    table = Table("e-mail", "role", "language", "active", "created", "last login")
    with unit_of_work(engine(), read_only=True) as session:
        for u in session.scalars(select(User).order_by(User.email)):
            table.add_row(
                u.email,
                u.role,
                u.locale,
                "yes" if u.active else "no",
                f"{u.created_at:%Y-%m-%d %H:%M}",
                f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "",
            )
    console.print(table)


@app.command("password")
def password(
    email: Email,
    password: Annotated[str | None, typer.Option(help="prompted when not given")] = None,
) -> None:
    """Set a new password (logs the user out everywhere)."""
    secret = _password(password)
    with friendly_errors(), unit_of_work(engine()) as session:
        users.set_password(session, email=email, password=secret)
    console.print(f"password changed for {email}")


@app.command("role")
def role(email: Email, new_role: Annotated[Role, typer.Argument(metavar="ROLE")]) -> None:
    """Change a user's role (takes effect on their next page)."""
    with friendly_errors(), unit_of_work(engine()) as session:
        users.set_role(session, email=email, role=new_role)
    console.print(f"{email} is now {new_role.value}")


@app.command("disable")
def disable(email: Email) -> None:
    """Stop a user from logging in and end their sessions."""
    with friendly_errors(), unit_of_work(engine()) as session:
        users.set_active(session, email=email, active=False)
    console.print(f"{email} disabled")


@app.command("enable")
def enable(email: Email) -> None:
    with friendly_errors(), unit_of_work(engine()) as session:
        users.set_active(session, email=email, active=True)
    console.print(f"{email} enabled")
