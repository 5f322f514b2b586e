"""The orders board: status tabs with counts, filters, search, sorting, keyset pages, bulk actions."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from zakaz.auth.roles import Permission
from zakaz.db import unit_of_work
from zakaz.orders.states import allowed_actions
from zakaz.web import actions, board
from zakaz.web.deps import Forbidden, Poster, Reader, engine_of, web_settings
from zakaz.web.templating import can, render

router = APIRouter()
MAX_BULK = 200


@router.get("/orders", name="orders")
def orders_board(request: Request, user: Reader) -> Response:
    settings = web_settings(request)
    query = board.BoardQuery.parse(dict(request.query_params), money=can(user, Permission.money_read))
    partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "board"
    with unit_of_work(engine_of(request), read_only=True) as session:
        page = board.load_page(session, query, tz=settings.timezone, size=settings.page_size)
        context = {
            "nav": "orders",
            "query": query,
            "page": page,
            "statuses": board.STATUSES,
            "choices": board.filter_choices(session),
            "bulk_actions": [a for a in actions.BULK_ACTIONS if actions.may(user, a)],
            "url": lambda **changes: "/orders?" + urlencode(query.params(**changes)),
        }
        return render(request, "orders/_board.html" if partial else "orders/board.html", context, user=user)


def _selected(ids: list[int]) -> list[int]:
    return sorted(set(ids))[:MAX_BULK]


@router.post("/orders/bulk")
def bulk_review(
    request: Request,
    user: Poster,
    action: Annotated[str, Form()],
    ids: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    """Step 1: show what the action will do to each selected order; nothing changes yet."""
    if action not in actions.BULK_ACTIONS or not actions.may(user, action):
        raise Forbidden(action)
    with unit_of_work(engine_of(request), read_only=True) as session:
        orders = board.load_by_ids(session, _selected(ids))
        rows = [(o, action in allowed_actions(o.status)) for o in orders]
        return render(
            request,
            "orders/bulk_review.html",
            {"nav": "orders", "action": action, "rows": rows, "applicable": sum(ok for _, ok in rows)},
            user=user,
        )


@router.post("/orders/bulk/apply")
def bulk_apply(
    request: Request,
    user: Poster,
    action: Annotated[str, Form()],
    ids: Annotated[list[int], Form()] = [],  # noqa: B006
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Step 2: run the action on each order in its own transaction and report each result."""
    if action not in actions.BULK_ACTIONS or not actions.may(user, action):
        raise Forbidden(action)
    engine = engine_of(request)
    with unit_of_work(engine, read_only=True) as session:
        targets = [(o.id, o.number) for o in board.load_by_ids(session, _selected(ids))]
    policy = request.app.state.ctx.intake.policy
    outcomes = [
        actions.perform(
            engine, user=user, order_id=oid, number=number, action=action, policy=policy, reason=reason
        )
        for oid, number in targets
    ]
    return render(
        request,
        "orders/bulk_result.html",
        {"nav": "orders", "action": action, "outcomes": outcomes, "done": sum(o.ok for o in outcomes)},
        user=user,
    )
