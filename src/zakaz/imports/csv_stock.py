"""Import stock from a CSV file: set ``on_hand`` (a stocktake) or add a ``delta``, one transaction per row.

Every change goes through :func:`zakaz.inventory.service.adjust` (never below what is reserved, one
stock-movement row with the reason) and, when stock goes up, waiting backorders are allocated, as the stock
API does. Re-importing is idempotent per row: each row's movement carries the reference
``csv:<file stem>:<hash of the row's content>:<n-th identical row>`` and a row whose reference is already
booked is skipped. So a file can be fixed and imported again (rows that went through are not applied twice,
even when rows above them were removed); an identical change meant to be applied again needs a new file
name. Column reference: docs/csv-import.md.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zakaz.allocation.routing import Policy
from zakaz.catalog.models import Product
from zakaz.db import run_in_transaction
from zakaz.errors import DomainError, ValidationFailed
from zakaz.imports.csvfile import Row, RowError, read_table
from zakaz.inventory import service as stock
from zakaz.inventory.models import MovementReason, StockLevel, StockMovement, Warehouse
from zakaz.orders.service import fill_backorders

REQUIRED = ("warehouse", "sku")
AMOUNT = ("on_hand", "delta")
OPTIONAL = ("on_hand", "delta", "bin_location", "reason", "note")
REASONS = ("import", "receipt", "adjustment", "stocktake", "damage", "return_restock")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StockChange:
    row: int
    warehouse: str
    sku: str
    on_hand: int | None
    delta: int | None
    bin_location: str | None
    reason: MovementReason
    note: str


@dataclass
class StockReport:
    rows: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0  # already imported from this very file
    failed: int = 0
    backorders_allocated: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    delimiter: str = ","

    @property
    def ok(self) -> bool:
        return not self.errors


def _int(raw: str) -> int | None:
    text = re.sub(r"[\s\u00a0\u202f]", "", raw)
    return int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else None


def parse_row(row: Row) -> tuple[StockChange | None, list[RowError]]:
    sku = row.get("sku")
    errors = [RowError(row.number, sku, c, f"{c} is required") for c in REQUIRED if not row.get(c)]
    amounts = {c: row.get(c) for c in AMOUNT if row.get(c)}
    parsed = {c: _int(v) for c, v in amounts.items()}
    errors += [
        RowError(row.number, sku, c, f"not a whole number: {amounts[c]!r}")
        for c, v in parsed.items()
        if v is None
    ]
    if len(amounts) > 1:
        errors.append(RowError(row.number, sku, "on_hand", "give on_hand or delta, not both"))
    elif not amounts and not row.get("bin_location"):
        errors.append(RowError(row.number, sku, "on_hand", "give on_hand (set) or delta (add/remove)"))
    on_hand, delta = parsed.get("on_hand"), parsed.get("delta")
    if on_hand is not None and on_hand < 0:
        errors.append(RowError(row.number, sku, "on_hand", "on hand cannot be negative"))
    reason = row.get("reason").lower() or MovementReason.import_.value
    if reason not in REASONS:
        errors.append(
            RowError(row.number, sku, "reason", f"unknown reason {reason!r}; use one of {', '.join(REASONS)}")
        )
    if len(row.get("bin_location")) > 32:
        errors.append(RowError(row.number, sku, "bin_location", "at most 32 characters"))
    if errors:
        return None, errors
    return (
        StockChange(
            row=row.number,
            warehouse=row.get("warehouse"),
            sku=sku,
            on_hand=on_hand,
            delta=0 if on_hand is None and delta is None else delta,
            bin_location=row.get("bin_location") or None,
            reason=MovementReason(reason),
            note=row.get("note")[:500],
        ),
        [],
    )


def row_reference(path: Path, change: StockChange, seen: Counter[str]) -> str:
    """``csv:<stem>:<content hash>:<occurrence>``: stable across re-imports, unique within the file."""
    content = "\x1f".join(
        str(v)
        for v in (
            change.warehouse,
            change.sku,
            change.on_hand,
            change.delta,
            change.bin_location,
            change.reason,
            change.note,
        )
    )
    digest = hashlib.sha256(content.encode()).hexdigest()[:12]
    seen[digest] += 1
    return f"csv:{path.stem[:60]}:{digest}:{seen[digest]}"


def already_booked(session: Session, change: StockChange, reference: str) -> bool:
    found = session.scalar(
        select(StockMovement.id)
        .join(StockLevel, StockLevel.id == StockMovement.stock_level_id)
        .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
        .join(Product, Product.id == StockLevel.product_id)
        .where(
            Warehouse.code == change.warehouse,
            Product.sku == change.sku,
            StockMovement.reference == reference,
        )
        .limit(1)
    )
    return found is not None


def apply(
    session: Session, change: StockChange, *, reference: str, actor: str, policy: Policy
) -> tuple[str, list[str]]:
    """One row in the caller's transaction: ("changed" | "unchanged" | "skipped", backorders allocated)."""
    if already_booked(session, change, reference):
        return "skipped", []
    result = stock.adjust(
        session,
        warehouse_code=change.warehouse,
        sku=change.sku,
        delta=change.delta,
        set_on_hand=change.on_hand,
        reason=change.reason,
        note=change.note,
        actor=actor,
        reference=reference,
        bin_location=change.bin_location,
    )
    filled = (
        fill_backorders(session, product_id=result.product_id, actor=actor, policy=policy)
        if result.delta > 0
        else []
    )
    return ("changed" if result.delta else "unchanged"), filled


def import_stock(
    engine: Engine, path: Path, *, policy: Policy, actor: str | None = None, progress: Progress | None = None
) -> StockReport:
    """Apply every row of the file; raises CsvFormatError when the file itself is unusable."""
    table = read_table(path, required=REQUIRED, one_of=[AMOUNT], known=OPTIONAL)
    seen: Counter[str] = Counter()
    who = actor or f"csv-import:{path.name}"
    report = StockReport(rows=len(table.rows), delimiter=table.delimiter)
    for done, row in enumerate(table.rows, start=1):
        change, problems = parse_row(row)
        if change is not None:
            work = partial(
                apply, change=change, reference=row_reference(path, change, seen), actor=who, policy=policy
            )
            try:
                outcome, filled = run_in_transaction(engine, work)
            except ValidationFailed as exc:
                problems = [
                    RowError(row.number, change.sku, _column(e.field, change), e.message) for e in exc.errors
                ]
            except DomainError as exc:
                field_ = _column(str(exc.extra.get("field", "")), change)
                problems = [RowError(row.number, change.sku, field_, exc.detail)]
            else:
                report.changed += outcome == "changed"
                report.unchanged += outcome == "unchanged"
                report.skipped += outcome == "skipped"
                report.backorders_allocated += filled
        if problems:
            report.failed += 1
            report.errors += problems
        if progress:
            progress(done, len(table.rows))
    report.errors.sort(key=lambda e: e.row)
    return report


def _column(name: str, change: StockChange) -> str:
    if name in {"delta", "set_on_hand"}:
        return "on_hand" if change.on_hand is not None else "delta"
    return name or "row"
