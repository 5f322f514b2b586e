"""Label PDFs as a warehouse sees them: readable Cyrillic text, a scannable barcode, the right page size."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from zakaz.carriers.adapter import HttpCarrier
from zakaz.carriers.base import Contact, Location, Parcel
from zakaz.carriers.labels import FONT_CANDIDATES

TOOLS = {
    "pdftotext": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "pdfinfo": "poppler-utils",
    "zbarimg": "zbar-tools",
}


@pytest.fixture(scope="module", autouse=True)
def _tools() -> None:
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    assert not missing, (
        f"label tests need the Debian packages {missing} (apt-get install -y {' '.join(missing)})"
    )


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "label.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def scan_barcodes(pdf: bytes, tmp_path: Path) -> list[str]:
    """Rasterise at a thermal printer's 203 dpi and decode like a handheld scanner would."""
    path = tmp_path / "label.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "203", "-png", "-singlefile", str(path), str(tmp_path / "page")], check=True
    )
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(tmp_path / "page.png")],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split()


@pytest.mark.parametrize("code", ["russian_post", "cdek", "courier"])
def test_label_barcode_scans_back_to_the_tracking_number(
    carriers: dict[str, HttpCarrier], make_booking: Any, code: str, tmp_path: Path
) -> None:
    booking = carriers[code].book(make_booking(code))
    assert scan_barcodes(booking.label, tmp_path) == [booking.tracking_number]


def test_label_text_is_extractable_with_cyrillic_recipient_and_shipment_details(
    carriers: dict[str, HttpCarrier], make_booking: Any, tmp_path: Path
) -> None:
    booking = carriers["russian_post"].book(make_booking("russian_post", order_number="Z-2024-0042"))
    text = re.sub(r"\s+", " ", pdf_text(booking.label, tmp_path))
    for expected in (
        "Иванова Мария Петровна",
        "ул. Баумана, д. 10, кв. 5",
        "420111 Казань, Республика Татарстан",
        "ООО «Заказ», склад №1",
        "Почта России",
        "Посылка онлайн",
        "Z-2024-0042",
        "1.250 kg",
        booking.tracking_number,
    ):
        assert expected in text


def test_label_page_is_100_by_150_mm(
    carriers: dict[str, HttpCarrier], make_booking: Any, tmp_path: Path
) -> None:
    booking = carriers["cdek"].book(make_booking("cdek"))
    path = tmp_path / "label.pdf"
    path.write_bytes(booking.label)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.findall(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)[0])
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (100, 150)
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE)


@pytest.mark.skipif(not Path(FONT_CANDIDATES[1][0]).is_file(), reason="fonts-wqy-zenhei not installed")
def test_chinese_recipient_falls_back_to_a_cjk_font(
    carriers: dict[str, HttpCarrier], make_booking: Any, tmp_path: Path
) -> None:
    beijing = Location("北京", "北京市", "100022", country="CN")
    recipient = Contact("王小明", "+86 138 0000 0000", "朝阳区建国路88号", beijing)
    request = make_booking("cdek", recipient=recipient)
    pdf = carriers["cdek"].label(replace(request, recipient=recipient), "1100285492")
    text = pdf_text(pdf, tmp_path)
    assert "王小明" in text and "朝阳区建国路88号" in text
    assert "Иванова" not in text and "ООО «Заказ», склад №1" in text


def test_each_parcel_gets_its_own_scannable_page(
    carriers: dict[str, HttpCarrier], make_booking: Any, tmp_path: Path
) -> None:
    request = make_booking("cdek")
    two_boxes = (Parcel(1250, 300, 200, 100), Parcel(4000, 400, 300, 200))
    booking = carriers["cdek"].book(replace(request, shipment=replace(request.shipment, parcels=two_boxes)))
    pages = pdf_text(booking.label, tmp_path).split("\f")
    assert ["1/2" in pages[0], "2/2" in pages[1]] == [True, True]
    assert "1.250 kg" in pages[0] and "4.000 kg" in pages[1]
    path = tmp_path / "label.pdf"
    subprocess.run(["pdftoppm", "-r", "203", "-png", str(path), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p-*.png"))
    assert len(images) == 2
    for page in images:
        scanned = subprocess.run(
            ["zbarimg", "--quiet", "--raw", str(page)], capture_output=True, text=True, check=False
        )
        assert scanned.stdout.split() == [booking.tracking_number]
