"""A4 PDFs with reportlab platypus: pick list, packing slip, manifest."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, SimpleDocTemplate, Spacer, Table, TableStyle

from zakaz.fulfilment.documents.fonts import code128, para
from zakaz.money import CURRENCIES, from_minor

#: Orders listed per table row of a pick-list line; long lines continue on further rows (a table row
#: taller than a page cannot be laid out).
ORDERS_PER_ROW = 12
GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
)


def _build(story: list[Flowable], title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=title,
        author="Zakaz",
        pageCompression=1,
    )
    doc.build(story)
    return buffer.getvalue()


def _header(title: str, number: str, facts: Sequence[str]) -> list[Flowable]:
    table = Table(
        [
            [
                [para(title, bold_size=15), para(number, 12), *(para(f, 9) for f in facts)],
                code128(number, dots=3, height_mm=14),
            ]
        ],
        colWidths=[100 * mm, 86 * mm],
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return [table, Spacer(1, 4 * mm)]


def _orders_text(orders: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"{o['shipment']} ×{o['quantity'] - o['short']}" for o in orders)


def pick_list_pdf(data: dict[str, Any]) -> bytes:
    facts = [
        f"Склад / Warehouse: {data['warehouse']} {data['warehouse_name']}",
        f"Заказов / Orders: {data['order_count']}   Строк / Lines: {data['line_count']}   "
        f"Штук / Units: {data['unit_count']}",
        f"Создан / Created: {data['created_at'][:16].replace('T', ' ')} UTC",
    ]
    rows: list[list[Any]] = [
        [
            para(h, 8)
            for h in ("#", "Ячейка / Bin", "Товар / Item", "Кол-во / Qty", "✓", "Заказы / Orders", "")
        ]
    ]
    for line in data["lines"]:
        chunks = [
            line["orders"][i : i + ORDERS_PER_ROW] for i in range(0, len(line["orders"]), ORDERS_PER_ROW)
        ]
        for index, chunk in enumerate(chunks or [[]]):
            first = index == 0
            rows.append(
                [
                    para(str(line["seq"]) if first else "", 9),
                    para(line["bin"] or "—", 10) if first else "",
                    para(f"{line['sku']}\n{line['name']}", 8) if first else para("…", 8),
                    para(str(line["quantity"]), 12) if first else "",
                    "",
                    para(_orders_text(chunk), 7),
                    code128(line["barcode"], dots=2, height_mm=8) if first else "",
                ]
            )
    table = Table(rows, colWidths=[8 * mm, 22 * mm, 42 * mm, 14 * mm, 8 * mm, 52 * mm, 40 * mm], repeatRows=1)
    table.setStyle(GRID)
    total = f"Итого / Total: {data['unit_count']} шт. / units, {data['line_count']} строк / lines"
    return _build(
        [
            *_header("Лист подбора / Pick list", data["number"], facts),
            table,
            Spacer(1, 4 * mm),
            para(total, 10),
        ],
        data["number"],
    )


def packing_slip_pdf(data: dict[str, Any], *, return_ru: str, return_en: str) -> bytes:
    facts = [
        f"Заказ / Order: {data['order']}",
        f"Покупатель / Customer: {data['customer']}  {data['phone']}",
        f"Адрес / Address: {data['address']}",
    ]
    if data.get("tracking_number"):
        facts.append(f"Трек-номер / Tracking: {data['carrier']} {data['tracking_number']}")
    rows: list[list[Any]] = [[para(h, 8) for h in ("Артикул / SKU", "Наименование / Item", "Кол-во / Qty")]]
    rows += [[para(ln["sku"], 9), para(ln["name"], 9), para(str(ln["quantity"]), 10)] for ln in data["lines"]]
    table = Table(rows, colWidths=[40 * mm, 120 * mm, 26 * mm], repeatRows=1)
    table.setStyle(GRID)
    total = sum(ln["quantity"] for ln in data["lines"])
    weight = f"{(data['weight_g'] or 0) / 1000:.3f} kg"
    story = [
        *_header("Упаковочный лист / Packing slip", data["shipment"], facts),
        table,
        Spacer(1, 3 * mm),
        para(
            f"Всего / Total: {total} шт. / pcs   Коробка / Box: {data['box'] or '—'}   "
            f"Вес / Weight: {weight}",
            9,
        ),
        Spacer(1, 6 * mm),
        para("Возврат товара", bold_size=11),
        para(return_ru, 9),
        para(f"Адрес для возврата: {data['return_address']}", 9),
        Spacer(1, 3 * mm),
        para("Returns", bold_size=11),
        para(return_en, 9),
        para(f"Return address: {data['return_address']}", 9),
    ]
    return _build(story, data["shipment"])


def _amount(minor: int, currency: str, *, grouped: bool = True) -> str:
    """1234550, "RUB" -> "12 345.50 RUB" (digits grouped by spaces; ungrouped in narrow table cells)."""
    value = from_minor(minor, exponent=CURRENCIES.get(currency, 2))
    return (f"{value:,}".replace(",", " ") if grouped else f"{value}") + f" {currency}"


def manifest_pdf(data: dict[str, Any]) -> bytes:
    """The driver's copy. Declared values (a column and their total) only when the data carry them:
    ``views.manifest_detail(money=False)`` leaves them out for callers who may not see money."""
    shipments = data["shipments"]
    money = any("declared_value_minor" in s for s in shipments)
    facts = [
        f"Перевозчик / Carrier: {data['carrier']}",
        f"Склад / Warehouse: {data['warehouse']} {data['warehouse_name']}",
        f"Закрыт / Closed: {data['closed_at'][:16].replace('T', ' ')} UTC",
        f"Отправлений / Shipments: {data['shipment_count']}   "
        f"Вес / Weight: {data['total_weight_g'] / 1000:.3f} kg",
    ]
    if money:
        totals: dict[str, int] = {}
        for s in shipments:
            totals[s["currency"]] = totals.get(s["currency"], 0) + s["declared_value_minor"]
        declared = ", ".join(_amount(v, c) for c, v in sorted(totals.items()))
        facts.append(f"Объявленная ценность / Declared value: {declared}")
    headings = [
        "#",
        "Отправление / Shipment",
        "Трек / Tracking",
        "Получатель / Recipient",
        "Город / City",
        "Вес / kg",
    ]
    widths = [8, 40, 50, 38, 32, 18]
    currencies = {s["currency"] for s in shipments} if money else set()
    one_currency = next(iter(currencies)) if len(currencies) == 1 else None
    if money:
        headings.append(f"Ценность / Value{f', {one_currency}' if one_currency else ''}")
        widths = [8, 36, 50, 32, 26, 14, 20]
    rows: list[list[Any]] = [[para(h, 8) for h in headings]]
    for i, s in enumerate(shipments, start=1):
        row: list[Any] = [
            para(str(i), 8),
            para(s["shipment"], 8),
            [
                para(s["tracking_number"] or "", 8),
                code128(s["tracking_number"] or s["shipment"], dots=2, height_mm=7),
            ],
            para(s["recipient"], 8),
            para(f"{s['postcode']} {s['city']}", 8),
            para(f"{(s['weight_g'] or 0) / 1000:.3f}", 8),
        ]
        if money:
            amount = _amount(s["declared_value_minor"], s["currency"], grouped=False)
            row.append(para(amount.removesuffix(f" {one_currency}") if one_currency else amount, 8))
        rows.append(row)
    table = Table(rows, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(GRID)
    sign = "Сдал / Handed over: ______________________        Принял / Received: ______________________"
    return _build(
        [
            *_header("Реестр передачи / Manifest", data["number"], facts),
            table,
            Spacer(1, 10 * mm),
            para(sign, 9),
        ],
        data["number"],
    )
