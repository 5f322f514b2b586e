"""Delivery channels behind one Protocol; each returns our own dataclass, never vendor JSON."""
