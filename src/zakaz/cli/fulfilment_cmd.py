"""``zakaz pick``, ``zakaz manifest`` and ``zakaz shipments``: fulfilment from the command line.

Three sub-apps in one module; ``cli/main.py`` registers each under its name (``<name>_app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zakaz.cli.common import console, engine, friendly_errors
from zakaz.db import run_in_transaction, unit_of_work
from zakaz.fulfilment import manifests, picking
from zakaz.fulfilment.config import get_fulfilment_settings
from zakaz.fulfilment.documents.csvfile import manifest_csv
from zakaz.fulfilment.documents.html import pick_list_html
from zakaz.fulfilment.documents.pdfs import manifest_pdf, pick_list_pdf
from zakaz.fulfilment.registry import build_registry
from zakaz.fulfilment.shipments import load_shipment
from zakaz.fulfilment.tracking import poll_tracking_job
from zakaz.fulfilment.views import (
    list_manifests,
    list_pick_lists,
    list_shipments,
    manifest_detail,
    pick_list_detail,
    shipment_detail,
)

pick_app = typer.Typer(help="Wave pick lists per warehouse.", no_args_is_help=True)
manifest_app = typer.Typer(help="End-of-day carrier manifests (hand-over).", no_args_is_help=True)
shipments_app = typer.Typer(help="Shipments: list, show, poll tracking.", no_args_is_help=True)
app = pick_app  # what a registry that knows only ``app`` picks up
ACTOR = "cli"


@pick_app.command("create")
def pick_create(
    warehouse: Annotated[str, typer.Option(help="warehouse code")],
    max_orders: Annotated[int | None, typer.Option(min=1, help="at most this many orders")] = None,
) -> None:
    """Build a wave pick list over the most urgent allocated orders of WAREHOUSE."""
    limit = max_orders or get_fulfilment_settings().default_max_orders
    with friendly_errors():
        data = run_in_transaction(
            engine(),
            lambda s: pick_list_detail(
                s, picking.create_pick_list(s, warehouse_code=warehouse, max_orders=limit, actor=ACTOR)
            ),
        )
    console.print(
        f"[bold]{data['number']}[/bold]: {data['order_count']} shipments, {data['line_count']} lines, "
        f"{data['unit_count']} units"
    )
    _print_lines(data)


def _print_lines(data: dict[str, object]) -> None:
    table = Table("#", "bin", "sku", "name", "qty", "picked", "short", "orders")
    lines = data["lines"]
    assert isinstance(lines, list)
    for ln in lines:
        orders = ", ".join(f"{o['shipment']}×{o['quantity']}" for o in ln["orders"][:6])
        more = len(ln["orders"]) - 6
        table.add_row(
            str(ln["seq"]),
            ln["bin"] or "—",
            ln["sku"],
            ln["name"],
            str(ln["quantity"]),
            str(ln["picked"]),
            str(ln["short"]),
            orders + (f" +{more}" if more > 0 else ""),
        )
    console.print(table)


@pick_app.command("list")
def pick_list_cmd(
    warehouse: Annotated[str | None, typer.Option(help="only this warehouse")] = None,
    status: Annotated[str | None, typer.Option(help="open or completed")] = None,
) -> None:
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        rows = list_pick_lists(session, warehouse=warehouse, status=status)
    table = Table()
    for column in ("number", "warehouse", "status", "orders", "units", "created"):
        table.add_column(column, no_wrap=column == "number")
    for r in rows:
        table.add_row(
            str(r["number"]),
            str(r["warehouse"]),
            str(r["status"]),
            str(r["order_count"]),
            str(r["unit_count"]),
            str(r["created_at"])[:16],
        )
    console.print(table)


@pick_app.command("show")
def pick_show(ref: Annotated[str, typer.Argument(help="pick list number or id")]) -> None:
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        data = pick_list_detail(session, picking.load_pick_list(session, ref))
    console.print(f"[bold]{data['number']}[/bold] {data['warehouse']} {data['status']}")
    _print_lines(data)


@pick_app.command("print")
def pick_print(
    ref: Annotated[str, typer.Argument(help="pick list number or id")],
    out: Annotated[Path, typer.Option(help="file to write (.pdf or .html)")],
) -> None:
    """Write the pick list as PDF (Code128 barcodes) or as the HTML print view."""
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        data = pick_list_detail(session, picking.load_pick_list(session, ref))
    if out.suffix.lower() == ".html":
        out.write_text(pick_list_html(data), encoding="utf-8")
    else:
        out.write_bytes(pick_list_pdf(data))
    console.print(f"wrote {out}")


@manifest_app.command("close")
def manifest_close(
    carrier: Annotated[str, typer.Option(help="carrier code: russian_post, cdek, courier")],
    warehouse: Annotated[str, typer.Option(help="warehouse code")],
    out: Annotated[Path | None, typer.Option(help="also write the manifest PDF (or .csv) here")] = None,
) -> None:
    """Hand over every labelled shipment of CARRIER at WAREHOUSE and print the manifest."""
    with friendly_errors():
        data = run_in_transaction(
            engine(),
            lambda s: manifest_detail(
                s, manifests.close_manifest(s, carrier_code=carrier, warehouse_code=warehouse, actor=ACTOR)
            ),
        )
    console.print(
        f"[bold]{data['number']}[/bold]: {data['shipment_count']} shipments handed over to {carrier}, "
        f"{data['total_weight_g'] / 1000:.3f} kg"
    )
    if out is not None:
        out.write_bytes(manifest_csv(data) if out.suffix.lower() == ".csv" else manifest_pdf(data))
        console.print(f"wrote {out}")


@manifest_app.command("list")
def manifest_list() -> None:
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        rows = list_manifests(session)
    table = Table("number", "carrier", "warehouse", "shipments", "kg", "closed")
    for r in rows:
        weight = int(str(r["total_weight_g"])) / 1000
        table.add_row(
            str(r["number"]),
            str(r["carrier"]),
            str(r["warehouse"]),
            str(r["shipment_count"]),
            f"{weight:.3f}",
            str(r["closed_at"])[:16],
        )
    console.print(table)


@shipments_app.command("list")
def shipments_list(
    status: Annotated[str | None, typer.Option(help="only this status")] = None,
    warehouse: Annotated[str | None, typer.Option(help="only this warehouse")] = None,
    carrier: Annotated[str | None, typer.Option(help="only this carrier")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Newest shipments first."""
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        rows = list_shipments(session, status=status, warehouse=warehouse, carrier=carrier, limit=limit)
    table = Table()
    for column in ("number", "order", "warehouse", "status", "carrier", "tracking", "kg"):
        table.add_column(column, no_wrap=column in {"number", "order", "status", "tracking"})
    for r in rows:
        weight = f"{r['weight_g'] / 1000:.3f}" if r["weight_g"] else ""
        table.add_row(
            r["number"],
            r["order"],
            r["warehouse"],
            r["status"],
            r["carrier"] or "",
            r["tracking_number"] or "",
            weight,
        )
    console.print(table)


@shipments_app.command("show")
def shipments_show(ref: Annotated[str, typer.Argument(help="shipment number or id")]) -> None:
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        data = shipment_detail(session, load_shipment(session, ref))
    console.print(
        f"[bold]{data['number']}[/bold] {data['status']} order {data['order']} from {data['warehouse']}"
    )
    if data["carrier"]:
        console.print(f"{data['carrier']}/{data['service']} {data['tracking_number'] or ''}")
    lines = Table("sku", "name", "qty", "picked", "packed", "short")
    for ln in data["lines"]:
        lines.add_row(
            ln["sku"], ln["name"], str(ln["quantity"]), str(ln["picked"]), str(ln["packed"]), str(ln["short"])
        )
    console.print(lines)
    events = Table("when", "type", "from", "to", "applied", "note")
    for e in data["events"]:
        events.add_row(
            (e["occurred_at"] or "")[:19],
            e["type"],
            e["from_status"] or "",
            e["to_status"] or "",
            "yes" if e["applied"] else "no",
            e["description"],
        )
    console.print(events)


@shipments_app.command("poll")
def shipments_poll(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200) -> None:
    """Ask the configured carriers for tracking news (what the periodic job does)."""
    registry = build_registry(get_fulfilment_settings().carriers)
    with friendly_errors():
        result = poll_tracking_job(engine(), registry=registry, limit=limit)
    console.print(result.as_json())
