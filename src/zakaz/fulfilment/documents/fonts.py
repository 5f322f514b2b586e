"""Fonts and barcodes for A4 documents, reusing the label font discovery of ``zakaz.carriers.labels``.

The base-14 PDF fonts have no Cyrillic or Chinese glyphs, so each paragraph uses the first installed font
(DejaVu Sans, then WenQuanYi Zen Hei) that has every character of its text.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.graphics.shapes import Drawing
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

from zakaz.carriers.labels import FontFile, find_label_fonts

# One printer dot at 203 dpi is 0.125 mm; whole-dot modules keep barcodes readable on thermal and laser.
DOT = 0.125 * mm


@cache
def _register(font: FontFile) -> tuple[str, frozenset[int]]:
    name = f"ZakazDoc-{font.path.stem}-{font.subfont_index}"
    ttf = TTFont(name, str(font.path), subfontIndex=font.subfont_index)
    pdfmetrics.registerFont(ttf)
    return name, frozenset(ttf.face.charToGlyph)


@cache
def _fonts() -> tuple[tuple[str, frozenset[int]], ...]:
    return tuple(_register(font) for font in find_label_fonts())


def font_for(text: str) -> str:
    """The first installed font drawing every character of ``text`` (else the first font)."""
    fonts = _fonts()
    needed = {ord(ch) for ch in text if not ch.isspace()}
    for name, cmap in fonts:
        if needed <= cmap:
            return name
    return fonts[0][0]


def para(text: str, size: float = 9, *, bold_size: float | None = None, align: int = 0) -> Paragraph:
    """A wrapped paragraph in a font that can draw it (plain text; escaped for reportlab's mini-markup)."""
    style = ParagraphStyle(
        "z",
        fontName=font_for(text),
        fontSize=bold_size or size,
        leading=(bold_size or size) * 1.2,
        alignment=align,
    )
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def code128(value: str, *, dots: int = 2, height_mm: float = 10) -> Drawing:
    """A Code128 drawing with whole-dot modules and quiet zones, no human-readable text (we print it)."""
    drawing: Drawing = createBarcodeDrawing(
        "Code128", value=value, barWidth=dots * DOT, barHeight=height_mm * mm, humanReadable=False, quiet=True
    )
    return drawing
