"""``zakaz import orders|stock FILE.csv``: import with a progress bar and a per-row error report.

Exit codes: 0 every row imported (or already imported), 1 some rows failed (listed, and written to
``--errors-out`` when given), 2 the file is unreadable or misses required columns (nothing imported).
Column reference: docs/csv-import.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zakaz.cli.common import console, engine, err_console
from zakaz.config import get_settings
from zakaz.imports.csvfile import CsvFormatError, RowError, write_errors

app = typer.Typer(help="Import orders and stock from CSV files (UTF-8, ';' or ',').", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="the CSV file", show_default=False)]
ErrorsOut = Annotated[
    Path | None, typer.Option("--errors-out", help="also write the rows that failed to this CSV file")
]


@app.command("orders")
def import_orders_cmd(file: FileArg, errors_out: ErrorsOut = None) -> None:
    """Each order (rows sharing an order_ref) is received by the intake in its own transaction."""
    from zakaz.imports.csv_orders import import_orders
    from zakaz.orders.intake import IntakeConfig

    config = IntakeConfig.from_settings(get_settings())
    eng = engine()
    try:
        with _file_errors(), _progress("orders") as tick:
            report = import_orders(eng, file, config=config, progress=tick)
    finally:
        eng.dispose()
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(report.statuses.items()))
    console.print(
        f"orders in file: {report.orders}; imported: {report.created}"
        + (f" ({statuses})" if statuses else "")
        + f"; already imported: {report.existing}; failed: {report.failed}",
        soft_wrap=True,
    )
    _finish(report.errors, errors_out, ref_column="order_ref", delimiter=report.delimiter, what="orders")


@app.command("stock")
def import_stock_cmd(file: FileArg, errors_out: ErrorsOut = None) -> None:
    """Each row sets on_hand or adds delta in its own transaction; waiting backorders are allocated."""
    from zakaz.allocation.routing import Policy
    from zakaz.imports.csv_stock import import_stock

    policy = Policy(get_settings().allocation_policy)
    eng = engine()
    try:
        with _file_errors(), _progress("stock rows") as tick:
            report = import_stock(eng, file, policy=policy, progress=tick)
    finally:
        eng.dispose()
    console.print(
        f"rows: {report.rows}; changed: {report.changed}; unchanged: {report.unchanged}; "
        f"already imported: {report.skipped}; failed: {report.failed}",
        soft_wrap=True,
    )
    if report.backorders_allocated:
        console.print(f"backorders allocated: {', '.join(report.backorders_allocated)}", soft_wrap=True)
    _finish(report.errors, errors_out, ref_column="sku", delimiter=report.delimiter, what="rows")


@contextmanager
def _file_errors() -> Iterator[None]:
    try:
        yield
    except CsvFormatError as exc:
        err_console.print(f"[red]error[/red] {escape(exc.message)}", soft_wrap=True)
        raise typer.Exit(2) from exc


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar that appears with the first row, so a file error is not preceded by an empty bar."""
    progress = Progress(
        TextColumn(f"importing {what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task(what, total=None)

    def tick(done: int, total: int) -> None:
        if not progress.live.is_started:
            progress.start()
        progress.update(task, completed=done, total=total)

    try:
        yield tick
    finally:
        if progress.live.is_started:
            progress.stop()


def _finish(
    errors: list[RowError], errors_out: Path | None, *, ref_column: str, delimiter: str, what: str
) -> None:
    if not errors:
        return
    console.print(f"[red]{len(errors)} problem(s); {what} with a problem were not imported at all:[/red]")
    for e in sorted(errors, key=lambda e: e.row):
        ref = f" {ref_column} {escape(e.ref)}" if e.ref else ""
        console.print(
            f"  row {e.row}{ref}: [bold]{escape(e.field)}[/bold]: {escape(e.message)}", soft_wrap=True
        )
    if errors_out is not None:
        write_errors(errors_out, errors, ref_column=ref_column, delimiter=delimiter)
        console.print(f"error report written to {errors_out}", soft_wrap=True)
    raise typer.Exit(1)
