"""Imports every model so that ``Base.metadata`` is complete (Alembic and the schema test use it)."""

from zakaz.auth.models import ApiKey
from zakaz.catalog.models import Product
from zakaz.customers.models import Customer, CustomerAddress
from zakaz.db import Base
from zakaz.fulfilment import models as _fulfilment  # noqa: F401  shipments, pick lists, manifests (issue #4)
from zakaz.idempotency import IdempotencyRecord
from zakaz.inventory.models import Reservation, StockLevel, StockMovement, Warehouse
from zakaz.marketplaces import models as _marketplaces  # noqa: F401  Ozon connections, postings, inbox (issue #7)
from zakaz.notifications import models as _notifications  # noqa: F401  notifications + webhooks (issue #5)
from zakaz.orders.models import Order, OrderEvent, OrderLine
from zakaz.outbox import OutboxMessage
from zakaz.returns import models as _returns  # noqa: F401  returns, refunds ledger, quarantine (issue #6)
from zakaz.support import models as _support  # noqa: F401  support inbox, Ozon chats (issue #7)
from zakaz.users import models as _users  # noqa: F401  back office users + sessions (issue #3)
from zakaz.worker import models as _worker  # noqa: F401  periodic worker jobs (issue #5)

__all__ = [
    "ApiKey",
    "Base",
    "Customer",
    "CustomerAddress",
    "IdempotencyRecord",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OutboxMessage",
    "Product",
    "Reservation",
    "StockLevel",
    "StockMovement",
    "Warehouse",
]
