"""Printable documents: pick list (PDF + HTML print view), packing slip (PDF), manifest (PDF + CSV).

They take the dictionaries built by ``zakaz.fulfilment.views`` (the same read model the API returns), so
no database access happens here. Fonts come from ``zakaz.carriers.labels.find_label_fonts``.
"""
