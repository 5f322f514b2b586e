"""``zakaz ozon``: connect a shop, sync postings, push stock, pull returns, run the fake Ozon for demos."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from zakaz.cli.common import console, engine, friendly_errors
from zakaz.db import unit_of_work
from zakaz.marketplaces.connections import connection_view, get_connection_row, save_connection
from zakaz.marketplaces.settings import get_marketplace_settings

app = typer.Typer(
    help="Ozon Seller API: connection, sync, stock, returns, fake server.", no_args_is_help=True
)
ozon_app = app


def _connection_id() -> int:
    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        return get_connection_row(session).id


@app.command("connect")
def connect(
    client_id: Annotated[str, typer.Option(help="Ozon Client-Id")],
    api_key: Annotated[
        str, typer.Option(help="Ozon Api-Key (stored encrypted)", prompt=True, hide_input=True)
    ],
    base_url: Annotated[
        str | None, typer.Option(help="default https://api-seller.ozon.ru; the fake's URL")
    ] = None,
    name: Annotated[str, typer.Option(help="shop name")] = "",
) -> None:
    """Store (or replace) the Ozon connection."""
    with friendly_errors(), unit_of_work(engine()) as session:
        row, created = save_connection(
            session,
            settings=get_marketplace_settings(),
            name=name,
            client_id=client_id,
            api_key=api_key,
            base_url=base_url,
        )
        view = connection_view(row)
    verb = "created" if created else "updated"
    console.print(f"{verb} Ozon connection #{view['id']} {view['client_id']} key …{view['api_key_last4']}")
    console.print(f"base URL {view['base_url']}")


@app.command("sync")
def sync() -> None:
    """Pull unfulfilled and changed postings into orders (each posting in its own transaction)."""
    from zakaz.marketplaces.sync import SyncReport, sync_orders

    connection_id = _connection_id()
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]Ozon postings[/bold]"),
        BarColumn(),
        TextColumn("{task.completed} seen · {task.fields[line]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("sync", total=None, line="")

        def tick(report: SyncReport) -> None:
            line = f"{report.created} new, {report.updated} updated, {report.errors} errors"
            progress.update(task, completed=report.seen, line=line)

        with friendly_errors():
            report = sync_orders(engine(), connection_id, settings=get_marketplace_settings(), progress=tick)
        progress.update(task, total=report.seen, completed=report.seen)
    console.print(report.line())
    if report.listing_failed or report.errors:
        console.print("[yellow]see `zakaz ozon status` for the errors[/yellow]")
        raise typer.Exit(1 if report.listing_failed else 0)


@app.command("status")
def status(errors: Annotated[int, typer.Option(help="how many recent errors to show")] = 10) -> None:
    """Connection, sync cursors and the latest errors."""
    from zakaz.marketplaces.syncstate import status_view

    with friendly_errors(), unit_of_work(engine(), read_only=True) as session:
        row = get_connection_row(session)
        view, state = connection_view(row), status_view(session, row.id, errors=errors)
    console.print(
        f"[bold]{view['name'] or 'Ozon'}[/bold] client {view['client_id']} key …{view['api_key_last4']}"
    )
    table = Table("sync", "status", "cursor", "last finished", "summary")
    for kind, s in state["syncs"].items():
        table.add_row(kind, s["status"], s["cursor"] or "", s["last_finished_at"] or "", str(s["summary"]))
    console.print(table)
    for e in state["errors"]:
        console.print(f"[red]{e['at'][:19]}[/red] {e['kind']} {e['external_id'] or ''}: {e['message']}")


@app.command("push-stocks")
def push_stocks_cmd() -> None:
    """Push changed free stock per mapped warehouse now."""
    from zakaz.marketplaces.stock import push_stocks

    with friendly_errors():
        report = push_stocks(engine(), _connection_id(), settings=get_marketplace_settings())
    console.print(report.line())


@app.command("pull-returns")
def pull_returns_cmd() -> None:
    """Pull returns changed since the last pull."""
    from zakaz.marketplaces.returns import pull_returns

    with friendly_errors():
        report = pull_returns(engine(), _connection_id(), settings=get_marketplace_settings())
    console.print(report.line())


@app.command("map-warehouse")
def map_warehouse(
    ozon_id: Annotated[str, typer.Argument(help="Ozon warehouse id")],
    warehouse: Annotated[str, typer.Argument(help="our warehouse code")],
) -> None:
    """Map an Ozon warehouse to one of ours."""
    from zakaz.marketplaces.mappings import put_warehouse_mapping

    with friendly_errors(), unit_of_work(engine()) as session:
        put_warehouse_mapping(
            session, get_connection_row(session).id, external_id=ozon_id, warehouse_code=warehouse
        )
    console.print(f"Ozon warehouse {ozon_id} -> {warehouse}")


@app.command("map-product")
def map_product(
    offer_id: Annotated[str, typer.Argument(help="Ozon article (offer_id)")],
    sku: Annotated[str, typer.Argument(help="our SKU")],
) -> None:
    """Map an Ozon article to one of our SKUs (without a mapping, offer_id is our SKU)."""
    from zakaz.marketplaces.mappings import put_product_mapping

    with friendly_errors(), unit_of_work(engine()) as session:
        put_product_mapping(session, get_connection_row(session).id, offer_id=offer_id, sku=sku)
    console.print(f"Ozon offer {offer_id} -> {sku}")


@app.command("fake-server")
def fake_server(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8081,
    postings: Annotated[int, typer.Option(help="FBS postings to seed")] = 20,
    rfbs: Annotated[int, typer.Option(help="rFBS postings to seed")] = 5,
    returns: Annotated[int, typer.Option(help="returns to seed")] = 3,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
) -> None:
    """Run the fake Ozon Seller API (for demos and offline development) until Ctrl+C."""
    import uvicorn

    from zakaz.marketplaces.ozon.fake_server import (
        FakeOzonState,
        create_fake_ozon_app,
        seed_postings,
        seed_returns,
    )
    from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE, RFBS_WAREHOUSE

    state = FakeOzonState()
    seed_postings(state, postings)
    seed_postings(state, rfbs, seed=2, rfbs=True)
    seed_returns(state, returns)
    url = f"http://{host}:{port}"
    console.print(
        f"fake Ozon at [bold]{url}[/bold]: {postings} FBS + {rfbs} rFBS postings, {returns} returns"
    )
    console.print(
        f"  zakaz ozon connect --client-id {state.client_id} --api-key {state.api_key} --base-url {url}"
    )
    console.print(f"  zakaz ozon map-warehouse {FBS_WAREHOUSE} <our code>  (FBS)")
    console.print(f"  zakaz ozon map-warehouse {RFBS_WAREHOUSE} <our code>  (rFBS)")
    uvicorn.run(create_fake_ozon_app(state), host=host, port=port, log_level="warning", access_log=False)
