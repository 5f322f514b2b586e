"""Return reasons and item conditions: who is at fault decides what is refunded."""

from __future__ import annotations

from enum import StrEnum


class ReturnReason(StrEnum):
    defective = "defective"
    wrong_item = "wrong_item"
    damaged_in_transit = "damaged_in_transit"
    not_as_described = "not_as_described"
    changed_mind = "changed_mind"
    size_fit = "size_fit"
    #: marketplace returns whose reason text matches none of ours (the text is kept in the comment);
    #: not offered to shoppers
    other = "other"


#: What shoppers may choose by default (``other`` only comes from marketplaces).
SHOPPER_REASONS = tuple(r for r in ReturnReason if r is not ReturnReason.other)


SELLER_FAULT = frozenset(
    {
        ReturnReason.defective,
        ReturnReason.wrong_item,
        ReturnReason.damaged_in_transit,
        ReturnReason.not_as_described,
    }
)


class Condition(StrEnum):
    """What inspection found."""

    unopened = "unopened"
    opened = "opened"
    damaged_by_shopper = "damaged_by_shopper"
    missing = "missing"


#: Conditions whose units may go back on sale. Anything else (damaged, missing) never re-enters sellable
#: stock: the server refuses an explicit restock of it and the inspection form only pre-ticks these.
RESELLABLE_CONDITIONS = frozenset({Condition.unopened, Condition.opened})


def is_resellable(condition: Condition | str) -> bool:
    return Condition(condition) in RESELLABLE_CONDITIONS


def is_seller_fault(reason: ReturnReason | str) -> bool:
    return ReturnReason(reason) in SELLER_FAULT
