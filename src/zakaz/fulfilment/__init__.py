"""Fulfilment: shipments (one per order and warehouse leg), wave pick lists, packing, labels, manifests,
tracking.

Layout: ``states.py`` and ``rules.py`` are pure; ``shipments.py`` holds the one shipment ``transition()`` and
derives the order's status from its shipments; ``picking.py``, ``packing.py``, ``shipping.py`` (rate shopping
+ labels), ``manifests.py`` and ``tracking.py`` are services (take a ``Session``, never commit);
``documents/`` renders PDFs (reportlab), CSV and the HTML print view (Jinja2 templates in ``templates/``).
Carriers are reached only through ``zakaz.carriers`` adapters built by ``registry.py``.
"""
