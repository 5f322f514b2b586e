"""Zakaz: an order management system for marketplace and web-shop sellers."""

__version__ = "0.1.0"
