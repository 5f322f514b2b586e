"""Issue #6: photos of a return, from the shopper's tracking page and through the API (both databases)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.returns.helpers import delivered_order, setup
from tests.web.conftest import WebClient, as_role, password_hash, web, web_users  # noqa: F401  fixtures
from zakaz.db import unit_of_work
from zakaz.notifications import links
from zakaz.notifications.settings import get_notify_settings
from zakaz.returns.models import ReturnPhoto

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x02" * 200
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x03" * 100
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows program, renamed .jpg below
BIG = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024)  # a JPEG one byte over 5 MB


def _token(order_id: int) -> str:
    return links.tracking_token(order_id, links.secret_of(get_notify_settings()))


def _files(*items: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", item) for item in items]


def test_shopper_sends_photos_with_the_return_form_and_an_operator_sees_them(
    client: TestClient,
    engine: Engine,
    app: Any,
    as_role: Callable[[str], WebClient],  # noqa: F811
) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 2)])
    other = delivered_order(client, app, [("SKU-B", 1)])
    token = _token(order["id"])
    form = {"qty_1": "1", "reason": "defective", "comment": "cracked"}

    page = client.get(f"/track/{token}/return?lang=en")
    assert 'enctype="multipart/form-data"' in page.text and 'name="photos"' in page.text

    # A renamed program is refused by its bytes, whatever its name and declared type; nothing is created.
    page = client.post(
        f"/track/{token}/return?lang=en", data=form, files=_files(("crack.jpg", EXE, "image/jpeg"))
    )
    assert page.status_code == 422 and 'data-field="photos[0]"' in page.text
    # Over 5 MB: 413, nothing created.
    page = client.post(
        f"/track/{token}/return?lang=en", data=form, files=_files(("big.jpg", BIG, "image/jpeg"))
    )
    assert page.status_code == 413 and 'data-field="photos[0]"' in page.text
    # Six at once: too many.
    six = _files(*[(f"p{i}.png", PNG, "image/png") for i in range(6)])
    page = client.post(f"/track/{token}/return?lang=en", data=form, files=six)
    assert page.status_code == 422 and 'data-field="photos"' in page.text
    assert client.get("/api/v1/returns").json()["items"] == [], "a refused photo leaves no return behind"

    page = client.post(
        f"/track/{token}/return?lang=en",
        data=form,
        files=_files(("crack.jpg", JPEG, "image/jpeg"), ("box.webp", WEBP, "application/octet-stream")),
    )
    assert page.status_code == 201, page.text
    rma = client.get("/api/v1/returns").json()["items"][0]["rma"]
    with unit_of_work(engine, read_only=True) as s:
        stored = s.execute(select(ReturnPhoto.filename, ReturnPhoto.content_type, ReturnPhoto.sha256)).all()
    assert sorted(tuple(x) for x in stored) == [
        ("box.webp", "image/webp", hashlib.sha256(WEBP).hexdigest()),
        ("crack.jpg", "image/jpeg", hashlib.sha256(JPEG).hexdigest()),
    ]

    # The shopper's status page shows the thumbnails, served through the signed token.
    page = client.get(f"/track/{token}/return?lang=en")
    urls = [u for u in _srcs(page.text) if "/photos/" in u]
    assert len(urls) == 2 and all(u.startswith(f"/track/{token}/returns/{rma}/photos/") for u in urls)
    first = client.get(urls[0])
    assert (
        first.status_code == 200 and first.content == JPEG and first.headers["content-type"] == "image/jpeg"
    )
    assert first.headers["x-content-type-options"] == "nosniff"
    # Another order's token (a valid signature) does not reach them; neither does a forged one.
    photo_path = urls[0].split(f"/track/{token}", 1)[1]
    assert client.get(f"/track/{_token(other['id'])}{photo_path}").status_code == 404
    forged = links.tracking_token(order["id"], "another secret")
    assert client.get(f"/track/{forged}{photo_path}").status_code == 404

    # The operator: the return page loads the thumbnails; the pictures are served to back-office users only.
    operator = as_role("operator")
    detail = operator.get(f"/returns/{rma}")
    assert detail.status_code == 200 and f'hx-get="/returns/{rma}/photos"' in detail.text
    fragment = operator.get(f"/returns/{rma}/photos", headers={"HX-Request": "true"})
    back_urls = [u for u in _srcs(fragment.text) if "/photos/" in u]
    assert len(back_urls) == 2 and "crack.jpg" in fragment.text
    assert operator.get(back_urls[1]).content == WEBP
    assert operator.get(f"/returns/{rma}/photos").status_code == 200, "without JavaScript: a page"
    anonymous = TestClient(app)
    assert anonymous.get(back_urls[1], follow_redirects=False).status_code in (303, 401)

    # Three more are fine (five in all); the sixth is refused through the API, naming the field.
    r = client.post(
        f"/api/v1/returns/{rma}/photos", files=_files(*[(f"x{i}.png", PNG, "image/png") for i in range(3)])
    )
    assert r.status_code == 201 and len(r.json()["photos"]) == 5, r.text
    r = client.post(f"/api/v1/returns/{rma}/photos", files=_files(("x.png", PNG, "image/png")))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["photos"]


def test_api_upload_checks_the_bytes_and_replays_with_the_idempotency_key(
    client: TestClient, engine: Engine, app: Any
) -> None:
    setup(app, engine)
    order = delivered_order(client, app, [("SKU-A", 1)])
    r = client.post(
        "/api/v1/returns",
        json={"order": order["number"], "items": [{"line_no": 1, "quantity": 1}], "reason": "defective"},
    )
    rma = r.json()["rma"]

    r = client.post(f"/api/v1/returns/{rma}/photos", files=_files(("a.jpg", EXE, "image/jpeg")))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("photos[0]", "unsupported_type")]
    r = client.post(
        f"/api/v1/returns/{rma}/photos",
        files=_files(("ok.png", PNG, "image/png"), ("big.jpg", BIG, "image/jpeg")),
    )
    assert r.status_code == 413 and r.json()["type"] == "/problems/too-large"
    assert [e["field"] for e in r.json()["errors"]] == ["photos[1]"]
    r = client.post(f"/api/v1/returns/{rma}/photos", data={"note": "no file"})
    assert r.status_code == 422 and "photos" in [e["field"] for e in r.json()["errors"]]
    assert client.get(f"/api/v1/returns/{rma}/photos").json()["photos"] == [], "nothing of a refusal stored"

    key = {"Idempotency-Key": "photos-1"}
    first = client.post(
        f"/api/v1/returns/{rma}/photos", files=_files(("a.png", PNG, "image/png")), headers=key
    )
    again = client.post(
        f"/api/v1/returns/{rma}/photos", files=_files(("a.png", PNG, "image/png")), headers=key
    )
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    clash = client.post(
        f"/api/v1/returns/{rma}/photos", files=_files(("b.jpg", JPEG, "image/jpeg")), headers=key
    )
    assert clash.status_code == 409
    photos = client.get(f"/api/v1/returns/{rma}/photos").json()["photos"]
    assert [(p["filename"], p["content_type"], p["size"]) for p in photos] == [
        ("a.png", "image/png", len(PNG))
    ]
    picture = client.get(photos[0]["url"])
    assert picture.status_code == 200 and picture.content == PNG
    assert client.get(f"/api/v1/returns/{rma}/photos/{photos[0]['id'] + 999}").status_code == 404


def _srcs(html: str) -> list[str]:
    import re

    return re.findall(r'<img[^>]* src="([^"]+)"', html)
