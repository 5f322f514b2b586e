"""Order numbers: ZK-YYMMDD-XXXXX, the suffix uniform over 32 characters without 0/O/1/I."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from zakaz.orders.intake import _ALPHABET, new_order_number


def test_format_and_alphabet() -> None:
    numbers = [new_order_number(datetime(2026, 1, 2, 23, 59, tzinfo=UTC)) for _ in range(5000)]
    assert all(re.fullmatch(r"ZK-260102-[2-9A-HJ-NP-Z]{5}", n) for n in numbers)
    assert new_order_number(datetime(2009, 11, 30)).startswith("ZK-091130-")
    used = Counter(ch for n in numbers for ch in n[-5:])
    assert set(used) == set(_ALPHABET) and len(_ALPHABET) == 32
    # every character about equally often (25,000 draws: 781 expected each)
    assert min(used.values()) > 600 and max(used.values()) < 980
    assert len(set(numbers)) > 4990
