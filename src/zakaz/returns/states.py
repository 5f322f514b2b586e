"""Return states and the one transition table. Pure: no database here."""

from __future__ import annotations

from enum import StrEnum

from zakaz.errors import InvalidTransition


class ReturnStatus(StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    in_transit = "in_transit"
    received = "received"
    inspected = "inspected"
    refunded = "refunded"
    exchanged = "exchanged"
    closed = "closed"


S = ReturnStatus

TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    S.requested: frozenset({S.approved, S.rejected}),
    # Shoppers may also hand the parcel in at the counter: approved -> received directly.
    S.approved: frozenset({S.in_transit, S.received, S.closed}),
    # closed from in_transit: the parcel was lost, or a marketplace cancelled or disposed of it on the way
    S.in_transit: frozenset({S.received, S.closed}),
    S.received: frozenset({S.inspected}),
    S.inspected: frozenset({S.refunded, S.exchanged, S.closed}),
    S.rejected: frozenset(),
    S.refunded: frozenset(),
    S.exchanged: frozenset(),
    S.closed: frozenset(),
}

#: Not finished yet (the back-office queue and its SLA colouring).
OPEN = frozenset({S.requested, S.approved, S.in_transit, S.received, S.inspected})

#: The forward path an outside source (carrier scans, marketplace statuses) may move a return along.
PROGRESS: tuple[ReturnStatus, ...] = (S.requested, S.approved, S.in_transit, S.received, S.inspected)

#: Outbox topic written for each target status.
TOPICS: dict[ReturnStatus, str] = {status: f"return.{status.value}" for status in ReturnStatus}


def check_transition(current: ReturnStatus | str, target: ReturnStatus | str) -> None:
    current, target = ReturnStatus(current), ReturnStatus(target)
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value, [s.value for s in TRANSITIONS[current]])
