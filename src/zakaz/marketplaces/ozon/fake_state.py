"""State of the fake Ozon Seller API: postings, stocks, returns, injected faults, deterministic seeding.

Postings are stored in the v3 shape (what the spec documents best); the server renders v4 from it. Keys
starting with ``_`` are internal bookkeeping and never rendered.
"""

from __future__ import annotations

import copy
import random
import threading
import uuid  # issue #7: chat ids
from collections.abc import Sequence  # issue #7
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from zakaz.marketplaces.ozon.ratelimit import SystemClock, VirtualClock

FaultKind = Literal["rate_limit", "latency", "html_502", "empty_405", "malformed_json"]

FBS_WAREHOUSE = 15110442724000
RFBS_WAREHOUSE = 22142605386000

#: (sku, offer_id, name, price as Ozon sends it: decimal strings with varying scale)
CATALOG: tuple[tuple[int, str, str, str], ...] = (
    (140048123, "УТ-0001365", "Мяч, цвет: черный, 5 кг", "1259"),
    (180550365, "250-7898-1", 'Кофе ароматизированный "Шоколадный апельсин" 250 гр', "279.0000"),
    (358924380, "205953", "Электронный конструктор PinLab Позитроник", "1390.000000"),
    (147451939, "Товар2", "Кружка керамическая 350 мл", "99.50"),
    (185479045, "PH11042", "Чайник электрический", "4500.00"),
)

CANCEL_REASONS: tuple[dict[str, Any], ...] = (
    {
        "id": 352,
        "title": "Товар закончился на складе продавца",
        "type_id": "seller",
        "is_available_for_cancellation": True,
    },
    {
        "id": 400,
        "title": "Остался только бракованный товар",
        "type_id": "seller",
        "is_available_for_cancellation": True,
    },
    {
        "id": 401,
        "title": "Продавец отклонил арбитраж",
        "type_id": "seller",
        "is_available_for_cancellation": False,
    },
    {
        "id": 402,
        "title": "Другое (вина продавца)",
        "type_id": "seller",
        "is_available_for_cancellation": True,
    },
    {
        "id": 666,
        "title": "Возврат из службы доставки: нет доставки в указанный регион",
        "type_id": "seller",
        "is_available_for_cancellation": False,
    },
)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Fault:
    kind: FaultKind
    remaining: int = 1
    path: str | None = None  # None: any method
    retry_after: float | None = 1.0  # rate_limit only; None sends no Retry-After header
    seconds: float = 0.0  # latency only


@dataclass
class FakeOzonState:
    client_id: str = "100500"
    api_key: str = "fake-api-key-0000-secret"
    seller_id: int = 100500
    clock: SystemClock | VirtualClock = field(default_factory=SystemClock)
    label_ready_after_s: float = 45.0
    stock_pair_interval_s: float = 30.0
    stocks_per_minute: int = 80
    global_rps: int = 50
    warehouse_list_per_minute: int = 1
    enforce_rate_limits: bool = True
    postings: dict[str, dict[str, Any]] = field(default_factory=dict)
    warehouses: dict[int, dict[str, Any]] = field(default_factory=dict)
    offers: dict[str, int] = field(default_factory=lambda: {offer: sku for sku, offer, _, _ in CATALOG})
    stocks: dict[tuple[str, int], int] = field(default_factory=dict)
    stock_updated_at: dict[tuple[str, int], float] = field(default_factory=dict)
    returns: list[dict[str, Any]] = field(default_factory=list)
    cancel_reasons: list[dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(list(CANCEL_REASONS)))
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, Any]] = field(default_factory=list)  # (path, body) as received; no headers
    throttled: int = 0  # 429s the fake's own rate limiting answered (not injected storms)
    calls: dict[str, list[float]] = field(default_factory=dict)  # path -> monotonic timestamps
    wall_start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # issue #7: buyer chats. Without Premium Plus, history/send/start/read of buyer chats answer 403.
    premium: bool = True
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)  # chat_id -> chat (+ "_posting")
    chat_messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # ascending by id
    #: issue #7: the next N sends are applied, then answered HTTP 500 (the caller cannot tell it was sent).
    lose_send_responses: int = 0
    #: issue #7: the next N rFBS status calls (delivering/last-mile/delivered) are applied, then answered 500.
    lose_setter_responses: int = 0

    def __post_init__(self) -> None:
        self._mono_start = self.clock.monotonic()
        if not self.warehouses:
            self.warehouses = {
                FBS_WAREHOUSE: _warehouse(FBS_WAREHOUSE, "Склад на Ленина", is_rfbs=False),
                RFBS_WAREHOUSE: _warehouse(RFBS_WAREHOUSE, "Склад rFBS Подольск", is_rfbs=True),
            }

    def __repr__(self) -> str:  # never show the key
        return f"FakeOzonState(client_id={self.client_id!r}, postings={len(self.postings)})"

    # ---------------------------------------------------------------------------------------- time

    def now(self) -> datetime:
        """Wall time that follows the (possibly virtual) clock."""
        return self.wall_start + timedelta(seconds=self.clock.monotonic() - self._mono_start)

    # -------------------------------------------------------------------------------------- faults

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def rate_limit_storm(self, n: int, *, retry_after: float | None = 1.0, path: str | None = None) -> None:
        self.inject(Fault("rate_limit", remaining=n, retry_after=retry_after, path=path))

    def add_latency(self, seconds: float, *, n: int = 1, path: str | None = None) -> None:
        self.inject(Fault("latency", remaining=n, seconds=seconds, path=path))

    def malformed(self, kind: FaultKind, *, n: int = 1, path: str | None = None) -> None:
        self.inject(Fault(kind, remaining=n, path=path))

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.path in (None, path):
                    fault.remaining -= 1
                    return fault
        return None

    def record(self, path: str, raw: bytes) -> None:
        try:
            body: Any = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            body = raw
        with self.lock:
            self.requests.append((path, body))

    def calls_to(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def bodies(self, path: str) -> list[Any]:
        with self.lock:
            return [body for p, body in self.requests if p == path]

    # ------------------------------------------------------------------------------------ postings

    def set_status(self, number: str, status: str, substatus: str) -> None:
        with self.lock:
            posting = self.postings[number]
            posting["status"], posting["substatus"] = status, substatus
            posting["_changed_at"] = self.now()

    # ------------------------------------------------------------------------------- chats (issue #7)

    def add_chat(
        self,
        *,
        posting_number: str | None = None,
        chat_type: str = "Buyer_Seller",
        chat_id: str | None = None,
    ) -> str:
        """A chat (UUID id, like Ozon's); ``posting_number`` puts its order number in messages' context."""
        with self.lock:
            chat_id = chat_id or str(uuid.UUID(int=random.Random(len(self.chats) + 7).getrandbits(128)))
            self.chats[chat_id] = {
                "chat_id": chat_id,
                "chat_status": "Opened",
                "chat_type": chat_type,
                "created_at": iso(self.now()),
                "_posting": posting_number,
            }
            self.chat_messages[chat_id] = []
            return chat_id

    def add_chat_message(
        self, chat_id: str, text: str, *, user_type: str = "customer", at: datetime | None = None
    ) -> dict[str, Any]:
        """Append a message (``user_type``: customer, seller, support, crm, courier) and return it."""
        with self.lock:
            messages = self.chat_messages[chat_id]
            message_id = CHAT_MESSAGE_ID_BASE + sum(len(m) for m in self.chat_messages.values())
            user_id = {"customer": "115568", "seller": str(self.seller_id)}.get(user_type, "1")
            message = {
                "message_id": message_id,
                "created_at": at or self.now(),
                "text": text,
                "user_type": user_type,
                "user_id": user_id,
                "is_read": user_type != "customer",
            }
            messages.append(message)
            messages.sort(key=lambda m: m["message_id"])
            return message

    def buyer_writes(self, chat_id: str, text: str, *, at: datetime | None = None) -> dict[str, Any]:
        """The buyer sends a message; returns the ``TYPE_NEW_MESSAGE`` push Ozon would send (notes 4.2)."""
        message = self.add_chat_message(chat_id, text, at=at)
        return {
            "message_type": "TYPE_NEW_MESSAGE",
            "chat_id": chat_id,
            "chat_type": self.chats[chat_id]["chat_type"],
            "message_id": str(message["message_id"]),
            "created_at": iso_ms(message["created_at"]),
            "user": {"id": message["user_id"], "type": "Customer"},
            "data": [text],
            "seller_id": str(self.seller_id),
        }

    def close_chat(self, chat_id: str) -> dict[str, Any]:
        """Ozon closes the chat; returns the ``TYPE_CHAT_CLOSED`` push."""
        with self.lock:
            chat = self.chats[chat_id]
            chat["chat_status"] = "Closed"
            return {
                "message_type": "TYPE_CHAT_CLOSED",
                "chat_id": chat_id,
                "chat_type": chat["chat_type"],
                "user": {"id": "115568", "type": "Customer"},
                "seller_id": str(self.seller_id),
            }

    def seller_texts(self, chat_id: str) -> list[str]:
        with self.lock:
            return [m["text"] for m in self.chat_messages[chat_id] if m["user_type"] == "seller"]


#: issue #7: fake message ids are int64 (sent as strings, like Ozon's examples).
CHAT_MESSAGE_ID_BASE = 3000000000817031942


def iso_ms(value: datetime) -> str:
    """``2022-07-18T20:58:04.528Z``: Ozon's chat timestamps carry milliseconds."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _warehouse(wid: int, name: str, *, is_rfbs: bool) -> dict[str, Any]:
    return {
        "warehouse_id": wid,
        "name": name,
        "is_rfbs": is_rfbs,
        "status": "created",
        "has_entrusted_acceptance": False,
        "can_print_act_in_advance": False,
        "first_mile_type": {"first_mile_type": "DropOff", "first_mile_is_changing": False},
        "is_kgt": False,
        "is_economy": False,
        "is_karantin": False,
        "has_postings_limit": False,
        "postings_limit": -1,
        "min_postings_limit": 0,
        "min_working_days": 5,
        "working_days": [1, 2, 3, 4, 5],
        "is_timetable_editable": True,
    }


def _posting(
    i: int,
    seed: int,
    rng: random.Random,
    created: datetime,
    *,
    rfbs: bool,
    status: str,
    catalog: Sequence[tuple[int, str, str, str]] = CATALOG,  # issue #7: the demo's own articles
) -> dict[str, Any]:
    order_number = f"{seed % 10000:04d}{i:04d}-{(i * 37 + seed) % 10000:04d}"
    warehouse = RFBS_WAREHOUSE if rfbs else FBS_WAREHOUSE
    products = []
    for sku, offer, name, price in rng.sample(catalog, rng.randint(1, min(2, len(catalog)))):
        products.append(
            {
                "price": price,
                "currency_code": "RUB",
                "is_blr_traceable": False,
                "is_marketplace_buyout": False,
                "offer_id": offer,
                "name": name,
                "sku": sku,
                "quantity": rng.randint(1, 3),
                "imei": [],
            }
        )
    customer = None
    addressee = None
    if rfbs:
        customer = {
            "customer_id": 9000000 + i,
            "name": f"Покупатель {i}",
            "phone": f"+7900{i:07d}",
            "address": {
                "address_tail": f"г. Подольск, ул. Ленина, д. {i + 1}, кв. {i % 90 + 1}",
                "city": "Подольск",
                "region": "Московская область",
                "district": "Подольский",
                "country": "Россия",
                "zip_code": "142100",
                "latitude": 55.4312,
                "longitude": 37.5446,
                "pvz_code": "",
                "provider_pvz_code": "",
                "comment": "",
            },
        }
        addressee = {"name": f"Покупатель {i}", "phone": f"+7900{i:07d}"}
    return {
        "posting_number": f"{order_number}-1",
        "order_id": 500000000 + seed * 10000 + i,
        "order_number": order_number,
        "status": status,
        "substatus": "posting_created",
        "delivery_method": {
            "id": warehouse,
            "name": "Доставка продавцом, Подольск" if rfbs else "Ozon Логистика курьеру, Москва",
            "warehouse_id": warehouse,
            "warehouse": "Склад rFBS Подольск" if rfbs else "Склад на Ленина",
            "tpl_provider_id": 0 if rfbs else 24,
            "tpl_provider": "" if rfbs else "Ozon Логистика",
        },
        "tracking_number": "",
        "tpl_integration_type": "non_integrated" if rfbs else "ozon",
        "in_process_at": iso(created),
        "shipment_date": iso(created + timedelta(days=1)),
        "delivering_date": None,
        "cancellation": {
            "cancel_reason_id": 0,
            "cancel_reason": "",
            "cancellation_type": "",
            "cancelled_after_ship": False,
            "affect_cancellation_rating": False,
            "cancellation_initiator": "",
        },
        "customer": customer,
        "addressee": addressee,
        "products": products,
        "analytics_data": None,
        "financial_data": None,
        "is_express": False,
        "requirements": {
            "products_requiring_gtd": [],
            "products_requiring_country": [],
            "products_requiring_mandatory_mark": [],
            "products_requiring_jw_uin": [],
        },
        "tariffication": [
            {"current_tariff_rate": 0, "next_tariff_starts_at": iso(created + timedelta(days=1))}
        ],
        "available_actions": ["ship", "cancel"]
        + (["set_track_number", "non_int_delivering"] if rfbs else []),
        "_changed_at": created,
    }


def seed_postings(
    state: FakeOzonState,
    n: int,
    *,
    seed: int = 1,
    status: str = "awaiting_packaging",
    rfbs: bool = False,
    start: datetime | None = None,
    catalog: Sequence[tuple[int, str, str, str]] | None = None,  # issue #7
) -> list[str]:
    """Create ``n`` deterministic postings (same seed -> same postings); returns their posting numbers.

    Created one minute apart from ``start`` (default: a day before the fake's "now");
    ship-by = created + 1 day. ``catalog``: (Ozon SKU, offer_id, name, price) rows the products are drawn
    from (default :data:`CATALOG`); their offers are added to the fake's offers.
    """
    rng = random.Random(seed)
    start = start or (state.wall_start - timedelta(days=1))
    numbers = []
    with state.lock:
        state.offers.update({offer: sku for sku, offer, _, _ in catalog or ()})  # issue #7
        for i in range(n):
            created = start + timedelta(minutes=i)
            posting = _posting(i, seed, rng, created, rfbs=rfbs, status=status, catalog=catalog or CATALOG)
            state.postings[posting["posting_number"]] = posting
            numbers.append(posting["posting_number"])
    return numbers


def seed_returns(state: FakeOzonState, n: int, *, seed: int = 1, start: datetime | None = None) -> list[str]:
    """Create ``n`` deterministic FBS returns (ids as int64 strings, like the published example)."""
    rng = random.Random(seed)
    start = start or (state.wall_start - timedelta(days=1))
    ids = []
    with state.lock:
        for i in range(n):
            sku, offer, name, price = CATALOG[rng.randrange(len(CATALOG))]
            rid = str(1000015552 + seed * 100000 + i)
            moment = iso(start + timedelta(minutes=i))
            state.returns.append(
                {
                    "id": rid,
                    "company_id": str(state.seller_id),
                    "return_reason_name": "Не подошёл размер",
                    "type": "FullReturn",
                    "schema": "Fbs",
                    "order_id": str(24540784250 + i),
                    "order_number": f"5854{i:04d}-0057",
                    "posting_number": f"5854{i:04d}-0057-1",
                    "product": {
                        "sku": str(sku),
                        "offer_id": offer,
                        "name": name,
                        "price": {"currency_code": "RUB", "price": price},
                        "quantity": 1,
                    },
                    "logistic": {"return_date": moment, "barcode": f"ii{5275210303 + i}"},
                    "visual": {
                        "status": {
                            "id": 3,
                            "display_name": "В пункте выдачи",
                            "sys_name": "ArrivedAtReturnPlace",
                        },
                        "change_moment": moment,
                    },
                    "storage": {"tariffication_start_date": moment},
                }
            )
            ids.append(rid)
    return ids


# ------------------------------------------------------------------------------------ returns (issue #6)


def add_return(
    state: FakeOzonState,
    *,
    posting_number: str,
    offer_id: str,
    quantity: int = 1,
    kind: str = "ClientReturn",
    status: str = "MovingToSeller",
    reason: str = "Не подошёл размер",
    return_id: str | None = None,
    at: datetime | None = None,
) -> str:
    """One FBS return of ``quantity`` x ``offer_id`` from ``posting_number`` (an article the fake sells, or
    any other one: its Ozon SKU is then 0). Returns the Ozon return id."""
    sku, name, price = next(((s, n, p) for s, o, n, p in CATALOG if o == offer_id), (0, offer_id, "100"))
    moment = iso(at or datetime.now(UTC))
    with state.lock:
        rid = return_id or str(2000000000 + len(state.returns))
        state.returns.append(
            {
                "id": rid,
                "company_id": str(state.seller_id),
                "return_reason_name": reason,
                "type": kind,
                "schema": "Fbs",
                "order_id": str(24540000000 + len(state.returns)),
                "order_number": posting_number.rsplit("-", 1)[0],
                "posting_number": posting_number,
                "product": {
                    "sku": str(sku),
                    "offer_id": offer_id,
                    "name": name,
                    "price": {"currency_code": "RUB", "price": price},
                    "quantity": quantity,
                },
                "logistic": {"return_date": moment, "barcode": f"ii{rid}"},
                "visual": {
                    "status": {"id": 1, "display_name": status, "sys_name": status},
                    "change_moment": moment,
                },
                "storage": {"tariffication_start_date": moment},
            }
        )
    return rid


def set_return_status(
    state: FakeOzonState, return_id: str, status: str, *, at: datetime | None = None
) -> None:
    """Ozon moves a return on: new visual status, changed now (so the next pull sees it)."""
    with state.lock:
        found = next(r for r in state.returns if r["id"] == return_id)
        found["visual"] = {
            "status": {"id": 1, "display_name": status, "sys_name": status},
            "change_moment": iso(at or datetime.now(UTC)),
        }
