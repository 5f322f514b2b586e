"""Alembic environment: the URL comes from the caller's config (zakaz.migrate) or ZAKAZ_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from zakaz.config import get_settings
from zakaz.db import create_db_engine
from zakaz.models import Base

config = context.config
target_metadata = Base.metadata


def _migrate(conn: Connection) -> None:
    """Run the migrations on ``conn``; on SQLite with foreign keys off while tables are rebuilt.

    SQLite alters a table by rebuilding it (Alembic's batch mode); dropping the old table with foreign keys
    on would delete through, or fail on, the rows of the tables that reference it. SQLite's documented
    procedure: foreign keys off outside the transaction, rebuild, ``PRAGMA foreign_key_check``, on again.
    """
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows whose foreign keys point nowhere: {broken[:10]}")
    finally:
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = create_db_engine(url)
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


run_migrations()
