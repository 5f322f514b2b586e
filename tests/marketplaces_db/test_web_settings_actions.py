"""The Ozon settings page's actions (issue #7): check the key against the fake, pick warehouses from Ozon's
list, Client-Id checked like the API (422 in the form), "Sync now" queues the sync job, mappings deleted.
Every form carries CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from tests.marketplaces_db.conftest import Ozon
from tests.web.conftest import WebClient

# The back office's log-in fixtures, used here as they are (re-exported names are pytest fixtures).
from tests.web.conftest import as_role as as_role
from tests.web.conftest import password_hash as password_hash
from tests.web.conftest import web as web
from tests.web.conftest import web_users as web_users
from zakaz.db import unit_of_work
from zakaz.marketplaces.connections import find_connection
from zakaz.marketplaces.jobs import SYNC_TOPIC
from zakaz.marketplaces.mappings import (
    delete_warehouse_mapping,
    list_product_mappings,
    list_warehouse_mappings,
)
from zakaz.marketplaces.ozon.fake_state import FBS_WAREHOUSE, RFBS_WAREHOUSE, seed_postings
from zakaz.outbox import OutboxMessage
from zakaz.web import marketplaces_settings


@pytest.fixture(autouse=True)
def _fresh_warehouse_list() -> Iterator[None]:
    marketplaces_settings._warehouses.clear()
    yield
    marketplaces_settings._warehouses.clear()


def _flash(web: WebClient) -> str:
    return web.get("/settings/ozon").text


def test_check_connection_shows_the_roles_of_the_key(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    web = as_role("admin")
    assert "/settings/ozon/check" in web.get("/settings/ozon").text
    r = web.submit("/settings/ozon/check")
    assert r.status_code == 303
    page = _flash(web)
    assert "Connection works" in page and "Posting FBS" in page and "Warehouse" in page
    assert ozon.state.calls_to("/v1/roles") == 1


def test_check_connection_shows_ozons_403(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    ozon.state.api_key = "a-rotated-key-0000"  # the stored key no longer works
    web = as_role("admin")
    assert web.submit("/settings/ozon/check").status_code == 303
    page = _flash(web)
    assert "Ozon refused the check" in page and "HTTP 403" in page and "Invalid Api-Key" in page
    assert "a-rotated-key-0000" not in page and "fake-api-key-0000-secret" not in page


def test_the_page_and_its_messages_in_chinese(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    web = as_role("admin")
    assert web.submit("/settings/ozon/check").status_code == 303  # queued in English, shown in Chinese
    assert web.submit("/account/language", {"locale": "zh_Hans"}).status_code == 303
    page = web.get("/settings/ozon").text
    assert "连接正常。API 密钥的角色：Posting FBS" in page
    assert "检查连接" in page and "立即同步" in page and "从 Ozon 加载仓库" in page and "删除" in page
    r = web.submit("/settings/ozon/connection", {"client_id": "a b"})
    assert r.status_code == 422 and "Client ID 由 1 到 64 个拉丁字母" in r.text


def test_check_needs_csrf_and_an_admin(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    admin = as_role("admin")
    assert admin.post("/settings/ozon/check", data={}, follow_redirects=False).status_code in (400, 403)
    assert admin.post("/settings/ozon/sync", data={}, follow_redirects=False).status_code in (400, 403)
    assert ozon.state.calls_to("/v1/roles") == 0
    reader = as_role("readonly")
    assert reader.submit("/settings/ozon/check").status_code == 403
    assert reader.submit("/settings/ozon/sync").status_code == 403


def test_warehouse_picker_is_filled_from_ozon_and_maps_by_choice(
    ozon: Ozon, as_role: Callable[[str], WebClient]
) -> None:
    web = as_role("admin")
    with unit_of_work(ozon.engine) as s:  # start with no mapping for the rFBS warehouse
        delete_warehouse_mapping(s, ozon.connection_id, str(RFBS_WAREHOUSE))
    r = web.submit("/settings/ozon/warehouses/load")
    assert r.status_code == 200
    assert (
        "Склад rFBS Подольск" in r.text
        and str(RFBS_WAREHOUSE) in r.text
        and "ozon-warehouse-picker" in r.text
    )
    assert ozon.state.calls_to("/v2/warehouse/list") == 1
    # Choose our warehouse for the Ozon one from the picker (id and name come from Ozon's list).
    r = web.submit(
        "/settings/ozon/warehouses",
        {"external_id": str(RFBS_WAREHOUSE), "name": "Склад rFBS Подольск", "warehouse": "MSK"},
    )
    assert r.status_code == 303
    with unit_of_work(ozon.engine, read_only=True) as s:
        maps = {
            m["external_id"]: (m["warehouse"], m["name"])
            for m in list_warehouse_mappings(s, ozon.connection_id)
        }
    assert maps[str(RFBS_WAREHOUSE)] == ("MSK", "Склад rFBS Подольск")
    # The list stays on the page without asking Ozon again (one call a minute at Ozon).
    page = web.get("/settings/ozon").text
    assert "ozon-warehouse-picker" in page and "Склад на Ленина" in page
    web.submit("/settings/ozon/warehouses/load")
    assert ozon.state.calls_to("/v2/warehouse/list") == 1


def test_warehouse_picker_reports_ozons_error(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    ozon.state.api_key = "another-key-000000"
    web = as_role("admin")
    r = web.submit("/settings/ozon/warehouses/load")
    assert r.status_code == 303
    page = _flash(web)
    assert "Could not load Ozon" in page and "HTTP 403" in page and "ozon-warehouse-picker" not in page


@pytest.mark.parametrize("client_id", ["12 34", "abc!", "Клиент", "9" * 65])
def test_invalid_client_id_is_a_422_with_the_message_in_the_form(
    ozon: Ozon, as_role: Callable[[str], WebClient], client_id: str
) -> None:
    web = as_role("admin")
    r = web.submit("/settings/ozon/connection", {"client_id": client_id, "name": "Новое имя", "api_key": ""})
    assert r.status_code == 422
    assert "A Client ID is 1 to 64 Latin letters" in r.text and 'aria-invalid="true"' in r.text
    assert "Новое имя" in r.text  # what was typed stays in the form
    with unit_of_work(ozon.engine, read_only=True) as s:
        row = find_connection(s)
        assert row is not None and row.client_id == ozon.state.client_id and row.name == "Test shop"


def test_invalid_api_address_is_a_422(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    web = as_role("admin")
    r = web.submit("/settings/ozon/connection", {"client_id": "100500", "base_url": "ftp://x"})
    assert r.status_code == 422 and "The API address starts with" in r.text


def test_sync_now_queues_the_sync_job(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    web = as_role("admin")
    r = web.submit("/settings/ozon/sync")
    assert r.status_code == 303
    assert "Sync queued" in _flash(web)
    queued = ozon.outbox(SYNC_TOPIC)
    assert len(queued) == 1 and queued[0].payload == {"connection_id": ozon.connection_id}
    numbers = seed_postings(ozon.state, 3)
    ozon.drain()  # the worker runs it: the fake's postings become orders
    assert {o.external_id for o in ozon.orders()} == set(numbers)
    with unit_of_work(ozon.engine, read_only=True) as s:
        done = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == SYNC_TOPIC)).one()
        assert done.processed_at is not None


def test_delete_mappings(ozon: Ozon, as_role: Callable[[str], WebClient]) -> None:
    web = as_role("admin")
    page = web.get("/settings/ozon").text
    assert "/settings/ozon/warehouses/delete" in page and "/settings/ozon/products/delete" in page
    assert (
        web.submit("/settings/ozon/warehouses/delete", {"external_id": str(FBS_WAREHOUSE)}).status_code == 303
    )
    assert "Mapping deleted" in _flash(web)
    assert web.submit("/settings/ozon/products/delete", {"offer_id": "УТ-0001365"}).status_code == 303
    with unit_of_work(ozon.engine, read_only=True) as s:
        assert str(FBS_WAREHOUSE) not in {
            m["external_id"] for m in list_warehouse_mappings(s, ozon.connection_id)
        }
        assert "УТ-0001365" not in {m["offer_id"] for m in list_product_mappings(s, ozon.connection_id)}
    # Deleting what is not there says so instead of failing.
    assert web.submit("/settings/ozon/warehouses/delete", {"external_id": "404"}).status_code == 303
    assert "Not saved" in _flash(web)
    # Without CSRF nothing is deleted.
    r = web.post("/settings/ozon/products/delete", data={"offer_id": "Товар2"}, follow_redirects=False)
    assert r.status_code in (400, 403)
    with unit_of_work(ozon.engine, read_only=True) as s:
        assert "Товар2" in {m["offer_id"] for m in list_product_mappings(s, ozon.connection_id)}
