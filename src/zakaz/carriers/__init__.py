"""Carriers: quoting, booking, labels and tracking behind one ``Carrier`` protocol.

Database-independent: every function here takes and returns the dataclasses in ``base.py``.
Shipments (rows, status transitions, the outbox) live in ``zakaz.fulfilment`` and call into this package.
"""
