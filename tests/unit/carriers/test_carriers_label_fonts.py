"""Finding a label font: a clear error instead of labels with empty boxes for Cyrillic."""

from __future__ import annotations

from pathlib import Path

import pytest

from zakaz.carriers.labels import LabelFontMissing, find_label_fonts


def test_missing_fonts_name_the_packages_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAKAZ_LABEL_FONT", raising=False)
    with pytest.raises(LabelFontMissing, match="fonts-dejavu-core and fonts-wqy-zenhei"):
        find_label_fonts((("/nonexistent/DejaVuSans.ttf", 0),))


def test_preferred_font_comes_first_and_missing_ones_are_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ZAKAZ_LABEL_FONT", raising=False)
    first, second = tmp_path / "a.ttf", tmp_path / "b.ttc"
    first.write_bytes(b"x")
    second.write_bytes(b"x")
    fonts = find_label_fonts(((str(tmp_path / "gone.ttf"), 0), (str(first), 0), (str(second), 2)))
    assert [(f.path, f.subfont_index) for f in fonts] == [(first, 0), (second, 2)]


def test_environment_override_wins_and_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    font = tmp_path / "Custom.ttf"
    font.write_bytes(b"x")
    monkeypatch.setenv("ZAKAZ_LABEL_FONT", str(font))
    assert [f.path for f in find_label_fonts()] == [font]
    monkeypatch.setenv("ZAKAZ_LABEL_FONT", str(tmp_path / "missing.ttf"))
    with pytest.raises(LabelFontMissing, match="does not exist"):
        find_label_fonts()
