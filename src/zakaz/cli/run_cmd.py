"""``zakaz run``: everything ``make run`` does after installing — migrate, demo data, first admin, serve."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from zakaz.auth.models import ApiKey
from zakaz.auth.roles import Role
from zakaz.auth.service import create_api_key
from zakaz.cli.common import console, engine, optional_module
from zakaz.config import get_settings
from zakaz.db import unit_of_work

if TYPE_CHECKING:
    from zakaz.demo.ozon import FakeOzon


def prepare(*, demo: bool = True, fake_ozon: FakeOzon | None = None) -> None:
    """Idempotent set-up: safe to run at every start. With ``fake_ozon`` (the demo's fake Seller API), the
    demo's Ozon connection is created (fresh demo) or pointed at it (later starts)."""
    from zakaz.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    eng = engine()
    if demo:
        loaded = _load_demo(eng)
        if fake_ozon is not None:
            _attach_fake_ozon(eng, fake_ozon, create=loaded)
    with unit_of_work(eng) as session:
        if not session.scalar(select(func.count()).select_from(ApiKey)):
            _, raw = create_api_key(session, role=Role.admin, name="first-admin")
            console.print("[bold green]First start:[/bold green] an admin API key was created (shown once):")
            console.print(f"  [bold]{raw}[/bold]")
    web = optional_module("zakaz.web.bootstrap")
    if web is not None:
        web.bootstrap(eng)
    eng.dispose()


def _load_demo(eng: Engine) -> bool:
    """Load the demo into an empty database; returns whether it did."""
    loader = optional_module("zakaz.demo.loader")
    if loader is None:
        return False
    from zakaz.cli.demo_cmd import ProgressBars

    with unit_of_work(eng, read_only=True) as session:
        if loader.has_data(session):
            return False
    console.print("Empty database: loading the demo data set (a year of orders; about half a minute)...")
    with ProgressBars() as bars:
        loaded = bool(loader.load_if_empty(eng, progress=bars.update))
    console.print("demo data loaded")
    return loaded


def _attach_fake_ozon(eng: Engine, fake: FakeOzon, *, create: bool) -> None:
    """issue #7: the demo's Ozon connection to the fake; never stops ``zakaz run`` when it fails."""
    from zakaz.demo.ozon import attach_demo_connection

    try:
        line = attach_demo_connection(eng, fake, create=create)
    except Exception as exc:  # the OMS serves without the Ozon demo
        console.print(f"[yellow]Warning: the demo's Ozon connection was not set up: {exc}[/yellow]")
        return
    if line:
        console.print(line)


def run(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    demo: Annotated[bool, typer.Option(help="load demo data into an empty database")] = True,
) -> None:
    """Migrate, load demo data if the database is empty, make sure an admin exists, and serve."""
    import uvicorn

    with ExitStack() as stack:
        fake_ozon = stack.enter_context(_demo_fake_ozon()) if demo else None  # issue #7
        prepare(demo=demo, fake_ozon=fake_ozon)
        settings = get_settings()
        bind_host, bind_port = host or settings.host, port or settings.port
        console.print(f"Zakaz is serving on http://{bind_host}:{bind_port}  (API docs: /docs)")
        from zakaz.cli.worker_cmd import background_worker  # issue #5: the worker runs beside the server

        with background_worker():
            uvicorn.run(
                "zakaz.api.asgi:app",
                host=bind_host,
                port=bind_port,
                log_level=settings.log_level,
                access_log=False,
            )


@contextmanager
def _demo_fake_ozon() -> Iterator[FakeOzon | None]:
    """issue #7: the fake Ozon for the demo, stopped with the server; None when it cannot run."""
    demo_ozon = optional_module("zakaz.demo.ozon")
    if demo_ozon is None:
        yield None
        return

    def warn(text: str) -> None:
        console.print(f"[yellow]{text}[/yellow]", markup=True, highlight=False)

    try:
        manager = demo_ozon.fake_ozon_for_demo(say=warn)
        fake = manager.__enter__()
    except Exception as exc:  # never keep the OMS from serving
        warn(f"Warning: the demo's fake Ozon did not start ({exc}); Zakaz runs without it.")
        yield None
        return
    try:
        yield fake
    finally:
        manager.__exit__(None, None, None)
