"""Hold reasons and allocation reasons in the reader's language.

The domain stores each reason twice: an English sentence (``detail`` / ``reason`` / ``note``: the API,
the CLI and older rows) and the same reason as data (a code and its ``params``). These functions word
the data through the gettext catalogues, with money and numbers formatted for the page's locale; a row
without the data (written before it existed), or with data they cannot read, shows the stored English.
They are called from the templates, inside ``i18n.use_locale``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zakaz.web.i18n import N_, fmt_money, fmt_number, gettext

#: One message per hold code, filled from the hold's ``params`` (see ``orders.rules``).
HOLD_TEXT = {
    "first_order_high_value": N_("first order worth %(total)s is above the review limit %(limit)s"),
    "value_above_history": N_(
        "order worth %(total)s is over %(multiplier)sx this customer's average of %(average)s"
    ),
    "address_unlocatable": N_("no coordinates and unknown city/region: %(where)s"),
    "insufficient_stock": N_("not enough stock for %(items)s"),
    "unknown_sku": N_("SKUs not in the catalog: %(skus)s"),
    "unknown_warehouse": N_("Ozon warehouse %(warehouse)s is not mapped to one of ours; map it and release"),
    "payment_failed": N_("the payment failed"),
    "short_pick": N_("%(missing)s × %(sku)s missing at bin %(bin)s (pick list %(pick_list)s)"),
}
#: The same, for people who may not see money (warehouse staff).
HOLD_TEXT_NO_MONEY = {
    "first_order_high_value": N_("first order above the review limit"),
    "value_above_history": N_("order worth over %(multiplier)sx this customer's average"),
}

LEG_TEXT = {
    "whole_order": N_("fills the whole order; %(distance)s; priority %(priority)s"),
    "most_remaining_units": N_(
        "no single warehouse can fill the order; covers the most remaining units (%(units)s); "
        "%(distance)s; priority %(priority)s"
    ),
    "next_by_priority": N_("next by warehouse priority (%(units)s); %(distance)s; priority %(priority)s"),
    "most_stock": N_("most stock of the needed units (%(units)s); %(distance)s; priority %(priority)s"),
}
PREFERRED_OVER = N_("%(reason)s; preferred over %(others)s")
THEN = N_("%(reason)s; then %(next)s")
KM_AWAY = N_("%(km)s km away")
DISTANCE_UNKNOWN = N_("distance unknown")
LIST_SEPARATOR = N_(", ")


def _list(items: list[str]) -> str:
    return gettext(LIST_SEPARATOR).join(items)


def _distance(km: Any) -> str:
    if km is None:
        return gettext(DISTANCE_UNKNOWN)
    return gettext(KM_AWAY) % {"km": fmt_number(round(float(km)))}


def _hold_values(code: str, p: Mapping[str, Any], show_money: bool) -> dict[str, str]:
    if code == "first_order_high_value":
        return (
            {
                "total": fmt_money(int(p["total_minor"]), str(p["currency"])),
                "limit": fmt_money(int(p["limit_minor"]), str(p["currency"])),
            }
            if show_money
            else {}
        )
    if code == "value_above_history":
        values = {"multiplier": fmt_number(int(p["multiplier"]))}
        if show_money:
            values["total"] = fmt_money(int(p["total_minor"]), str(p["currency"]))
            values["average"] = fmt_money(int(p["average_minor"]), str(p["currency"]))
        return values
    if code == "address_unlocatable":
        return {"where": _list([str(x) for x in (p.get("city"), p.get("region")) if x]) or "—"}
    if code == "insufficient_stock":
        items = [f"{i['sku']} × {fmt_number(int(i['quantity']))}" for i in p["items"]]
        return {"items": _list(items)}
    if code == "unknown_sku":
        return {"skus": _list([str(s) for s in p["skus"]])}
    if code == "unknown_warehouse":
        return {"warehouse": str(p.get("warehouse") or "—")}
    if code == "short_pick":
        return {
            "missing": fmt_number(int(p["missing"])),
            "sku": str(p["sku"]),
            "bin": str(p.get("bin") or "—"),
            "pick_list": str(p["pick_list"]),
        }
    return {}


def hold_text(hold: Mapping[str, Any], show_money: bool) -> str:
    """The line under a hold's name: translated from ``params``, else the stored English ``detail``."""
    code = str(hold.get("code") or "")
    detail = str(hold.get("detail") or "")
    money = code in HOLD_TEXT_NO_MONEY
    params = hold.get("params")
    if code in HOLD_TEXT and isinstance(params, Mapping):
        try:
            values = _hold_values(code, params, show_money)
        except (KeyError, TypeError, ValueError):
            pass  # data from a version that wrote other params: the English text below
        else:
            message = HOLD_TEXT[code] if show_money or not money else HOLD_TEXT_NO_MONEY[code]
            return gettext(message) % values
    if money and not show_money:
        return ""  # the English sentence carries the amounts
    return detail  # an operator's own words (manual), older rows, unknown codes


def _leg_text(code: Any, p: Any) -> str | None:
    if code not in LEG_TEXT or not isinstance(p, Mapping):
        return None
    try:
        text = gettext(LEG_TEXT[code]) % {
            "distance": _distance(p["distance_km"]),
            "priority": fmt_number(int(p["priority"])),
            "units": fmt_number(int(p.get("units") or 0)),
        }
        others = [str(c) for c in p.get("preferred_over") or []]
    except (KeyError, TypeError, ValueError):
        return None
    if others:
        text = gettext(PREFERRED_OVER) % {"reason": text, "others": _list(others)}
    return text


def leg_reason(leg: Mapping[str, Any]) -> str:
    """Why this warehouse: from ``reason_code`` + ``reason_params`` (and ``reason_then``), else ``reason``."""
    text = _leg_text(leg.get("reason_code"), leg.get("reason_params"))
    if text is None:
        return str(leg.get("reason") or "")
    for later in leg.get("reason_then") or []:
        more = _leg_text(later.get("code"), later.get("params")) if isinstance(later, Mapping) else None
        if more is None:
            return str(leg.get("reason") or "")
        text = gettext(THEN) % {"reason": text, "next": more}
    return text


NOTE_CHOSEN = N_("chosen")
NOTE_NONE = N_("has none of the items")
NOTE_PART = N_("has %(fills)s of %(total)s units")
NOTE_LOWER = N_("could fill the order but ranks lower")


def considered_note(row: Mapping[str, Any]) -> str:
    """The note on a warehouse considered, from its numbers (``wanted_units`` is newer), else ``note``."""
    wanted = row.get("wanted_units")
    if not isinstance(wanted, int):
        return str(row.get("note") or "")
    fills = int(row.get("fills_units") or 0)
    if row.get("chosen"):
        return gettext(NOTE_CHOSEN)
    if fills == 0:
        return gettext(NOTE_NONE)
    if fills < wanted:
        return gettext(NOTE_PART) % {"fills": fmt_number(fills), "total": fmt_number(wanted)}
    return gettext(NOTE_LOWER)
