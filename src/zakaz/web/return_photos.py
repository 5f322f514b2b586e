"""Issue #6 back office: a return's photos (thumbnails on the return's page, the pictures themselves).

The return page includes ``returns/_photos_block.html``, which loads the thumbnails from here with HTMX
(no inline script; without JavaScript a link opens them as a page). Users need the read permission, the
same as for the return page; shoppers see their photos through ``web/returns_shopper.py`` only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from zakaz.db import unit_of_work
from zakaz.returns import photos, service
from zakaz.web.deps import Reader, engine_of
from zakaz.web.returns_shopper import photo_response
from zakaz.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/returns/{rma}/photos", name="return_photos")
def return_photos(rma: str, request: Request, user: Reader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        ret = service.load_return(session, rma)
        found = photos.list_photos(session, ret.id)
        number = ret.number
    items = [{**p, "url": f"/returns/{number}/photos/{p['id']}"} for p in found]
    hx = request.headers.get("hx-request") == "true"
    name = "returns/_photos.html" if hx else "returns/photos.html"
    return render(request, name, {"nav": "returns", "rma": number, "photos": items}, user=user)


@router.get("/returns/{rma}/photos/{photo_id}", name="return_photo")
def return_photo(rma: str, photo_id: int, request: Request, user: Reader) -> Response:
    with unit_of_work(engine_of(request), read_only=True) as session:
        photo = photos.load_photo(session, rma, photo_id)
        data, content_type = photo.data, photo.content_type
    return photo_response(data, content_type)
