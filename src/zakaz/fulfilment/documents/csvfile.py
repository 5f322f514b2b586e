"""Manifest as CSV (UTF-8 with BOM so spreadsheet programs open Cyrillic correctly; ``;`` for RU locales).

The ``declared_value_minor`` column is there only when the data carry declared values
(``views.manifest_detail(money=False)`` leaves them out for callers who may not see money).
"""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = (
    "shipment",
    "order",
    "tracking_number",
    "service",
    "recipient",
    "postcode",
    "city",
    "weight_g",
    "declared_value_minor",
)
MONEY_COLUMN = "declared_value_minor"


def manifest_csv(data: dict[str, Any]) -> bytes:
    shipments = data["shipments"]
    money = any(MONEY_COLUMN in s for s in shipments)
    columns = COLUMNS if money else tuple(c for c in COLUMNS if c != MONEY_COLUMN)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["manifest", "carrier", "warehouse", *columns])
    for s in shipments:
        writer.writerow([data["number"], data["carrier"], data["warehouse"], *(s[c] for c in columns)])
    return ("\ufeff" + out.getvalue()).encode()
