"""Import orders from a CSV file through the real intake, one transaction per order.

Rows with the same ``order_ref`` form one order (one row per line). Each order is received by
:func:`zakaz.orders.intake.receive` in its own transaction: good orders are imported, a bad one is reported
with its row numbers and reasons and nothing of it is written. Re-importing a file is idempotent: the
intake finds orders by (channel, external_id); an empty external_id becomes ``csv:<file stem>:<order_ref>``.
Column reference: docs/csv-import.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from zakaz.db import run_in_transaction, unit_of_work
from zakaz.errors import DomainError, FieldError, ValidationFailed
from zakaz.imports.csvfile import Row, RowError, read_table
from zakaz.money import MoneyFormatError, to_minor
from zakaz.orders.intake import IntakeConfig, load_catalog, receive, validate
from zakaz.orders.models import Order
from zakaz.orders.schemas import OrderCreate

REQUIRED = ("order_ref", "customer_name", "city", "address", "sku", "quantity", "unit_price")
CONTACT = ("email", "phone")
OPTIONAL = ("channel", "external_id", "email", "phone", "region", "postcode", "shipping", "payment_status")
#: Columns that describe the order, not the line: later rows may repeat them or leave them empty.
ORDER_COLUMNS = (
    "channel", "external_id", "customer_name", "email", "phone", "city", "region", "postcode", "address",
    "shipping", "payment_status",
)  # fmt: skip
DEFAULT_CHANNEL = "csv"

# Intake and schema field paths -> the CSV column a person has to fix.
_COLUMNS = {
    "channel": "channel",
    "external_id": "external_id",
    "customer": "email",
    "customer.name": "customer_name",
    "customer.email": "email",
    "customer.phone": "phone",
    "shipping_address.name": "customer_name",
    "shipping_address.city": "city",
    "shipping_address.region": "region",
    "shipping_address.postcode": "postcode",
    "shipping_address.line1": "address",
    "shipping_minor": "shipping",
    "total_minor": "unit_price",
    "payment_status": "payment_status",
    "lines": "sku",
    "sku": "sku",
    "quantity": "quantity",
    "unit_price_minor": "unit_price",
}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")

Progress = Callable[[int, int], None]


@dataclass
class OrdersReport:
    orders: int = 0
    created: int = 0
    existing: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    delimiter: str = ","

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class CsvOrder:
    ref: str
    rows: list[Row]


def group_rows(rows: list[Row]) -> tuple[list[CsvOrder], list[RowError]]:
    """Rows by order_ref in order of first appearance; rows without an order_ref are errors."""
    groups: dict[str, list[Row]] = {}
    errors = []
    for row in rows:
        ref = row.get("order_ref")
        if not ref:
            errors.append(
                RowError(row.number, "", "order_ref", "order_ref is required (it groups rows into orders)")
            )
        else:
            groups.setdefault(ref, []).append(row)
    return [CsvOrder(ref, group) for ref, group in groups.items()], errors


def parse_amount(raw: str) -> int:
    """Rubles as written in a spreadsheet ("1290.50", "1 290,50", "1290,5 ₽") -> kopecks."""
    text = re.sub(r"[\s\u00a0\u202f₽]", "", raw).removesuffix("руб.").removesuffix("руб")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return to_minor(text)


def _order_values(order: CsvOrder) -> tuple[dict[str, str], list[RowError]]:
    """Order-level values: the first non-empty one per column; a different value later is an error."""
    values: dict[str, str] = {}
    source: dict[str, int] = {}
    errors = []
    for row in order.rows:
        for column in ORDER_COLUMNS:
            value = row.get(column)
            if not value:
                continue
            if column not in values:
                values[column], source[column] = value, row.number
            elif value != values[column]:
                errors.append(
                    RowError(
                        row.number,
                        order.ref,
                        column,
                        f"{value!r} differs from {values[column]!r} in row {source[column]} of this order",
                    )
                )
    return values, errors


def parse_order(order: CsvOrder, *, file_stem: str) -> tuple[OrderCreate | None, list[RowError]]:
    """The intake payload and the problems found in the cells.

    With problems the payload (if any) has placeholders in the bad cells and must not be received; it can
    still be checked, so that one run reports every problem of the order.
    """
    values, errors = _order_values(order)
    lines: list[dict[str, Any]] = []
    for row in order.rows:
        quantity = re.sub(r"[\s\u00a0]", "", row.get("quantity"))
        if not re.fullmatch(r"[+-]?\d{1,9}", quantity):
            errors.append(RowError(row.number, order.ref, "quantity", f"not a whole number: {quantity!r}"))
            quantity = "1"  # a placeholder, so that the other checks can still run
        price = _amount(row, "unit_price", row.get("unit_price"), order.ref, errors)
        lines.append({"sku": row.get("sku"), "quantity": int(quantity), "unit_price_minor": price})
    shipping = _amount(order.rows[0], "shipping", values.get("shipping", "0"), order.ref, errors)
    body = {
        "channel": values.get("channel", DEFAULT_CHANNEL).lower(),
        "external_id": values.get("external_id") or f"csv:{file_stem}:{order.ref}",
        "customer": {
            "name": values.get("customer_name", ""),
            "email": values.get("email") or None,
            "phone": values.get("phone") or None,
        },
        "shipping_address": {
            "city": values.get("city", ""),
            "region": values.get("region", ""),
            "postcode": values.get("postcode", ""),
            "line1": values.get("address", ""),
        },
        "lines": lines,
        "shipping_minor": shipping,
        "payment_status": values.get("payment_status", "pending").lower(),
    }
    try:
        return OrderCreate.model_validate(body), errors
    except ValidationError as exc:
        fields = [FieldError(_loc(e["loc"]), e["type"], e["msg"]) for e in exc.errors(include_url=False)]
        return None, errors + row_errors(order, fields)


def _amount(row: Row, column: str, raw: str, ref: str, errors: list[RowError]) -> int:
    try:
        return parse_amount(raw)
    except MoneyFormatError:
        message = f"not an amount in rubles like 1290.50: {raw!r}" if raw else "an amount is required"
        errors.append(RowError(row.number, ref, column, message))
        return 0


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def row_errors(order: CsvOrder, errors: list[FieldError]) -> list[RowError]:
    """Intake/schema field errors -> (row, CSV column, message): line errors point at the line's row."""
    out = []
    for e in errors:
        row = order.rows[0].number
        path = e.field
        match = _LINE_FIELD.match(path)
        if match and int(match.group(1)) < len(order.rows):
            row, path = order.rows[int(match.group(1))].number, match.group(2)
        out.append(RowError(row, order.ref, _COLUMNS.get(path, path), e.message))
    return out


def import_orders(
    engine: Engine,
    path: Path,
    *,
    config: IntakeConfig,
    actor: str | None = None,
    progress: Progress | None = None,
) -> OrdersReport:
    """Import every order of the file; raises CsvFormatError when the file itself is unusable."""
    table = read_table(path, required=REQUIRED, one_of=[CONTACT], known=OPTIONAL)
    orders, errors = group_rows(table.rows)
    report = OrdersReport(orders=len(orders), errors=errors, delimiter=table.delimiter)
    who = actor or f"csv-import:{path.name}"
    created_ids = []
    for done, order in enumerate(orders, start=1):
        payload, problems = parse_order(order, file_stem=path.stem)
        if problems and payload is not None:
            problems = _merge(problems, check(engine, order, payload, config))
        elif payload is not None:
            try:
                result = run_in_transaction(engine, partial(receive, data=payload, actor=who, config=config))
            except ValidationFailed as exc:
                problems = row_errors(order, exc.errors)
            except DomainError as exc:
                column = _COLUMNS.get(str(exc.extra.get("field", "")), "order")
                problems = [RowError(order.rows[0].number, order.ref, column, exc.detail)]
            else:
                if result.created:
                    report.created += 1
                    created_ids.append(result.order_id)
                else:
                    report.existing += 1
        if problems:
            report.failed += 1
            report.errors += problems
        if progress:
            progress(done, len(orders))
    report.statuses = _statuses(engine, created_ids)
    report.errors.sort(key=lambda e: e.row)
    return report


def check(engine: Engine, order: CsvOrder, payload: OrderCreate, config: IntakeConfig) -> list[RowError]:
    """What the intake's validation would say, without receiving (read-only)."""
    with unit_of_work(engine, read_only=True) as session:
        catalog = load_catalog(session, [line.sku for line in payload.lines])
    try:
        validate(payload, catalog, config)
    except ValidationFailed as exc:
        return row_errors(order, exc.errors)
    return []


def _merge(first: list[RowError], more: list[RowError]) -> list[RowError]:
    seen = {(e.row, e.field) for e in first}
    return first + [e for e in more if (e.row, e.field) not in seen]


def _statuses(engine: Engine, order_ids: list[int]) -> Counter[str]:
    counts: Counter[str] = Counter()
    with unit_of_work(engine, read_only=True) as session:
        for start in range(0, len(order_ids), 500):
            chunk = order_ids[start : start + 500]
            rows = session.execute(
                select(Order.status, func.count()).where(Order.id.in_(chunk)).group_by(Order.status)
            )
            for status, count in rows:
                counts[status] += count
    return counts
