"""Manifest as CSV (UTF-8 with BOM so spreadsheet programs open Cyrillic correctly; ``;`` for RU locales)."""

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


def manifest_csv(data: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["manifest", "carrier", "warehouse", *COLUMNS])
    for s in data["shipments"]:
        writer.writerow([data["number"], data["carrier"], data["warehouse"], *(s[c] for c in COLUMNS)])
    return ("\ufeff" + out.getvalue()).encode()
