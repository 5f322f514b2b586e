"""After-sales settings from the environment (``ZAKAZ_RETURNS_*``); lists as JSON, e.g.
``ZAKAZ_RETURNS_REASONS='["defective", "wrong_item"]'``."""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from zakaz.returns.reasons import SHOPPER_REASONS, ReturnReason
from zakaz.returns.refunds import RefundPolicy

INSTRUCTIONS = {
    "ru": "Упакуйте товар, вложите лист с номером {rma} и отправьте на адрес склада {warehouse}.",
    "en": "Pack the items, enclose a sheet with the number {rma} and send them to the warehouse {warehouse}.",
    "zh": "请将商品包装好，附上写有编号 {rma} 的纸条，寄往仓库 {warehouse}。",
}

#: Marketplace orders: the marketplace runs the return (its own label and pick-up), we only follow it.
MARKETPLACE_INSTRUCTIONS = {
    "ru": "Возврат {rma} оформляется через {marketplace}: следуйте инструкциям маркетплейса.",
    "en": "Return {rma} is handled by {marketplace}: follow the marketplace's instructions.",
    "zh": "退货 {rma} 由 {marketplace} 处理：请按平台的说明操作。",
}


class ReturnsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZAKAZ_RETURNS_", env_file=".env", extra="ignore")

    #: Days after delivery during which a return may be requested.
    window_days: int = Field(default=14, ge=0)
    #: Reasons shoppers may choose (codes of ``reasons.ReturnReason``).
    reasons: list[ReturnReason] = Field(default_factory=lambda: [ReturnReason(r) for r in SHOPPER_REASONS])
    #: Approve at once when the seller is at fault.
    auto_approve_seller_fault: bool = True
    #: Approve at once when the units are worth less than this (kopecks); 0 disables.
    auto_approve_below_minor: int = Field(default=200_000, ge=0)
    #: Customers with at least this many orders get their replacement before sending the items back;
    #: 0: nobody (replacements are created when the returned items are received).
    trusted_customer_min_orders: int = Field(default=0, ge=0)
    #: Back-office queue colouring: amber after ``sla_warn_hours``, red after ``sla_hours``.
    sla_hours: int = Field(default=48, gt=0)
    sla_warn_hours: int = Field(default=24, gt=0)
    restocking_fee_percent: int = Field(default=10, ge=0, le=100)
    damaged_refund_percent: int = Field(default=0, ge=0, le=100)
    refund_shipping_for_seller_fault: bool = True
    #: Return labels: orders shipped by one of our carriers get a prepaid return label when approved
    #: (marketplace orders never: the marketplace runs their returns). ``label_carrier`` (a code in
    #: ``ZAKAZ_FULFILMENT_CARRIERS``) and ``label_service`` choose the return service; empty: the carrier
    #: and service the order went out with.
    labels: bool = True
    label_carrier: str = ""
    label_service: str = ""
    #: Warehouse returns go to (code); empty: the warehouse the items shipped from (else the first active).
    warehouse: str = ""
    #: Refund provider for orders not sold through a marketplace: "manual" (offline) or "fake" (tests).
    payment_provider: str = "manual"

    def policy(self) -> RefundPolicy:
        return RefundPolicy(
            restocking_fee_percent=self.restocking_fee_percent,
            damaged_refund_percent=self.damaged_refund_percent,
            refund_shipping_for_seller_fault=self.refund_shipping_for_seller_fault,
        )


@cache
def get_returns_settings() -> ReturnsSettings:
    return ReturnsSettings()
