"""Hostile input against every /api/v1 operation of the app's own OpenAPI document, on SQLite and PostgreSQL.

The rule under test: bad input gets a clear 4xx RFC 9457 problem JSON, never a 5xx, and a rejected mutating
request writes nothing. Cases are derived from the OpenAPI document (path and query parameters, request body
schemas) and sampled deterministically (fixed seed, at most ``CASES_PER_OPERATION`` per operation, about 4,400
requests in all) so that the run stays well under a minute per database. Every rejected mutating request is
checked to have left the orders, returns and stock movements as they were.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.api.problems import PROBLEM_TYPES
from zakaz.inventory.models import StockMovement
from zakaz.orders.models import Order
from zakaz.returns.models import ReturnRequest

SEED = 9457
CASES_PER_OPERATION = int(os.environ.get("ZAKAZ_HOSTILE_CASES", "250"))
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

HUGE = 2**70
LONG = "x" * 10_000
PATH_VALUES = [
    str(HUGE),
    str(2**31),
    "-1",
    "-" + str(HUGE),
    "abc",
    "²",
    LONG,
    "é\x00ü",
    "../",
    "../../etc/passwd",
    "%00",
    "0",
]
QUERY_VALUES = [
    "",
    "abc",
    "-1",
    str(HUGE),
    str(10**9),
    str(2**31),
    "1e400",
    "NaN",
    LONG,
    "\x00",
    "9999-99-99T99:99",
    "ZK-\u202e\U0001f600",
]
# Raw JSON tokens put in place of one field's value (NaN / Infinity are not JSON; Python's parser takes them).
WRONG_TYPE = {
    "string": ["12345", "true", "{}", "[]"],
    "integer": ['"abc"', "1.5", "true", "[]", '"1e400"'],
    "number": ['"abc"', "true", "{}"],
    "boolean": ['"maybe"', "2", "[]"],
    "array": ['"x"', "{}", "7"],
    "object": ['"x"', "[]", "7"],
}
ANY_FIELD = [
    "null",
    json.dumps("y" * 10_000),
    str(2**63),
    str(2**80),
    "-1",
    str(-(2**63) - 1),
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    '"\\u0000"',
    '"\\ud800"',
    '"1e999999"',
    '"99999999999999999999999999999999.99"',
]
NON_JSON_BODIES: list[bytes] = [
    b"not json",
    b"{",
    b'{"a": 1,}',
    b"\xff\xfe\xfd",
    b'{"x": "\xff\xfe"}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
]
WHOLE_BODIES: list[bytes | None] = [None, b"", b"null", b"[]", b'"str"', b"0", b"{}", *NON_JSON_BODIES]
HOLE = "__hostile_hole__"
# Ozon's push endpoint answers in Ozon's documented error shape (its contract with Ozon), not problem JSON.
VENDOR_SHAPED = {"/api/v1/marketplaces/ozon/push"}


@dataclass
class Case:
    method: str
    path: str
    label: str
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Operation:
    method: str
    template: str
    path_params: list[dict[str, Any]]
    query_params: list[dict[str, Any]]
    body_schema: dict[str, Any] | None
    body_type: str | None
    idempotent: bool


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [_resolve(s, doc) for s in schema[key] if s.get("type") != "null"]
            if options:
                merged = dict(options[0])
                merged.update({k: v for k, v in schema.items() if k not in (key, "$ref")})
                return merged
    return schema


def _sample(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for ``schema`` (the base into which one hostile value is put)."""
    schema = _resolve(schema, doc)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {name: _sample(prop, doc, depth + 1) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [_sample(schema.get("items", {}), doc, depth + 1)] if depth <= 4 else []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return "SKU-1" if schema.get("format") is None else "2026-01-01T00:00:00Z"


def _fields(
    schema: dict[str, Any], doc: dict[str, Any], path: tuple[str | int, ...] = (), depth: int = 0
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every (path, schema) of the body's fields, nested objects and the first item of arrays included."""
    schema = _resolve(schema, doc)
    if depth > 3:
        return
    if "properties" in schema:
        for name, prop in schema["properties"].items():
            sub = _resolve(prop, doc)
            yield (*path, name), sub
            yield from _fields(sub, doc, (*path, name), depth + 1)
    elif schema.get("type") == "array" and path:
        yield from _fields(schema.get("items", {}), doc, (*path, 0), depth + 1)


def _with_hole(base: Any, where: tuple[str | int, ...]) -> Any:
    if not where:
        return HOLE
    head, rest = where[0], where[1:]
    if isinstance(base, dict) and isinstance(head, str):
        return {**base, head: _with_hole(base.get(head), rest)}
    if isinstance(base, list) and isinstance(head, int) and base:
        return [_with_hole(base[0], rest), *base[1:]]
    return HOLE


def operations(doc: dict[str, Any]) -> list[Operation]:
    ops = []
    for template, item in doc["paths"].items():
        if not template.startswith("/api/v1"):
            continue
        for method, op in item.items():
            params = op.get("parameters", [])
            content = op.get("requestBody", {}).get("content", {})
            body_type = next(iter(content), None)
            ops.append(
                Operation(
                    method=method.upper(),
                    template=template,
                    path_params=[p for p in params if p["in"] == "path"],
                    query_params=[p for p in params if p["in"] == "query"],
                    body_schema=content[body_type].get("schema") if body_type else None,
                    body_type=body_type,
                    idempotent=any(p["name"] == "Idempotency-Key" for p in params),
                )
            )
    return ops


def cases_for(op: Operation, doc: dict[str, Any], real: dict[str, str]) -> list[Case]:
    def url(overrides: dict[str, str]) -> str:
        out = op.template
        for p in op.path_params:
            name = p["name"]
            value = overrides.get(name, real.get(name, "1"))
            out = out.replace("{" + name + "}", quote(value, safe=""))
        return out

    base_url = url({})
    base_body = b"{}"
    base: Any = None
    if op.body_schema is not None and op.body_type == "application/json":
        base = _sample(op.body_schema, doc)
        base_body = json.dumps(base).encode()
    out: list[Case] = []
    for p in op.path_params:
        for value in PATH_VALUES:
            label = f"path {p['name']}={value[:20]!r}"
            out.append(Case(op.method, url({p["name"]: value}), label, body=base_body))
    for p in op.query_params:
        for value in QUERY_VALUES:
            label = f"query {p['name']}={value[:20]!r}"
            out.append(Case(op.method, base_url, label, params={p["name"]: value}, body=base_body))
    if op.method in ("POST", "PUT", "PATCH"):
        for raw in WHOLE_BODIES:
            out.append(Case(op.method, base_url, f"body {raw[:20] if raw else raw!r}", body=raw))
    if base is not None and op.body_schema is not None:
        for where, sub in _fields(op.body_schema, doc):
            template = json.dumps(_with_hole(base, where))
            for token in WRONG_TYPE.get(str(sub.get("type")), []) + ANY_FIELD:
                raw = template.replace(json.dumps(HOLE), token).encode()
                out.append(Case(op.method, base_url, f"field {where}={token[:20]}", body=raw))
    if op.idempotent:
        for key in ("", "k" * 300):
            label = f"Idempotency-Key len {len(key)}"
            out.append(Case(op.method, base_url, label, body=base_body, headers={"Idempotency-Key": key}))
    return out


def seed(engine: Engine, client: TestClient) -> dict[str, str]:
    """A little real data, so that some hostile requests reach real rows."""
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 50)
    r = client.post("/api/v1/orders", json=order_payload([("SKU-1", 1)]))
    assert r.status_code == 201, r.text
    order = r.json()
    return {
        "ref": order["number"],
        "sku": "SKU-1",
        "code": "MSK",
        "shipment": "1",
        "customer_id": str(order["customer"].get("id", 1)),
        "rma": "RMA-1",
        "conversation_id": "1",
        "message_id": "1",
        "endpoint_id": "1",
        "photo_id": "1",
        "seq": "1",
        "carrier": "fake",
        "external_id": "123",
        "offer_id": "SKU-1",
        "posting_number": "0001-1",
    }


def counts(engine: Engine) -> tuple[int, int, int]:
    """How many orders, returns and stock movements exist (one round trip)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                select(func.count()).select_from(Order).scalar_subquery(),
                select(func.count()).select_from(ReturnRequest).scalar_subquery(),
                select(func.count()).select_from(StockMovement).scalar_subquery(),
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def _is_problem(r: Any) -> str | None:
    if not r.headers.get("content-type", "").startswith("application/problem+json"):
        return f"content-type {r.headers.get('content-type')!r}"
    try:
        body = r.json()
    except ValueError:
        return "body is not JSON"
    missing = [k for k in ("type", "title", "status") if k not in body]
    if missing:
        return f"problem JSON lacks {missing}"
    if body["status"] != r.status_code:
        return f"status {body['status']} != HTTP {r.status_code}"
    known = PROBLEM_TYPES.get(str(body["type"]).rsplit("/", 1)[-1])
    if known is not None and known[0] != r.status_code:
        return f"type {body['type']} is a {known[0]}, not a {r.status_code}"
    return None


def send(client: TestClient, case: Case) -> Any:
    headers = dict(case.headers)
    if case.body is not None:
        headers["Content-Type"] = "application/json"
    return client.request(case.method, case.path, params=case.params, content=case.body, headers=headers)


def test_hostile_input_never_gets_a_5xx_and_every_4xx_is_problem_json(
    app: Any, engine: Engine, make_key: Callable[[str], str]
) -> None:
    started = time.monotonic()
    doc = app.openapi()
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {make_key('admin')}"
        real = seed(engine, client)
        rng = random.Random(SEED)
        failures: list[str] = []
        sent = 0
        ops = operations(doc)
        assert len(ops) > 50, "the walk should cover the whole API"
        for op in ops:
            cases = cases_for(op, doc, real)
            picked = rng.sample(cases, min(CASES_PER_OPERATION, len(cases)))
            for case in picked:
                before = counts(engine) if case.method in MUTATING else None
                r = send(client, case)
                sent += 1
                where = f"{case.method} {case.path[:80]} [{case.label}] -> {r.status_code}"
                if before is not None and 400 <= r.status_code < 500 and counts(engine) != before:
                    failures.append(f"{where}: rejected but wrote (orders, returns, movements) {before}")
                if r.status_code >= 500:
                    failures.append(f"{where}: {r.text[:200]}")
                elif r.status_code >= 400 and op.template not in VENDOR_SHAPED and (why := _is_problem(r)):
                    failures.append(f"{where}: not problem JSON ({why})")
    elapsed = time.monotonic() - started
    print(f"\n{sent} hostile requests on {engine.dialect.name} in {elapsed:.1f}s")
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:60])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/orders", {"lines": [{"sku": "SKU-1", "quantity": 2**63}]}),
        ("POST", "/api/v1/orders", None),
        ("POST", "/api/v1/stock/adjust", {"warehouse": "MSK", "sku": "SKU-1", "delta": 2**80}),
        ("POST", "/api/v1/stock/adjust", {"warehouse": "M" * 10_000, "sku": "SKU-1", "delta": 1}),
        ("POST", "/api/v1/returns", {"order": "x" * 10_000, "lines": [{"sku": "SKU-1", "quantity": -1}]}),
        ("POST", "/api/v1/orders/{ref}/cancel", {"reason": "\u0000" * 5}),
        ("PATCH", "/api/v1/orders/{ref}", {"lines": [{"sku": "SKU-1", "quantity": 2**70}]}),
    ],
)
def test_rejected_mutations_write_nothing(
    app: Any, engine: Engine, make_key: Callable[[str], str], method: str, path: str, body: Any
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {make_key('admin')}"
        real = seed(engine, client)
        before = counts(engine)
        raw = b"NaN" if body is None else json.dumps(body).encode()
        r = client.request(
            method,
            path.format(ref=real["ref"]),
            content=raw,
            headers={"Content-Type": "application/json", "Idempotency-Key": "hostile-1"},
        )
        assert 400 <= r.status_code < 500, r.text
        assert _is_problem(r) is None
        assert counts(engine) == before, "a rejected request must not write"


def test_problem_type_pages_echo_nothing_from_the_address(client: TestClient) -> None:
    """The page behind a problem's ``type`` is on the back office's origin: no reflected script."""
    evil = client.get("/problems/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert evil.status_code == 404 and "<img" not in evil.text and "onerror" not in evil.text
    page = client.get("/problems/validation-error")
    assert page.status_code == 200 and "HTTP 422" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
