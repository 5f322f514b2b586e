"""The shopper's order tracking page: lookup by number + e-mail/phone or a signed link; live via SSE."""
