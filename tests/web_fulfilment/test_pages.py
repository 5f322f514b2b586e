"""Fulfilment and sent-messages screens over HTTP (issues #4, #5), on SQLite and PostgreSQL: a whole day
from wave to manifest, the shopper's "shipped" message with carrier and tracking number, and role checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.factories import shows_currency
from tests.fulfilment.helpers import PRODUCTS, stock_of
from tests.notifications.support import drain
from tests.web.conftest import WebClient
from tests.web_fulfilment.conftest import Orders
from zakaz.db import unit_of_work
from zakaz.fulfilment.models import Shipment
from zakaz.notifications.models import Delivery
from zakaz.orders.models import Order

HX = {"HX-Request": "true"}
BARCODE = {sku: code for sku, (_name, code, _w, _d) in PRODUCTS.items()}


def _scan(web: WebClient, shipment: str, barcode: str) -> str:
    r = web.submit(f"/fulfilment/packing/{shipment}/scan", {"barcode": barcode}, headers=HX)
    assert r.status_code == 200, r.text
    assert "<html" not in r.text  # HTMX gets the fragment only
    return r.text


def _order_status(engine: Engine, number: str) -> str:
    with unit_of_work(engine, read_only=True) as s:
        return str(s.scalar(select(Order.status).where(Order.number == number)))


def test_wave_pick_pack_label_manifest_and_the_shipped_message(
    engine: Engine, as_role: Callable[[str], WebClient], orders: Orders, carriers: Any
) -> None:
    web = as_role("warehouse")
    assert "Create pick list" in web.get("/fulfilment/pick-lists").text

    r = web.submit("/fulfilment/pick-lists", {"warehouse": "MSK"})
    assert r.status_code == 303 and r.headers["location"].startswith("/fulfilment/pick-lists/PL-MSK-")
    page = web.get(r.headers["location"]).text
    assert "Pick list PL-MSK-" in page and "4 units for 2 orders" in page
    assert page.index("A-01-02") < page.index("A-01-10"), "bin walking order"
    assert orders.first in page and orders.second in page
    url = r.headers["location"]
    assert web.get(url + "/print.pdf").headers["content-type"] == "application/pdf"
    printed = web.get(url + "/print.html")
    assert "A-01-10" in printed.text and "unsafe-inline" in printed.headers["content-security-policy"]

    # Over-picking is refused with a message; then both lines and the wave are done.
    assert web.submit(url + "/lines/2/pick", {"quantity": "9"}).status_code == 303
    assert "Not recorded:" in web.get(url).text
    for seq, qty in ((1, 1), (2, 3)):
        assert web.submit(f"{url}/lines/{seq}/pick", {"quantity": str(qty)}).status_code == 303
    assert web.submit(url + "/complete").status_code == 303
    assert "completed" in web.get(url).text

    # Packing station: open by the shipment barcode, refusals change nothing.
    r = web.get("/fulfilment/packing", params={"shipment": orders.shipment}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/fulfilment/packing/{orders.shipment}"
    station = web.get(r.headers["location"]).text
    assert "3 units left to scan" in station and 'name="barcode"' in station
    wrong = _scan(web, orders.shipment, BARCODE["SKU-C"])
    assert 'data-scan-result="error"' in wrong and 'data-code="wrong_item"' in wrong
    assert "Wrong item" in wrong and "3 units left to scan" in wrong
    unknown = _scan(web, orders.shipment, "0000000000000")
    assert 'data-code="unknown_barcode"' in unknown
    assert 'data-scan-result="ok"' in _scan(web, orders.shipment, BARCODE["SKU-A"])
    assert "1 unit left to scan" in _scan(web, orders.shipment, "sku-a")  # the SKU works too
    done = _scan(web, orders.shipment, BARCODE["SKU-B"])
    assert 'data-scan-result="done"' in done and "Close the box" in done
    over = _scan(web, orders.shipment, BARCODE["SKU-B"])
    assert 'data-code="over_scan"' in over and "Already packed" in over
    # Without HTMX the same refusal is a full page with 409.
    plain = web.submit(f"/fulfilment/packing/{orders.shipment}/scan", {"barcode": BARCODE["SKU-C"]})
    assert plain.status_code == 409 and "<html" in plain.text and "Wrong item" in plain.text

    assert (
        web.submit(f"/fulfilment/packing/{orders.shipment}/close", {"box": "", "weight_g": ""}).status_code
        == 303
    )
    station = web.get(f"/fulfilment/packing/{orders.shipment}").text
    assert "is packed" in station and "Create label" in station and "Packing slip (PDF)" in station

    assert web.submit(f"/fulfilment/shipments/{orders.shipment}/label").status_code == 303
    station = web.get(f"/fulfilment/packing/{orders.shipment}").text
    assert "Label created" in station
    with unit_of_work(engine, read_only=True) as s:
        carrier, tracking = s.execute(
            select(Shipment.carrier_code, Shipment.tracking_number).where(Shipment.number == orders.shipment)
        ).one()
    assert tracking and tracking in station
    label = web.get(f"/fulfilment/shipments/{orders.shipment}/label.pdf")
    assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"
    slip = web.get(f"/fulfilment/shipments/{orders.shipment}/packing-slip.pdf")
    assert slip.headers["content-type"] == "application/pdf"

    board = web.get("/fulfilment/shipments", params={"status": "label_created"}).text
    assert (
        orders.shipment in board and tracking in board and not shows_currency(board)
    )  # no money for warehouse

    # End of day: the manifest hands the parcel over; the order is shipped.
    assert "Labelled parcels waiting for a manifest" in web.get("/fulfilment/manifests").text
    r = web.submit("/fulfilment/manifests", {"carrier": carrier, "warehouse": "MSK"})
    assert r.status_code == 303 and "/fulfilment/manifests/MF-" in r.headers["location"]
    manifest = web.get(r.headers["location"]).text
    assert orders.shipment in manifest and tracking in manifest
    csv = web.get(r.headers["location"] + "/manifest.csv")
    assert csv.headers["content-type"].startswith("text/csv") and tracking in csv.text
    assert web.get(r.headers["location"] + "/manifest.pdf").headers["content-type"] == "application/pdf"
    again = web.submit("/fulfilment/manifests", {"carrier": carrier, "warehouse": "MSK"})
    assert again.status_code == 303 and "No labelled" in web.get("/fulfilment/manifests").text
    assert _order_status(engine, orders.first) == "shipped"
    assert stock_of(engine, "MSK", "SKU-A")[0] == 8  # two units left the building

    # The shopper hears about it with the carrier's name and the tracking number.
    drain(engine)
    with unit_of_work(engine, read_only=True) as s:
        rows = s.execute(
            select(Delivery.channel, Delivery.id, Delivery.body_text).where(Delivery.event == "shipped")
        )
        shipped = {channel: (delivery_id, text) for channel, delivery_id, text in rows}
    assert set(shipped) >= {"email", "sms"}
    assert tracking in shipped["email"][1] and tracking in shipped["sms"][1]
    names = {"cdek": "СДЭК", "russian_post": "Почта России", "courier": "Курьер Zakaz"}
    assert names[carrier] in shipped["email"][1]

    # Sent messages page (issue #5), as a read-only user.
    web = as_role("readonly")
    listing = web.get("/messages", params={"event": "shipped"}).text
    assert orders.first in listing and "ivan@example.ru" in listing and "Order shipped" in listing
    assert "received" not in re.sub(r"<select.*?</select>", "", listing, flags=re.S).lower()
    sms_only = web.get("/messages", params={"channel": "sms"}).text
    assert "+79161234567" in sms_only and "ivan@example.ru" not in sms_only
    email_id, sms_id = shipped["email"][0], shipped["sms"][0]
    detail = web.get(f"/messages/{email_id}").text
    assert f'src="/messages/{email_id}/preview.html" sandbox' in detail
    preview = web.get(f"/messages/{email_id}/preview.html")
    csp = preview.headers["content-security-policy"]
    assert "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert tracking in preview.text and "<html" in preview.text
    sms = web.get(f"/messages/{sms_id}").text
    assert "data-sms" in sms and tracking in sms
    assert web.get(f"/messages/{sms_id}/preview.html").status_code == 404
    assert web.get("/messages/999999").status_code == 404


def test_roles_are_checked_on_the_server(
    engine: Engine, as_role: Callable[[str], WebClient], orders: Orders
) -> None:
    web = as_role("operator")
    created = web.submit("/fulfilment/pick-lists", {"warehouse": "MSK"})
    assert created.status_code == 303
    url = created.headers["location"]
    posts: list[tuple[str, dict[str, str]]] = [
        ("/fulfilment/pick-lists", {"warehouse": "MSK"}),
        (url + "/lines/1/pick", {"quantity": "1"}),
        (url + "/complete", {"short_remaining": "1"}),
        (f"/fulfilment/packing/{orders.shipment}/scan", {"barcode": BARCODE["SKU-A"]}),
        (f"/fulfilment/packing/{orders.shipment}/close", {}),
        (f"/fulfilment/shipments/{orders.shipment}/label", {}),
        ("/fulfilment/manifests", {"carrier": "cdek", "warehouse": "MSK"}),
    ]
    for role in ("readonly", "support"):
        web = as_role(role)
        for path, form in posts:
            r = web.submit(path, form)
            assert r.status_code == 403, (role, path)
            assert "Your role may not do this" in r.text
        # They see every page, without the forms.
        pick_list = web.get(url).text
        assert (
            "A-01-02" in pick_list
            and "Complete pick list" not in pick_list
            and "Record pick" not in pick_list
        )
        assert "Create pick list" not in web.get("/fulfilment/pick-lists").text
        assert "Close manifest" not in web.get("/fulfilment/manifests").text
        assert web.get("/fulfilment/shipments").status_code == 200
        assert web.get("/messages").status_code == 200
    with unit_of_work(engine, read_only=True) as s:
        picked = s.scalars(select(Shipment.status)).all()
    assert set(picked) == {"ready_to_pick"}, "nothing was picked by the refused requests"
    # Without a CSRF token even a warehouse user is refused; logged out means the log-in page.
    web = as_role("warehouse")
    assert web.post("/fulfilment/pick-lists", data={"warehouse": "MSK"}).status_code == 403
    web.cookies.clear()
    assert web.get("/fulfilment/packing", follow_redirects=False).status_code in (302, 303)
