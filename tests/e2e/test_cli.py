"""The CLI end to end, on both databases: keys, orders list/show, migrations, friendly errors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.cli.main import app

runner = CliRunner()


def test_apikey_create_prints_a_working_key_on_the_last_line(cli_env: None, client: TestClient) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "readonly", "--name", "bi"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("zk_")
    r = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    r = client.post("/api/v1/orders", json={}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403
    listed = runner.invoke(app, ["apikey", "list"])
    assert "readonly" in listed.output and key not in listed.output


def test_unknown_role_is_refused_with_a_message(cli_env: None) -> None:
    result = runner.invoke(app, ["apikey", "create", "--role", "superuser"])
    assert result.exit_code == 2
    assert "superuser" in result.output


def test_orders_list_and_show(cli_env: None, client: TestClient, engine: Engine) -> None:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 3)
    number = client.post("/api/v1/orders", json=order_payload([("SKU-1", 2)])).json()["number"]
    listed = runner.invoke(app, ["orders", "list"])
    assert listed.exit_code == 0 and number in listed.output and "allocated" in listed.output
    shown = runner.invoke(app, ["orders", "show", number])
    assert shown.exit_code == 0, shown.output
    assert "MSK" in shown.output and "fills the whole order" in shown.output
    assert "confirmed" in shown.output
    missing = runner.invoke(app, ["orders", "show", "ZK-000000-NOPE1"])
    assert missing.exit_code == 1
    assert "no order ZK-000000-NOPE1" in missing.output


def test_db_upgrade_is_idempotent_and_reports_the_revision(cli_env: None, engine: Engine) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from zakaz.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
        assert current and all(revision in result.output for revision in current)
        # every head of the scripts is applied: a current head or something a current head depends on
        applied = {r.revision for r in script.iterate_revisions(current, "base")}
        assert set(script.get_heads()) <= applied
