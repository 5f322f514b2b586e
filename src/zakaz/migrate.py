"""Run Alembic migrations programmatically (``zakaz db upgrade``, tests, ``make run``)."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config

from zakaz.db import normalise_url


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("zakaz") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from zakaz.db import create_db_engine

    engine = create_db_engine(url)
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    engine.dispose()
    return ", ".join(sorted(heads)) or None
