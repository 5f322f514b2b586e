"""Shared CLI plumbing: the engine, the console, and turning domain errors into messages + exit codes."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from zakaz.config import get_settings
from zakaz.db import create_db_engine
from zakaz.errors import DomainError, ValidationFailed

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def engine() -> Engine:
    return create_db_engine(get_settings().database_url)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Domain errors become a red message and exit code 1; nothing is half-written (the unit rolled back)."""
    try:
        yield
    except ValidationFailed as exc:
        for e in exc.errors:
            err_console.print(f"[red]error[/red] {e.field}: {e.message}")
        raise typer.Exit(1) from exc
    except DomainError as exc:
        err_console.print(f"[red]error[/red] {exc.detail}")
        raise typer.Exit(1) from exc


def run(fn: Callable[[], T]) -> T:
    with friendly_errors():
        return fn()


def optional_module(name: str) -> ModuleType | None:
    """Import a module that a later feature adds; None while it (or its package) does not exist yet."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
            raise
        return None
