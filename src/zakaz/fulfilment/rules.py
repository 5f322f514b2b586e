"""Pure fulfilment rules: walking order of bins, box choice, parcel weight, spreading picks over orders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_CHUNKS = re.compile(r"(\d+)")


def bin_sort_key(bin_location: str | None) -> tuple[int, tuple[tuple[int, int, str], ...]]:
    """Natural sort: A-01-2 < A-01-10 < B-02-01; case-insensitive; lines without a bin walk last."""
    if not bin_location:
        return (1, ())
    parts = tuple(
        (1, int(chunk), "") if chunk.isdigit() else (0, 0, chunk.casefold())
        for chunk in _CHUNKS.split(bin_location.strip())
        if chunk
    )
    return (0, parts)


def walking_order_key(bin_location: str | None, sku: str) -> tuple[object, ...]:
    return (bin_sort_key(bin_location), sku)


@dataclass(frozen=True, slots=True)
class Box:
    """A box size the packing station offers: inside dimensions (mm), tare weight (g), max load (g)."""

    code: str
    length_mm: int
    width_mm: int
    height_mm: int
    tare_g: int
    max_weight_g: int = 30_000

    @property
    def volume_mm3(self) -> int:
        return self.length_mm * self.width_mm * self.height_mm


DEFAULT_BOXES: tuple[Box, ...] = (
    Box("S", 200, 150, 100, 90, 5_000),
    Box("M", 300, 200, 150, 160, 15_000),
    Box("L", 400, 300, 200, 260, 25_000),
    Box("XL", 600, 400, 400, 520, 31_500),
)


@dataclass(frozen=True, slots=True)
class Item:
    """One packed product: unit weight and dimensions (0 when the catalogue does not know them)."""

    quantity: int
    weight_g: int
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0

    @property
    def volume_mm3(self) -> int:
        return self.quantity * self.length_mm * self.width_mm * self.height_mm

    @property
    def longest_mm(self) -> int:
        return max(self.length_mm, self.width_mm, self.height_mm)


# Items never fill a box completely; 80 % is the usual packing-density rule of thumb.
FILL_RATIO = 0.8


def suggest_box(items: Sequence[Item], boxes: Sequence[Box]) -> Box:
    """The smallest box whose volume (at ``FILL_RATIO``), longest side and load fit the items.

    Items without dimensions count as nothing for volume, so an unknown catalogue still gets the smallest
    box that carries the weight; the largest box when nothing fits (the packer can override).
    """
    if not boxes:
        raise ValueError("no box sizes configured")
    volume = sum(i.volume_mm3 for i in items)
    longest = max((i.longest_mm for i in items), default=0)
    weight = items_weight_g(items)
    ordered = sorted(boxes, key=lambda b: (b.volume_mm3, b.code))
    for box in ordered:
        fits_side = longest <= max(box.length_mm, box.width_mm, box.height_mm)
        if volume <= box.volume_mm3 * FILL_RATIO and fits_side and weight + box.tare_g <= box.max_weight_g:
            return box
    return ordered[-1]


def items_weight_g(items: Sequence[Item]) -> int:
    return sum(i.quantity * i.weight_g for i in items)


def parcel_weight_g(items: Sequence[Item], box: Box) -> int:
    """Products plus the box; at least 1 g (carriers refuse a zero weight)."""
    return max(1, items_weight_g(items) + box.tare_g)


@dataclass(frozen=True, slots=True)
class Demand:
    """Units one shipment line still needs from a pick-list line (ordered by priority)."""

    key: int
    open_qty: int


def spread(quantity: int, demands: Sequence[Demand]) -> dict[int, int]:
    """Give ``quantity`` units to the demands in order (earliest ship-by first); refuse more than asked."""
    if quantity < 0:
        raise ValueError("quantity cannot be negative")
    if quantity > sum(d.open_qty for d in demands):
        raise ValueError(f"{quantity} is more than the {sum(d.open_qty for d in demands)} units still open")
    out: dict[int, int] = {}
    left = quantity
    for d in demands:
        if left == 0:
            break
        take = min(left, d.open_qty)
        if take:
            out[d.key] = take
            left -= take
    return out
