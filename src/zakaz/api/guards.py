"""Input the database cannot take, refused as 422 problem JSON before any statement runs.

Two kinds of value pass FastAPI's own validation but make the database fail (a 500 otherwise):

* integer path and query parameters (ids, offsets) beyond the database's INTEGER range: PostgreSQL raises
  ``integer out of range``, SQLite's driver ``OverflowError`` for anything beyond 64 bits;
* NUL characters (``\\u0000`` in JSON, ``%00`` in a URL): PostgreSQL text cannot hold them.

``checked_input`` is a router dependency (see ``api/app.py``) so that the error names the parameter or the
JSON field. The body is only parsed a second time when it contains an escaped NUL at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, get_args

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from zakaz.errors import FieldError, ValidationFailed

MAX_DB_INT = 2**31 - 1  # ids are INTEGER columns; offsets beyond this are pointless
NUL = "\x00"
_int_params: dict[int, frozenset[str]] = {}


def _int_names(route: APIRoute) -> frozenset[str]:
    """Names of the route's integer path and query parameters (computed once per route)."""
    names = _int_params.get(id(route))
    if names is None:
        names = _int_params[id(route)] = frozenset(_walk(route.dependant))
    return names


def _walk(dependant: Dependant) -> Iterator[str]:
    for param in [*dependant.path_params, *dependant.query_params]:
        annotation = param.field_info.annotation
        if annotation is int or int in get_args(annotation):
            yield param.alias
    for sub in dependant.dependencies:
        yield from _walk(sub)


def _nul_fields(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if NUL in value:
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                yield sub
            yield from _nul_fields(item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_fields(item, f"{path}[{i}]")


async def checked_input(request: Request) -> None:
    errors: list[FieldError] = []
    route = request.scope.get("route")
    ints = _int_names(route) if isinstance(route, APIRoute) else frozenset()
    params = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, raw in params:
        if NUL in str(raw):
            errors.append(FieldError(name, "nul_character", "must not contain NUL (\\u0000) characters"))
        elif name in ints:
            text = str(raw).strip()
            digits = text[1:] if text[:1] in "+-" else text
            if digits.isascii() and digits.isdigit() and abs(int(text)) > MAX_DB_INT:
                errors.append(FieldError(name, "out_of_range", f"at most {MAX_DB_INT} in absolute value"))
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        if b"\\u0000" in body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None  # FastAPI reports malformed JSON itself
            for where in _nul_fields(parsed):
                errors.append(FieldError(where, "nul_character", "must not contain NUL (\\u0000) characters"))
    if errors:
        raise ValidationFailed(errors)
