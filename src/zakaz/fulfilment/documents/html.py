"""The HTML print view of a pick list (Jinja2 template in ``zakaz/fulfilment/templates``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def pick_list_html(data: dict[str, Any]) -> str:
    return _env().get_template("pick_list.html").render(pick_list=data)
