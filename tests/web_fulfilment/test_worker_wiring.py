"""Issue #4 wiring: the worker runs fulfilment's ``shipment.cancelled`` handler and the tracking poll."""

from __future__ import annotations

from typing import Any

from zakaz.cli.worker_cmd import TRACKING_POLL_EVERY, add_fulfilment_work
from zakaz.worker.types import Message


class _Carrier:
    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def cancel(self, booking: Any) -> None:
        self.cancelled.append(booking.booking_id)


class _Registry:
    def __init__(self) -> None:
        self.carrier = _Carrier()

    def get(self, code: str) -> _Carrier:
        assert code == "cdek"
        return self.carrier

    def __iter__(self) -> Any:
        return iter([])


def test_cancel_booking_handler_and_tracking_job_are_registered() -> None:
    registry = _Registry()
    handlers: dict[str, list[Any]] = {"order.shipped": []}
    jobs: list[Any] = []
    add_fulfilment_work(handlers, jobs, registry=registry)
    [handler] = handlers["shipment.cancelled"]
    payload = {"booking_id": "B-1", "carrier": "cdek", "tracking_number": "1234"}
    handler(None, Message(1, "shipment.cancelled", "shipment", 7, payload, 1))
    handler(None, Message(2, "shipment.cancelled", "shipment", 8, {"booking_id": None, "carrier": None}, 1))
    assert registry.carrier.cancelled == ["B-1"]  # no booking: nothing to cancel
    [job] = jobs
    assert job.name == "fulfilment.poll_tracking" and job.every == TRACKING_POLL_EVERY
