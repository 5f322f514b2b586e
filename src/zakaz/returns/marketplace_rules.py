"""Pure rules for marketplace returns (issue #6 with #7): reason, kind and status of an Ozon return.

No database here. Ozon sends a free-text reason (``return_reason_name``), a type (``Cancellation``,
``ClientReturn``, ``FullReturn``, ``PartialReturn``, ``Unknown``) and a visual status (``sys_name``).
"""

from __future__ import annotations

from zakaz.returns.reasons import ReturnReason
from zakaz.returns.states import PROGRESS, ReturnStatus

S = ReturnStatus
R = ReturnReason

#: Lower-case fragments of Ozon's reason texts -> our reason, most specific first.
REASON_KEYWORDS: tuple[tuple[tuple[str, ...], ReturnReason], ...] = (
    (
        ("не тот товар", "перепут", "пересорт", "другой товар", "не соответствует заказ", "wrong item"),
        R.wrong_item,
    ),
    (("поврежд", "разбит", "помят", "вскрыт", "damaged"), R.damaged_in_transit),
    (("брак", "дефект", "не работает", "неисправ", "сломан", "качеств", "defect"), R.defective),
    (("описани", "не соответствует", "фото", "not as described"), R.not_as_described),
    (("размер", "не подош", "не подход", "маломер", "большемер", "size"), R.size_fit),
    (("передумал", "не понрав", "не нужен", "не нужна", "не нужно", "отказ", "changed"), R.changed_mind),
)


def reason_from_text(text: str | None) -> ReturnReason:
    """Our reason for Ozon's text; ``other`` when nothing matches (the caller keeps the text)."""
    lowered = (text or "").lower()
    for fragments, reason in REASON_KEYWORDS:
        if any(fragment in lowered for fragment in fragments):
            return reason
    return R.other


def kind_for(ozon_type: str) -> str:
    """``Cancellation`` (the posting never reached the buyer): goods back to stock, nobody refunded."""
    return "cancellation" if ozon_type.strip().lower() == "cancellation" else "return"


#: Ozon visual status -> where our return stands at least. Missing: unknown status, nothing moves.
STATUS_TARGETS: dict[str, ReturnStatus] = {
    **dict.fromkeys(("DisputeOpened", "OnSellerApproval", "OnSellerClarification", "Created"), S.requested),
    **dict.fromkeys(
        (
            "Approved",
            "ApprovedByOzon",
            "WaitingShipment",
            "MovingToOzon",
            "ReturnedToOzon",
            "MoneyReturned",
            "CompensatedBySeller",
        ),
        S.approved,
    ),
    **dict.fromkeys(
        (
            "MovingToSeller",
            "ReturningToSellerByCourier",
            "ArrivedAtReturnPlace",
            "WaitingForSeller",
            "PickedUpBySeller",
        ),
        S.in_transit,
    ),
    # the parcel is in our hands: received, ready for inspection (counting stays a warehouse action)
    "ReceivedBySeller": S.received,
    "ReturnedToSeller": S.received,
    "Rejected": S.rejected,
    "Cancelled": S.closed,
    "Utilizing": S.closed,
    "Utilized": S.closed,
}


def path_to(current: ReturnStatus | str, target: ReturnStatus) -> list[ReturnStatus]:
    """The transitions that move a return forward from ``current`` to ``target``; empty: stay.

    Never backwards: a target at or behind the current place on requested -> approved -> in_transit ->
    received -> inspected gives nothing. An ending (``rejected``, ``closed``) applies only before the parcel
    is received (after that, our inspection decides); a request still under review that the marketplace
    closes is ``rejected`` (``requested`` cannot be closed).
    """
    current = S(current)
    if target in (S.rejected, S.closed):
        if current is S.requested:
            return [S.rejected]
        return [S.closed] if current in (S.approved, S.in_transit) else []
    if current not in PROGRESS or target not in PROGRESS:
        return []
    here, there = PROGRESS.index(current), PROGRESS.index(target)
    return list(PROGRESS[here + 1 : there + 1])
