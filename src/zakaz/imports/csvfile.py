"""Reading spreadsheet CSV files: UTF-8 with or without BOM, ``;`` or ``,`` delimiter, named columns.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row is row 2, blank rows
count, and a quoted cell that spans several lines is still one row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


class CsvFormatError(Exception):
    """The file as a whole cannot be imported (unreadable, not UTF-8, required columns missing)."""

    def __init__(self, message: str, *, missing: Collection[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.missing = sorted(missing)


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass(frozen=True)
class RowError:
    """One problem with one row: the column (or a dotted field) and a message a person can act on."""

    row: int
    ref: str  # order_ref or sku, to find the row quickly
    field: str
    message: str


@dataclass
class CsvTable:
    path: Path
    delimiter: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)


def normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def detect_delimiter(header_line: str) -> str:
    """``;`` (Excel with a Russian locale), ``,`` or tab: whichever the header line uses most."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(
    path: Path, *, required: Iterable[str], one_of: Iterable[Collection[str]] = (), known: Iterable[str] = ()
) -> CsvTable:
    """Parse ``path``; raise :class:`CsvFormatError` when it is unreadable or misses required columns.

    ``one_of`` lists groups of which at least one column must be present (e.g. on_hand or delta).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"{path.name} is not UTF-8 (byte {exc.start}); in Excel save it as 'CSV UTF-8 (comma delimited)'"
        ) from exc
    if not text.strip():
        raise CsvFormatError(f"{path.name} is empty")
    body = text.lstrip("\r\n")
    skipped = text[: len(text) - len(body)].count("\n")  # blank lines above the header keep their numbers
    delimiter = detect_delimiter(body.splitlines()[0])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    try:
        header = [normalise_header(h) for h in next(reader)]
        table = CsvTable(path, delimiter, header)
        _check_columns(table, required, one_of, known)
        table.rows = [Row(r.number + skipped, r.values) for r in _rows(reader, header)]
    except csv.Error as exc:
        raise CsvFormatError(f"{path.name} is not a valid CSV file: {exc}") from exc
    return table


def _check_columns(
    table: CsvTable, required: Iterable[str], one_of: Iterable[Collection[str]], known: Iterable[str]
) -> None:
    present = set(table.columns)
    missing = [c for c in required if c not in present]
    groups = [list(g) for g in one_of if not present & set(g)]
    duplicated = sorted({c for c in table.columns if c and table.columns.count(c) > 1})
    if duplicated:
        raise CsvFormatError(f"{table.path.name}: columns appear more than once: {', '.join(duplicated)}")
    if missing or groups:
        parts = [f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"] if missing else []
        parts += [f"need at least one of the columns: {' or '.join(g)}" for g in groups]
        expected = ", ".join([*required, *(c for c in known if c not in required)])
        raise CsvFormatError(
            f"{table.path.name}: {'; '.join(parts)} (found: {', '.join(table.columns) or 'nothing'}; "
            f"expected: {expected}; delimiter {table.delimiter!r})",
            missing=[*missing, *(c for g in groups for c in g)],
        )


def _rows(reader: Iterator[list[str]], header: list[str]) -> Iterator[Row]:
    # Spreadsheet rows: a quoted cell spanning several lines is still one row; blank rows count.
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
        yield Row(number, values)


def write_errors(path: Path, errors: Iterable[RowError], *, ref_column: str, delimiter: str = ";") -> None:
    """The per-row error report as CSV (UTF-8 with BOM so that Excel shows Cyrillic correctly)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(["row", ref_column, "field", "message"])
        for e in errors:
            writer.writerow([e.row, e.ref, e.field, e.message])
