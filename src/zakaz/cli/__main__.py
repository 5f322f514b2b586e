"""``python -m zakaz.cli`` runs the CLI (used by tests and when the script is not on PATH)."""

from zakaz.cli.main import app

app()
