"""``zakaz import orders|stock`` end to end through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import add_product, add_warehouse, set_stock
from zakaz.catalog.models import Product
from zakaz.cli.main import app
from zakaz.config import get_settings
from zakaz.customers.models import Customer
from zakaz.db import unit_of_work
from zakaz.inventory.models import StockLevel, StockMovement
from zakaz.orders.models import Order, OrderLine

HEADER = (
    "order_ref;channel;external_id;customer_name;email;phone;city;region;postcode;address;sku;quantity;unit_price;"
    "shipping;payment_status"
)
ORDERS = [
    # A good two-line web order; shipping in rubles with a decimal comma (Excel, Russian locale).
    "W-1;web;;Иван Петров;ivan@example.ru;+7 916 123-45-67;Москва;;125009;ул. Тверская, д. 1, кв. 5;"
    "SKU-1;2;1290.50;299,00;paid",
    "W-1;;;;;;;;;;SKU-2;1;100;;",
    # A bad order: an unknown SKU on row 5 and a quantity that is not a number on row 6.
    "B-1;ozon;OZ-77;Анна Смирнова;anna@example.ru;;Казань;;420000;ул. Баумана, д. 3;SKU-1;1;1290.50;;paid",
    "B-1;;;;;;;;;;NO-SUCH;1;100;;",
    "B-1;;;;;;;;;;SKU-2;два;100;;",
    # A good order with an external id, from a city given without coordinates.
    "O-2;ozon;OZ-78;Олег Орлов;;8 (903) 111-22-33;Санкт-Петербург;;190000;Невский пр., д. 10;"
    "SKU-2;3;100;;cod",
]


@pytest.fixture
def cli(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ZAKAZ_DATABASE_URL", db_url)
    get_settings.cache_clear()
    add_warehouse(engine, "MSK")
    add_warehouse(engine, "SPB")
    add_product(engine, "SKU-1", price=1290_50)
    add_product(engine, "SKU-2", price=100_00)
    set_stock(engine, "MSK", "SKU-1", 10)
    set_stock(engine, "SPB", "SKU-2", 10)
    yield CliRunner()
    get_settings.cache_clear()


def write(path: Path, lines: list[str], *, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def count(engine: Engine, model: type[Order]) -> int:
    with unit_of_work(engine, read_only=True) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_import_orders_reports_bad_rows_and_is_idempotent(
    cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    source = write(tmp_path / "shop-export.csv", [HEADER, *ORDERS], bom=True)
    errors_out = tmp_path / "errors.csv"

    result = cli.invoke(app, ["import", "orders", str(source), "--errors-out", str(errors_out)])

    assert result.exit_code == 1, result.output
    assert "imported: 2" in result.output and "failed: 1" in result.output
    assert "row 5 order_ref B-1: sku: no active product with SKU 'NO-SUCH'" in result.output
    assert "row 6 order_ref B-1: quantity: not a whole number: 'два'" in result.output
    with errors_out.open(encoding="utf-8-sig", newline="") as fh:
        reported = [(r["row"], r["order_ref"], r["field"]) for r in csv.DictReader(fh, delimiter=";")]
    assert reported == [("5", "B-1", "sku"), ("6", "B-1", "quantity")]

    with unit_of_work(engine, read_only=True) as s:
        orders = {o.external_id: o for o in s.scalars(select(Order))}
        assert set(orders) == {"csv:shop-export:W-1", "OZ-78"}
        web = orders["csv:shop-export:W-1"]
        assert (web.channel, web.subtotal_minor, web.shipping_minor) == ("web", 2 * 1290_50 + 100_00, 299_00)
        assert web.total_minor == 2 * 1290_50 + 100_00 + 299_00
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 3
        assert orders["OZ-78"].contact_phone == "+79031112233"
        # nothing of the bad order: no order, no customer
        assert s.scalar(select(func.count()).where(Customer.email == "anna@example.ru")) == 0
        assert {o.status for o in orders.values()} == {"allocated"}

    again = cli.invoke(app, ["import", "orders", str(source)])
    assert again.exit_code == 1
    assert "imported: 0" in again.output and "already imported: 2" in again.output
    assert count(engine, Order) == 2


def test_import_stock_sets_and_adds_once(cli: CliRunner, engine: Engine, tmp_path: Path) -> None:
    source = write(
        tmp_path / "stock.csv",
        [
            "warehouse,sku,on_hand,delta,bin_location,reason",
            "MSK,SKU-1,25,,A-01-03,stocktake",
            "SPB,SKU-2,,+5,,receipt",
            "MSK,SKU-2,7,,B-02-01,",
        ],
    )
    for _ in range(2):  # the second import changes nothing
        result = cli.invoke(app, ["import", "stock", str(source)])
        assert result.exit_code == 0, result.output
    with unit_of_work(engine, read_only=True) as s:
        levels = {(r.warehouse_id, r.product_id): r for r in s.scalars(select(StockLevel))}
        assert sorted((lv.on_hand, lv.bin_location) for lv in levels.values()) == [
            (7, "B-02-01"),
            (15, None),
            (25, "A-01-03"),
        ]
        reasons = sorted(
            s.scalars(select(StockMovement.reason).where(StockMovement.actor.like("csv-import:%")))
        )
    assert reasons == ["import", "receipt", "stocktake"]


def test_import_stock_reports_bad_rows_and_a_fixed_file_applies_each_row_once(
    cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    source = write(
        tmp_path / "stock.csv", ["warehouse;sku;delta", "MSK;SKU-1;-11", "XXX;SKU-1;1", "MSK;SKU-1;1"]
    )
    result = cli.invoke(app, ["import", "stock", str(source)])
    assert result.exit_code == 1
    assert "row 2 sku SKU-1: delta:" in result.output
    assert "row 3 sku SKU-1: warehouse: no warehouse 'XXX'" in result.output
    assert "changed: 1" in result.output

    write(source, ["warehouse;sku;delta", "MSK;SKU-1;-1", "SPB;SKU-1;1", "MSK;SKU-1;1"])  # fixed rows 2 and 3
    result = cli.invoke(app, ["import", "stock", str(source)])
    assert result.exit_code == 0, result.output
    assert "changed: 2" in result.output and "already imported: 1" in result.output
    with unit_of_work(engine, read_only=True) as s:
        on_hand = sorted(s.scalars(select(StockLevel.on_hand).where(StockLevel.product_id == _product_id(s))))
    assert on_hand == [1, 10]  # MSK: 10 + 1 - 1; SPB: 1


def _product_id(session: Session) -> int:
    found = session.scalar(select(Product.id).where(Product.sku == "SKU-1"))
    assert found is not None
    return found


def test_missing_columns_exit_2_and_name_them(cli: CliRunner, tmp_path: Path) -> None:
    source = write(tmp_path / "orders.csv", ["order_ref,sku,qty,email", "1,SKU-1,1,a@b.ru"])
    result = cli.invoke(app, ["import", "orders", str(source)])
    assert result.exit_code == 2
    assert "missing columns: customer_name, city, address, quantity, unit_price" in result.output
    stock = write(tmp_path / "stock.csv", ["warehouse,sku", "MSK,SKU-1"])
    result = cli.invoke(app, ["import", "stock", str(stock)])
    assert result.exit_code == 2
    assert "on_hand or delta" in result.output
