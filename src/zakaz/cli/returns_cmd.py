"""``zakaz returns``: the after-sales queue and one return from the command line (issue #6)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zakaz.cli.common import console, engine, friendly_errors
from zakaz.db import unit_of_work
from zakaz.returns.config import get_returns_settings
from zakaz.returns.service import load_return
from zakaz.returns.views import queue, return_detail

returns_app = typer.Typer(help="Returns and exchanges (RMA): queue, details.", no_args_is_help=True)
app = returns_app

SLA_STYLE = {"late": "red", "warn": "yellow", "ok": "", "done": "dim"}


@returns_app.command("list")
def list_returns(
    status: Annotated[str | None, typer.Option(help="only this status (default: every open return)")] = None,
) -> None:
    """Open returns oldest first, with age and SLA level."""
    with unit_of_work(engine(), read_only=True) as session:
        items = queue(session, get_returns_settings(), status=status)
    table = Table("RMA", "order", "status", "reason", "value", "age h")
    for r in items:
        style = SLA_STYLE[r["sla"]]
        table.add_row(
            r["rma"],
            r["order"],
            r["status"],
            r["reason"],
            f"{r['value_minor'] / 100:.2f}",
            f"[{style}]{r['age_hours']}[/{style}]" if style else str(r["age_hours"]),
        )
    console.print(table)


@returns_app.command("show")
def show(rma: str) -> None:
    """One return: lines, history and refunds."""
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        d = return_detail(session, load_return(session, rma), get_returns_settings())
    console.print(f"[bold]{d['rma']}[/bold] {d['kind']} of {d['order']}: {d['status']} ({d['reason']})")
    for ln in d["lines"]:
        console.print(f"  {ln['line_no']}. {ln['sku']} × {ln['quantity']} {ln['condition'] or ''}")
    for e in d["events"]:
        console.print(f"  {e['at']} {e['type']} by {e['actor']} {e['note'] or ''}")
    for f in d["refunds"]:
        console.print(f"  refund {f['amount_minor'] / 100:.2f} {f['currency']} {f['provider']} {f['status']}")
