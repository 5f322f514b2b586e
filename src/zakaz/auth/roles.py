"""Roles and what each may do. Checked on the server for every request (API and web alike)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    warehouse = "warehouse"
    support = "support"
    readonly = "readonly"


class Permission(StrEnum):
    read = "read"
    orders_write = "orders:write"
    orders_hold = "orders:hold"
    stock_write = "stock:write"
    catalog_write = "catalog:write"
    warehouses_write = "warehouses:write"
    money_read = "money:read"
    admin = "admin"
    support_read = "support:read"  # issue #7: the support inbox (buyer chats)
    support_reply = "support:reply"  # issue #7: answer buyers, mark conversations read


_ALL = frozenset(Permission)

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: _ALL,
    Role.operator: frozenset(
        {
            Permission.read,
            Permission.orders_write,
            Permission.orders_hold,
            Permission.stock_write,
            Permission.catalog_write,
            Permission.money_read,
            Permission.support_read,  # issue #7
            Permission.support_reply,  # issue #7
        }
    ),
    Role.warehouse: frozenset({Permission.read, Permission.stock_write}),
    Role.support: frozenset(
        {
            Permission.read,
            Permission.orders_hold,
            Permission.money_read,
            Permission.support_read,  # issue #7
            Permission.support_reply,  # issue #7
        }
    ),
    Role.readonly: frozenset({Permission.read, Permission.money_read, Permission.support_read}),  # issue #7
}


def allows(role: Role | str, permission: Permission) -> bool:
    return permission in PERMISSIONS.get(Role(role), frozenset())
