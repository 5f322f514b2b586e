"""The tracking page's words per locale (Russian default, English, Chinese)."""

from __future__ import annotations

LOCALES = ("ru", "en", "zh")
DEFAULT = "ru"

STRINGS: dict[str, dict[str, str]] = {
    "ru": {
        "title": "Где мой заказ?",
        "intro": "Введите номер заказа и e-mail или телефон, указанные при оформлении.",
        "number": "Номер заказа",
        "contact": "E-mail или телефон",
        "submit": "Найти заказ",
        "not_found": "Заказ не найден. Проверьте номер и контактные данные.",
        "rate_limited": "Слишком много попыток. Попробуйте через минуту.",
        "order": "Заказ",
        "status": "Статус",
        "history": "История",
        "live": "Страница обновляется сама",
        "carrier": "Служба доставки",
        "tracking_number": "Трек-номер",
        "ship_by": "Плановая отправка",
        "notify": "Уведомлять в браузере",
        "cancelled_note": "Заказ отменён.",
    },
    "en": {
        "title": "Where is my order?",
        "intro": "Enter the order number and the e-mail or phone given with the order.",
        "number": "Order number",
        "contact": "E-mail or phone",
        "submit": "Find my order",
        "not_found": "No order found. Please check the number and the contact details.",
        "rate_limited": "Too many attempts. Please try again in a minute.",
        "order": "Order",
        "status": "Status",
        "history": "History",
        "live": "This page updates by itself",
        "carrier": "Carrier",
        "tracking_number": "Tracking number",
        "ship_by": "Planned dispatch",
        "notify": "Notify me in this browser",
        "cancelled_note": "The order was cancelled.",
    },
    "zh": {
        "title": "我的订单在哪里？",
        "intro": "请输入订单号以及下单时填写的电子邮箱或手机号。",
        "number": "订单号",
        "contact": "电子邮箱或手机号",
        "submit": "查询订单",
        "not_found": "未找到订单。请检查订单号和联系方式。",
        "rate_limited": "尝试次数过多，请一分钟后再试。",
        "order": "订单",
        "status": "状态",
        "history": "订单记录",
        "live": "本页面会自动更新",
        "carrier": "承运商",
        "tracking_number": "运单号",
        "ship_by": "计划发货时间",
        "notify": "在此浏览器中通知我",
        "cancelled_note": "订单已取消。",
    },
}

#: Customer-facing steps of the progress bar.
STEPS: dict[str, list[str]] = {
    "ru": ["Принят", "Подтверждён", "Собирается", "Отправлен", "Доставлен"],
    "en": ["Received", "Confirmed", "Being packed", "Shipped", "Delivered"],
    "zh": ["已接收", "已确认", "备货中", "已发货", "已送达"],
}

#: Labels of the timeline entries the shopper may see (internal holds and edits are not shown).
EVENTS: dict[str, dict[str, str]] = {
    "ru": {
        "received": "Заказ принят",
        "confirmed": "Заказ подтверждён",
        "picking": "Заказ собирается",
        "packed": "Заказ упакован",
        "partially_shipped": "Часть заказа отправлена",
        "shipped": "Заказ отправлен",
        "out_for_delivery": "Передан курьеру",
        "delivered": "Заказ доставлен",
        "cancelled": "Заказ отменён",
        "delayed": "Отправка задерживается",
    },
    "en": {
        "received": "Order received",
        "confirmed": "Order confirmed",
        "picking": "Being picked",
        "packed": "Packed",
        "partially_shipped": "Part of the order shipped",
        "shipped": "Shipped",
        "out_for_delivery": "Out for delivery",
        "delivered": "Delivered",
        "cancelled": "Cancelled",
        "delayed": "Dispatch delayed",
    },
    "zh": {
        "received": "订单已接收",
        "confirmed": "订单已确认",
        "picking": "正在备货",
        "packed": "已打包",
        "partially_shipped": "部分商品已发货",
        "shipped": "已发货",
        "out_for_delivery": "正在派送",
        "delivered": "已送达",
        "cancelled": "订单已取消",
        "delayed": "发货延迟",
    },
}


def pick(lang: str | None) -> str:
    code = (lang or "").strip().lower()[:2]
    return code if code in LOCALES else DEFAULT
