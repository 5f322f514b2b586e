"""Module-level ASGI app for uvicorn (``zakaz serve`` and worker processes)."""

from zakaz.api.app import create_app

app = create_app()
