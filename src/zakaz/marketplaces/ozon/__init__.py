"""Ozon Seller API (FBS / rFBS): endpoints table, client, pure mapping, adapter and a faithful local fake."""
