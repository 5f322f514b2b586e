"""``zakaz run``: everything ``make run`` does after installing — migrate, demo data, first admin, serve."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from zakaz.auth.models import ApiKey
from zakaz.auth.roles import Role
from zakaz.auth.service import create_api_key
from zakaz.cli.common import console, engine, optional_module
from zakaz.config import get_settings
from zakaz.db import unit_of_work


def prepare(*, demo: bool = True) -> None:
    """Idempotent set-up: safe to run at every start."""
    from zakaz.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    eng = engine()
    if demo:
        _load_demo(eng)
    with unit_of_work(eng) as session:
        if not session.scalar(select(func.count()).select_from(ApiKey)):
            _, raw = create_api_key(session, role=Role.admin, name="first-admin")
            console.print("[bold green]First start:[/bold green] an admin API key was created (shown once):")
            console.print(f"  [bold]{raw}[/bold]")
    web = optional_module("zakaz.web.bootstrap")
    if web is not None:
        web.bootstrap(eng)
    eng.dispose()


def _load_demo(eng: Engine) -> None:
    loader = optional_module("zakaz.demo.loader")
    if loader is None:
        return
    from zakaz.cli.demo_cmd import ProgressBars

    with unit_of_work(eng, read_only=True) as session:
        if loader.has_data(session):
            return
    console.print("Empty database: loading the demo data set (a year of orders; about half a minute)...")
    with ProgressBars() as bars:
        loader.load_if_empty(eng, progress=bars.update)
    console.print("demo data loaded")


def run(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    demo: Annotated[bool, typer.Option(help="load demo data into an empty database")] = True,
) -> None:
    """Migrate, load demo data if the database is empty, make sure an admin exists, and serve."""
    import uvicorn

    prepare(demo=demo)
    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    console.print(f"Zakaz is serving on http://{bind_host}:{bind_port}  (API docs: /docs)")
    from zakaz.cli.worker_cmd import background_worker  # issue #5: the outbox worker runs beside the server

    with background_worker():
        uvicorn.run(
            "zakaz.api.asgi:app",
            host=bind_host,
            port=bind_port,
            log_level=settings.log_level,
            access_log=False,
        )
