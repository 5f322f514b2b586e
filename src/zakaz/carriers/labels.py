"""100 x 150 mm shipping labels (PDF, reportlab) with a Code128 barcode of the tracking number.

The base-14 PDF fonts have no Cyrillic or Chinese glyphs and reportlab does no font fallback, so labels use
TrueType fonts found by ``find_label_fonts()``: DejaVu Sans (Latin + Cyrillic) first, WenQuanYi Zen Hei
(Latin + Cyrillic + Chinese) as the fallback for any line DejaVu cannot draw. On Debian:
``apt-get install fonts-dejavu-core fonts-wqy-zenhei``; or point ``ZAKAZ_LABEL_FONT`` at a TTF/TTC file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from zakaz.carriers.base import Contact
from zakaz.money import from_minor

LABEL_WIDTH = 100 * mm
LABEL_HEIGHT = 150 * mm
MARGIN = 5 * mm
# One printer dot at 203 dpi is 0.125 mm; whole-dot bar widths keep the barcode crisp on thermal printers.
DOT = 0.125 * mm
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)


class LabelFontMissing(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class FontFile:
    path: Path
    subfont_index: int = 0


def find_label_fonts(candidates: tuple[tuple[str, int], ...] = FONT_CANDIDATES) -> list[FontFile]:
    """Installed label fonts, preferred first (``ZAKAZ_LABEL_FONT`` overrides); raises if there are none."""
    override = os.environ.get("ZAKAZ_LABEL_FONT")
    if override:
        if not Path(override).is_file():
            raise LabelFontMissing(f"ZAKAZ_LABEL_FONT={override} does not exist")
        return [FontFile(Path(override))]
    found = [FontFile(Path(path), index) for path, index in candidates if Path(path).is_file()]
    if not found:
        tried = ", ".join(path for path, _ in candidates)
        raise LabelFontMissing(
            f"no TrueType font with Cyrillic found (tried {tried}); install the Debian packages "
            "fonts-dejavu-core and fonts-wqy-zenhei, or set ZAKAZ_LABEL_FONT to a .ttf/.ttc file"
        )
    return found


@cache
def _registered(font: FontFile) -> tuple[str, frozenset[int]]:
    name = f"ZakazLabel-{font.path.stem}-{font.subfont_index}"
    ttf = TTFont(name, str(font.path), subfontIndex=font.subfont_index)
    pdfmetrics.registerFont(ttf)
    return name, frozenset(ttf.face.charToGlyph)


def _font_for(text: str, fonts: list[FontFile]) -> str:
    """The first font with every character of ``text``, else the first font (missing glyphs show as boxes)."""
    needed = {ord(ch) for ch in text if not ch.isspace()}
    for font in fonts:
        name, cmap = _registered(font)
        if needed <= cmap:
            return name
    return _registered(fonts[0])[0]


@dataclass(frozen=True, slots=True)
class LabelData:
    carrier_name: str
    service_name: str
    tracking_number: str
    order_number: str
    sender: Contact
    recipient: Contact
    weight_g: int
    parcel_index: int = 1
    parcel_count: int = 1
    cash_on_delivery_minor: int = 0
    # issue #6: return labels say so in a banner across the top and carry a second, smaller Code128 of the
    # reference the receiving warehouse scans (the RMA number) under its caption
    banner: str = ""
    reference: str = ""
    reference_caption: str = ""


def _address_lines(contact: Contact) -> list[str]:
    loc = contact.location
    return [contact.name, contact.phone, contact.address_line, f"{loc.postcode} {loc.city}, {loc.region}"]


class _Writer:
    """Writes wrapped lines downwards from ``y``, choosing a font per line."""

    def __init__(self, canvas: Canvas, fonts: list[FontFile], y: float) -> None:
        self.canvas, self.fonts, self.y = canvas, fonts, y

    def line(self, text: str, size: float, *, indent: float = 0.0) -> None:
        font = _font_for(text, self.fonts)
        width = LABEL_WIDTH - 2 * MARGIN - indent
        for part in simpleSplit(text, font, size, width) or [""]:
            self.y -= size * 1.2
            self.canvas.setFont(font, size)
            self.canvas.drawString(MARGIN + indent, self.y, part)

    def rule(self, gap: float = 2 * mm) -> None:
        self.y -= gap
        self.canvas.line(MARGIN, self.y, LABEL_WIDTH - MARGIN, self.y)


def _barcode(value: str) -> Code128:
    """The widest whole-dot Code128 that fits the label with 10-module quiet zones on both sides."""
    for dots in (4, 3, 2):
        bar_width = dots * DOT
        code = Code128(value, barWidth=bar_width, barHeight=22 * mm, quiet=False)
        if code.width + 20 * bar_width <= LABEL_WIDTH - 2 * MARGIN:
            return code
    raise ValueError(f"tracking number {value!r} is too long for a 100 mm Code128 barcode")


def _draw_banner(canvas: Canvas, fonts: list[FontFile], text: str) -> float:
    """issue #6: white text on a black bar across the top; returns where the text below starts."""
    height = 10 * mm
    top = LABEL_HEIGHT - MARGIN
    canvas.rect(MARGIN, top - height, LABEL_WIDTH - 2 * MARGIN, height, stroke=0, fill=1)
    canvas.setFillGray(1)
    canvas.setFont(_font_for(text, fonts), 16)
    canvas.drawCentredString(LABEL_WIDTH / 2, top - height + 3 * mm, text)
    canvas.setFillGray(0)
    return float(top - height - 1 * mm)


def _draw_reference(canvas: Canvas, out: _Writer, data: LabelData) -> None:
    """issue #6: the caption and a 12 mm Code128 of ``data.reference`` below the text."""
    out.line(data.reference_caption or data.reference, 10)
    code = Code128(data.reference, barWidth=2 * DOT, barHeight=12 * mm, quiet=False)
    out.y -= 12 * mm + 1 * mm
    code.drawOn(canvas, MARGIN, out.y)


def _draw_page(canvas: Canvas, fonts: list[FontFile], data: LabelData) -> None:
    top = _draw_banner(canvas, fonts, data.banner) if data.banner else LABEL_HEIGHT - MARGIN  # issue #6
    out = _Writer(canvas, fonts, top)
    out.line(data.carrier_name, 14)
    out.line(data.service_name, 10)
    out.rule()
    out.line("ОТ / FROM", 7)
    for text in _address_lines(data.sender):
        out.line(text, 8, indent=2 * mm)
    out.rule()
    out.line("КОМУ / TO", 8)
    for text in _address_lines(data.recipient):
        out.line(text, 12, indent=2 * mm)
    out.rule()
    out.line(f"Заказ / Order: {data.order_number}", 10)
    out.line(
        f"Вес / Weight: {data.weight_g / 1000:.3f} kg    "
        f"Место / Parcel: {data.parcel_index}/{data.parcel_count}",
        9,
    )
    if data.cash_on_delivery_minor:
        out.line(f"Наложенный платёж / COD: {from_minor(data.cash_on_delivery_minor)} RUB", 10)
    if data.reference:  # issue #6
        _draw_reference(canvas, out, data)

    code = _barcode(data.tracking_number)
    code.drawOn(canvas, (LABEL_WIDTH - code.width) / 2, MARGIN + 6 * mm)
    canvas.setFont(_font_for(data.tracking_number, fonts), 12)
    canvas.drawCentredString(LABEL_WIDTH / 2, MARGIN + 1 * mm, data.tracking_number)
    canvas.showPage()


def render_labels(pages: Sequence[LabelData]) -> bytes:
    """Render one 100 x 150 mm page per parcel and return the PDF bytes."""
    if not pages:
        raise ValueError("nothing to print: no label pages")
    fonts = find_label_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(LABEL_WIDTH, LABEL_HEIGHT), pageCompression=1)
    canvas.setTitle(f"{pages[0].carrier_name} {pages[0].tracking_number}")
    for data in pages:
        _draw_page(canvas, fonts, data)
    canvas.save()
    return buffer.getvalue()


def render_label(data: LabelData) -> bytes:
    """Render a single-page label."""
    return render_labels([data])
