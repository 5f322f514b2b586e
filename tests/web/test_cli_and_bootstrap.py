"""`zakaz user ...` and the first-start administrator."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.web.conftest import WebClient
from zakaz.cli.main import app as cli
from zakaz.db import unit_of_work
from zakaz.users.models import User
from zakaz.web.bootstrap import FIRST_ADMIN_EMAIL, bootstrap

runner = CliRunner()


def test_user_create_with_a_prompted_password_then_log_in(
    cli_env: None, web: WebClient, engine: Engine
) -> None:
    created = runner.invoke(
        cli,
        ["user", "create", "--role", "warehouse", "Li.Wei@Example.test", "--locale", "zh_Hans"],
        input="a long secret\na long secret\n",
    )
    assert created.exit_code == 0, created.output
    assert "a long secret" not in created.output  # hidden input
    with unit_of_work(engine, read_only=True) as session:
        user = session.scalar(select(User).where(User.email == "li.wei@example.test"))
        assert user is not None and user.role == "warehouse" and user.locale == "zh_Hans"
        assert user.password_hash.startswith("$argon2id$")
    assert web.login("li.wei@example.test", "a long secret").status_code == 303
    assert "仪表板" in web.get("/").text

    duplicate = runner.invoke(
        cli, ["user", "create", "--role", "admin", "li.wei@example.test", "--password", "x" * 12]
    )
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    short = runner.invoke(cli, ["user", "create", "--role", "admin", "a@b.test", "--password", "short"])
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    mismatch = runner.invoke(
        cli, ["user", "create", "--role", "admin", "c@d.test"], input="one pass 1\ntwo pass 2\n" * 3
    )
    assert mismatch.exit_code != 0


def test_user_list_password_role_and_disable(cli_env: None, web: WebClient) -> None:
    assert (
        runner.invoke(
            cli, ["user", "create", "--role", "readonly", "ro@x.test", "--password", "pass word 1"]
        ).exit_code
        == 0
    )
    listed = runner.invoke(cli, ["user", "list"])
    assert "ro@x.test" in listed.output and "readonly" in listed.output
    assert runner.invoke(cli, ["user", "role", "ro@x.test", "operator"]).exit_code == 0
    assert web.login("ro@x.test", "pass word 1").status_code == 303
    assert runner.invoke(cli, ["user", "password", "ro@x.test", "--password", "pass word 2"]).exit_code == 0
    assert web.get("/", follow_redirects=False).status_code == 303  # a new password logs out everywhere
    assert web.login("ro@x.test", "pass word 2").status_code == 303
    assert runner.invoke(cli, ["user", "disable", "ro@x.test"]).exit_code == 0
    assert web.login("ro@x.test", "pass word 2").status_code == 401
    assert runner.invoke(cli, ["user", "enable", "ro@x.test"]).exit_code == 0
    assert runner.invoke(cli, ["user", "password", "nobody@x.test", "--password", "whatever1"]).exit_code == 1


def test_bootstrap_creates_one_admin_and_prints_the_password_once(engine: Engine, web: WebClient) -> None:
    console = Console(record=True, width=120)
    password = bootstrap(engine, console=console)
    assert password is not None
    shown = console.export_text()
    assert FIRST_ADMIN_EMAIL in shown and password in shown
    assert bootstrap(engine, console=console) is None  # users exist: nothing printed again
    assert console.export_text() == ""
    assert web.login(FIRST_ADMIN_EMAIL, password).status_code == 303
