"""Small portable SQL helpers for the worker and its handlers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, table: Table, row: dict[str, Any], *, returning: Any = None) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on both databases; with ``returning``, the value or None on clash."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table).values(**row).on_conflict_do_nothing()
    if returning is None:
        session.execute(stmt)
        return None
    return session.execute(stmt.returning(returning)).scalar()
