"""``zakaz pick``, ``zakaz shipments`` and ``zakaz manifest`` on both databases."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.factories import order_payload
from tests.fulfilment.helpers import pdf_text, seed_catalogue
from zakaz.cli.main import app

runner = CliRunner()


def test_pick_create_print_and_shipments_list(
    cli_env: None, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    seed_catalogue(engine, {"MSK": {"SKU-A": (5, "A-01-10"), "SKU-B": (5, "A-01-02")}})
    numbers = [
        client.post("/api/v1/orders", json=order_payload([(sku, 1)])).json()["number"]
        for sku in ("SKU-A", "SKU-B")
    ]
    result = runner.invoke(app, ["pick", "create", "--warehouse", "MSK", "--max-orders", "1"])
    assert result.exit_code == 0, result.output
    assert "1 shipments" in result.output and "A-01-10" in result.output
    pdf = tmp_path / "wave.pdf"
    assert runner.invoke(app, ["pick", "list"]).exit_code == 0
    number = client.get("/api/v1/pick-lists").json()["items"][0]["number"]
    assert runner.invoke(app, ["pick", "print", number, "--out", str(pdf)]).exit_code == 0
    assert "A-01-10" in pdf_text(pdf.read_bytes())
    shipments = runner.invoke(app, ["shipments", "list"])
    assert shipments.exit_code == 0 and numbers[0] in shipments.output and "ready_to_pick" in shipments.output
    nothing = runner.invoke(app, ["manifest", "close", "--carrier", "cdek", "--warehouse", "MSK"])
    assert nothing.exit_code == 1 and "no labelled cdek shipments" in nothing.output
    missing = runner.invoke(app, ["pick", "create", "--warehouse", "NOPE"])
    assert missing.exit_code == 1 and "no warehouse" in missing.output
