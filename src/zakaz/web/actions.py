"""Operator actions on orders (confirm, hold, release, cancel): one transaction each, server-side checks.

The state machine decides what is allowed (the services refuse anything else with InvalidTransition);
the role decides who may ask. Pages only offer what both allow, but every POST is checked here again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.allocation.routing import Policy
from zakaz.auth.roles import Permission, allows
from zakaz.db import run_in_transaction
from zakaz.errors import DomainError, FieldError, InvalidTransition, ValidationFailed
from zakaz.orders import service
from zakaz.users.service import SessionUser
from zakaz.web.i18n import N_, gettext, use_locale
from zakaz.web.labels import STATUS, label

PERMISSION = {
    "confirm": Permission.orders_write,
    "cancel": Permission.orders_write,
    "hold": Permission.orders_hold,
    "release": Permission.orders_hold,
}
BULK_ACTIONS = ("confirm", "hold", "cancel")
DONE = {
    "confirm": N_("Order %(number)s confirmed; it is now %(status)s."),
    "hold": N_("Order %(number)s is on hold. Release it from this page when the issue is solved."),
    "release": N_("Hold released: order %(number)s is now %(status)s."),
    "cancel": N_("Order %(number)s cancelled and its stock released."),
}


def may(user: SessionUser, action: str) -> bool:
    permission = PERMISSION.get(action)
    return permission is not None and allows(user.role, permission)


@dataclass(frozen=True)
class Outcome:
    order_id: int
    number: str
    ok: bool
    status: str
    message: str  # translated


def _run(session: Session, order_id: int, action: str, *, actor: str, policy: Policy, reason: str) -> str:
    if action == "confirm":
        order = service.confirm(session, order_id, actor=actor, policy=policy, reason=reason)
    elif action == "hold":
        if not reason.strip():
            raise ValidationFailed([FieldError("reason", "required", "a reason is required")])
        order = service.hold(session, order_id, actor=actor, reason=reason.strip())
    elif action == "release":
        order = service.release(session, order_id, actor=actor, policy=policy, reason=reason)
    elif action == "cancel":
        order = service.cancel(session, order_id, actor=actor, reason=reason)
    else:
        raise ValidationFailed([FieldError("action", "unknown", f"unknown action {action}")])
    return order.status


def explain(exc: DomainError) -> str:
    """A translated sentence for a refused action."""
    if isinstance(exc, InvalidTransition):
        current = str(exc.extra.get("current", ""))
        return gettext(N_("Not allowed while the order is %(status)s.")) % {"status": label(STATUS, current)}
    if isinstance(exc, ValidationFailed) and any(e.field == "reason" for e in exc.errors):
        return gettext(N_("Give a reason for the hold."))
    return exc.detail


def perform(
    engine: Engine,
    *,
    user: SessionUser,
    order_id: int,
    number: str,
    action: str,
    policy: Policy,
    reason: str = "",
) -> Outcome:
    """Run one action in its own transaction; a refusal becomes an Outcome with a message."""
    with use_locale(user.locale):
        try:
            status = run_in_transaction(
                engine, lambda s: _run(s, order_id, action, actor=user.actor, policy=policy, reason=reason)
            )
        except DomainError as exc:
            return Outcome(order_id, number, False, "", explain(exc))
        message = gettext(DONE[action]) % {"number": number, "status": label(STATUS, status)}
    return Outcome(order_id, number, True, status, message)
