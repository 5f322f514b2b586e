"""Shopper notifications (e-mail, SMS, Web Push) and seller webhooks, fed by the outbox worker."""
