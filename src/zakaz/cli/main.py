"""The ``zakaz`` command line (Typer + Rich)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zakaz.auth.roles import Role
from zakaz.auth.service import create_api_key, revoke_api_key
from zakaz.cli import run_cmd
from zakaz.cli.common import console, engine, friendly_errors, optional_module
from zakaz.config import get_settings
from zakaz.db import unit_of_work
from zakaz.money import from_minor

app = typer.Typer(help="Zakaz order management system.", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys with roles.", no_args_is_help=True)
orders_app = typer.Typer(help="Look at orders.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")
app.add_typer(orders_app, name="orders")


def _register_optional() -> None:
    """Sub-commands that live in their own modules (demo data, CSV import, users, worker...)."""
    for module, name in (
        ("zakaz.cli.demo_cmd", "demo"),
        ("zakaz.cli.import_cmd", "import"),
        ("zakaz.cli.user_cmd", "user"),
        ("zakaz.cli.worker_cmd", "worker"),  # issue #5: outbox worker
        ("zakaz.cli.outbox_cmd", "outbox"),  # issue #5: outbox list/retry/replay
        ("zakaz.cli.fulfilment_cmd", "pick"),  # issue #4: wave pick lists
        ("zakaz.cli.fulfilment_cmd", "manifest"),  # issue #4: carrier manifests
        ("zakaz.cli.fulfilment_cmd", "shipments"),  # issue #4: shipments list/show/poll
        ("zakaz.cli.ozon_cmd", "ozon"),  # issue #7: Ozon connection, sync, stock, returns, fake server
        ("zakaz.cli.returns_cmd", "returns"),  # issue #6: after-sales queue and details
    ):
        sub = optional_module(module)
        if sub is not None:
            app.add_typer(getattr(sub, f"{name}_app", sub.app), name=name)  # issue #4: app per name


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from zakaz.migrate import current, upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    console.print(f"database at revision [bold]{current(url)}[/bold]", soft_wrap=True)


@db_app.command("current")
def db_current() -> None:
    from zakaz.migrate import current

    console.print(current(get_settings().database_url) or "(empty database)")


@db_app.command("check")
def db_check() -> None:
    """Look for rows whose order or order line is missing (exit code 1 if any)."""
    from zakaz.integrity import find_problems

    with unit_of_work(engine(), read_only=True) as session:
        problems = find_problems(session)
    if not problems:
        console.print("no broken references: every line, timeline event and reservation has its order")
        return
    table = Table("table", "problem", "rows", "first ids")
    for p in problems:
        table.add_row(p.table, p.rule, str(p.count), ", ".join(map(str, p.sample_ids)))
    console.print(table)
    raise typer.Exit(1)


@apikey_app.command("create")
def apikey_create(
    role: Annotated[Role, typer.Option(help="admin, operator, warehouse, support or readonly")],
    name: Annotated[str, typer.Option(help="who or what uses the key")] = "",
) -> None:
    """Create a key; the key itself is printed once, on the last line."""
    with friendly_errors(), unit_of_work(engine()) as session:
        row, raw = create_api_key(session, role=role, name=name)
    console.print(f"created key {row.prefix} with role {role.value}; store it now, it is not shown again:")
    typer.echo(raw)


@apikey_app.command("revoke")
def apikey_revoke(prefix: str) -> None:
    with friendly_errors(), unit_of_work(engine()) as session:
        revoke_api_key(session, prefix=prefix)
    console.print(f"revoked {prefix}")


@apikey_app.command("list")
def apikey_list() -> None:
    from sqlalchemy import select

    from zakaz.auth.models import ApiKey

    table = Table("prefix", "role", "name", "created", "revoked")
    with unit_of_work(engine(), read_only=True) as session:
        for k in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            table.add_row(
                k.prefix, k.role, k.name, f"{k.created_at:%Y-%m-%d %H:%M}", "yes" if k.revoked_at else ""
            )
    console.print(table)


@orders_app.command("list")
def orders_list(
    status: Annotated[str | None, typer.Option(help="only this status")] = None,
    q: Annotated[str | None, typer.Option(help="search: number, customer, phone")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """Newest orders first."""
    from zakaz.orders.views import OrderFilter, list_orders

    table = Table()
    table.add_column("number", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("channel", "customer", "city", "total", "created"):
        table.add_column(column)
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        rows, _ = list_orders(session, OrderFilter(status=status, q=q), limit=limit)
        for o in rows:
            table.add_row(
                o.number,
                o.status,
                o.channel,
                o.contact_name,
                o.ship_city,
                f"{from_minor(o.total_minor)} {o.currency}",
                f"{o.created_at:%Y-%m-%d %H:%M}",
            )
    console.print(table)


@orders_app.command("show")
def orders_show(ref: Annotated[str, typer.Argument(help="order number or id")]) -> None:
    """An order with its lines, allocation and timeline."""
    from zakaz.orders.views import find_order_id, load_order, timeline_of

    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        order = load_order(session, find_order_id(session, ref))
        events = timeline_of(session, order.id)
        console.print(
            f"[bold]{order.number}[/bold]  {order.status}  {from_minor(order.total_minor)} {order.currency}"
        )
        console.print(f"{order.contact_name}  {order.contact_phone or ''}  {order.contact_email or ''}")
        console.print(f"{order.ship_postcode} {order.ship_city}, {order.ship_line1}")
        for reason in order.hold_reasons:
            console.print(f"[yellow]hold[/yellow] {reason['code']}: {reason['detail']}")
        lines = Table("#", "sku", "name", "qty", "price")
        for ln in order.lines:
            lines.add_row(
                str(ln.line_no), ln.sku, ln.name, str(ln.quantity), str(from_minor(ln.unit_price_minor))
            )
        console.print(lines)
        for leg in (order.allocation or {}).get("legs", []):
            console.print(f"[cyan]{leg['warehouse']}[/cyan]: {leg['reason']}")
        timeline = Table("when", "event", "from", "to", "who", "why")
        for e in events:
            timeline.add_row(
                f"{e.created_at:%Y-%m-%d %H:%M:%S}",
                e.type,
                e.from_status or "",
                e.to_status or "",
                e.actor,
                e.reason or "",
            )
        console.print(timeline)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[int, typer.Option(help="HTTP worker processes")] = 1,
) -> None:
    """Serve the API (and the web UI) with uvicorn; several workers each get their own socket."""
    from zakaz.serving import serve as serve_http

    settings = get_settings()
    serve_http(host or settings.host, port or settings.port, workers=workers, log_level=settings.log_level)


app.command("run")(run_cmd.run)
_register_optional()
