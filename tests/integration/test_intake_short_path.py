"""POST /api/v1/orders: the short path (api/intake_route.py) answers exactly as FastAPI's own handling does.

Every request is sent twice: to the app as it runs, and to the same app with FastAPI's handling forced (the
short path steps aside while ``dependency_overrides`` is set). Refused requests (bad fields, invalid JSON,
no key, hostile input) never take the short path; their problem JSON is pinned here as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.dependencies.utils import get_dependant
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.factories import add_product, add_warehouse, order_payload, set_stock
from zakaz.api import intake_route, orders
from zakaz.api.context import require
from zakaz.auth.roles import Permission

PATH = "/api/v1/orders"


def _unused() -> None:  # pragma: no cover - only its presence in dependency_overrides matters
    pass


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    add_warehouse(engine, "MSK")
    add_product(engine, "SKU-1")
    set_stock(engine, "MSK", "SKU-1", 1000)
    return engine


@pytest.fixture
def clients(app: Any, seeded: Engine) -> Iterator[tuple[TestClient, Callable[[], None], Callable[[], None]]]:
    def standard() -> None:
        app.dependency_overrides[_unused] = _unused

    def short() -> None:
        app.dependency_overrides.clear()

    with TestClient(app) as client:
        yield client, short, standard


def _send(client: TestClient, *, body: bytes, headers: dict[str, str], query: str = "") -> tuple[int, Any]:
    r = client.post(PATH + query, content=body, headers=headers)
    try:
        payload = r.json()
    except ValueError:
        payload = r.text
    return r.status_code, payload


def _stable(payload: Any) -> Any:
    """An order's answer without what differs between two orders (ids, numbers, times)."""
    if isinstance(payload, dict):
        volatile = {"id", "number", "created_at", "updated_at", "ship_by", "decided_at", "at", "customer_id"}
        return {k: _stable(v) for k, v in payload.items() if k not in volatile}
    if isinstance(payload, list):
        return [_stable(v) for v in payload]
    return payload


def test_a_valid_order_takes_the_short_path(
    clients: tuple[TestClient, Callable[[], None], Callable[[], None]],
    make_key: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, short, _ = clients
    taken: list[bool] = []
    real = intake_route.short_path_arguments

    async def spy(request: Any) -> dict[str, Any] | None:
        arguments = await real(request)
        taken.append(arguments is not None)
        return arguments

    monkeypatch.setattr(intake_route, "short_path_arguments", spy)
    headers = {"Authorization": f"Bearer {make_key('admin')}", "Content-Type": "application/json"}
    short()
    r = client.post(PATH, content=orjson.dumps(order_payload([("SKU-1", 1)])), headers=headers)
    assert r.status_code == 201, r.text
    assert taken == [True]
    bad = orjson.dumps(order_payload([("SKU-1", "x")]))  # type: ignore[list-item]
    assert client.post(PATH, content=bad, headers=headers).status_code == 422
    assert taken == [True, False]


def test_the_route_only_takes_the_short_path_with_the_dependencies_it_stands_in_for() -> None:
    # The endpoint alone lacks the router's hostile-input guard (api/app.py adds it): FastAPI's handling.
    assert not intake_route.short_path_applies(get_dependant(path="/", call=orders.create_order))
    assert require(Permission.orders_write) is require(Permission.orders_write)  # recognisable by identity


def _requests(admin: str, warehouse: str) -> list[tuple[str, bytes, dict[str, str], str]]:
    json_h = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    good = orjson.dumps(order_payload([("SKU-1", 2)]))
    huge_latitude = b'"latitude": 1' + b"0" * 400  # json.loads: an int no float holds; pydantic's parser: inf
    return [
        ("valid", good, json_h, ""),
        ("valid, charset", good, {**json_h, "Content-Type": "application/json; charset=utf-8"}, ""),
        ("idempotency key", good, {**json_h, "Idempotency-Key": "k-1"}, ""),
        ("empty idempotency key", good, {**json_h, "Idempotency-Key": ""}, ""),
        ("bad field", orjson.dumps(order_payload([("SKU-1", "many")])), json_h, ""),  # type: ignore[list-item]
        ("unknown field", orjson.dumps(order_payload(colour="red")), json_h, ""),
        ("invalid JSON", b'{"customer": ', json_h, ""),
        ("not an object", b"[1, 2]", json_h, ""),
        ("empty body", b"", json_h, ""),
        ("invalid JSON, no key", b"{", {"Content-Type": "application/json"}, ""),
        ("no key", good, {"Content-Type": "application/json"}, ""),
        ("unknown key", good, {**json_h, "Authorization": "Bearer zk_nope"}, ""),
        ("warehouse key", good, {**json_h, "Authorization": f"Bearer {warehouse}"}, ""),
        ("NUL in a field", good.replace(b'"paid"', b'"p\\u0000"'), json_h, ""),
        ("NUL in the query", good, json_h, "?x=%00"),
        ("harmless query", good, json_h, "?x=1"),
        ("text/plain", good, {**json_h, "Content-Type": "text/plain"}, ""),
        ("no content type", good, {"Authorization": f"Bearer {admin}"}, ""),
        ("latitude beyond float", good.replace(b'"postcode"', huge_latitude + b', "postcode"'), json_h, ""),
        ("lone surrogate", good.replace("Иван".encode(), b"\\ud800"), json_h, ""),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + good, json_h, ""),
        ("bad UTF-8", good.replace("Иван".encode(), b"\xff"), json_h, ""),
        ("quantity 2.0", good.replace(b'"quantity":2', b'"quantity":2.0'), json_h, ""),
    ]


def test_every_answer_is_the_one_fastapi_gives(
    clients: tuple[TestClient, Callable[[], None], Callable[[], None]], make_key: Callable[[str], str]
) -> None:
    client, short, standard = clients
    admin, warehouse = make_key("admin"), make_key("warehouse")
    for name, body, headers, query in _requests(admin, warehouse):
        if "Idempotency-Key" in headers:
            headers = {**headers, "Idempotency-Key": headers["Idempotency-Key"] and f"{name}-short"}
        short()
        got = _send(client, body=body, headers=headers, query=query)
        if "Idempotency-Key" in headers:
            replay = _send(client, body=body, headers=headers, query=query)
            headers = {**headers, "Idempotency-Key": headers["Idempotency-Key"] and f"{name}-standard"}
        standard()
        expected = _send(client, body=body, headers=headers, query=query)
        assert (got[0], _stable(got[1])) == (expected[0], _stable(expected[1])), name
        if "Idempotency-Key" in headers and got[0] == 201:
            assert replay[0] == 200 and replay[1] == got[1], name


def test_a_bad_field_is_the_same_problem_json(
    clients: tuple[TestClient, Callable[[], None], Callable[[], None]], make_key: Callable[[str], str]
) -> None:
    client, short, _ = clients
    short()
    headers = {"Authorization": f"Bearer {make_key('admin')}", "Content-Type": "application/json"}
    body = orjson.dumps(order_payload([("SKU-1", 1), ("SKU-1", "many")]))  # type: ignore[list-item]
    assert _send(client, body=body, headers=headers) == (
        422,
        {
            "type": "/problems/validation-error",
            "title": "Your request has invalid fields",
            "status": 422,
            "detail": "lines[1].quantity: Input should be a valid integer, "
            "unable to parse string as an integer",
            "instance": PATH,
            "hint": "Fix the fields listed in errors and send again.",
            "errors": [
                {
                    "field": "lines[1].quantity",
                    "code": "int_parsing",
                    "message": "Input should be a valid integer, unable to parse string as an integer",
                }
            ],
        },
    )


def test_invalid_json_is_the_same_problem_json(
    clients: tuple[TestClient, Callable[[], None], Callable[[], None]], make_key: Callable[[str], str]
) -> None:
    client, short, _ = clients
    short()
    headers = {"Authorization": f"Bearer {make_key('admin')}", "Content-Type": "application/json"}
    assert _send(client, body=b'{"customer": {', headers=headers) == (
        400,
        {
            "type": "/problems/malformed-request",
            "title": "The request body is not valid JSON",
            "status": 400,
            "detail": "JSON decode error",
            "instance": PATH,
            "hint": "Send a JSON object.",
        },
    )
