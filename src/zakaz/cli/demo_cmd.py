"""``zakaz demo load``: fill an empty database with a year of realistic, deterministic demo data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import OperationalError, ProgrammingError

from zakaz.cli.common import console, engine, err_console, friendly_errors

app = typer.Typer(help="Demo data.", no_args_is_help=True)

FRESH_DB = "Point ZAKAZ_DATABASE_URL at a new database, run `zakaz db upgrade`, then `zakaz demo load`."
NOT_EMPTY = (
    "the database already has orders, warehouses or products; the demo loads only into an empty database "
    "so that it never mixes with real data. " + FRESH_DB
)
FORCE_REFUSED = (
    "--force is refused: loading over existing data would mix demo orders, customers and stock with real "
    "ones, and wiping a database is not something a demo command should do. " + FRESH_DB
)


@app.command("load")
def load(
    orders: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="orders in total (history + today)")
    ] = 20000,
    seed: Annotated[int, typer.Option(help="same seed, same data")] = 42,
    force: Annotated[
        bool,
        typer.Option(help="load although data exists: always refused (see the message), kept for scripts"),
    ] = False,
) -> None:
    """Load warehouses, ~200 products, stock, customers, a year of orders and today's orders via intake.

    Refuses (exit 1) when the database already has orders, warehouses or products.
    """
    from zakaz.db import unit_of_work
    from zakaz.demo.loader import has_data, load_if_empty

    eng = engine()
    try:
        with friendly_errors():
            try:
                with unit_of_work(eng, read_only=True) as session:
                    existing = has_data(session)
            except (OperationalError, ProgrammingError) as exc:
                err_console.print(
                    f"[red]error[/red] the database has no schema yet; run `zakaz db upgrade` ({exc.orig})"
                )
                raise typer.Exit(2) from exc
            if existing:
                err_console.print(f"[red]error[/red] {FORCE_REFUSED if force else NOT_EMPTY}")
                raise typer.Exit(1)
            with ProgressBars() as bar:
                loaded = load_if_empty(eng, orders=orders, seed=seed, progress=bar.update)
            if not loaded:  # someone loaded data between the check and the load
                err_console.print(f"[red]error[/red] {NOT_EMPTY}")
                raise typer.Exit(1)
    finally:
        eng.dispose()
    console.print(f"[green]demo data loaded[/green]: {orders} orders (seed {seed})")


class ProgressBars:
    """A Rich progress bar with one task per loading stage."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<26}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)
