"""``zakaz outbox list|retry|replay``: look at the outbox and put messages back in the queue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select, update

from zakaz.cli.common import console, engine
from zakaz.clock import utcnow
from zakaz.db import unit_of_work
from zakaz.outbox import OutboxMessage as M
from zakaz.outbox import OutboxStatus as S

app = typer.Typer(
    help="Inspect the outbox, retry dead messages, replay processed ones.", no_args_is_help=True
)


@app.command("list")
def list_messages(
    status: Annotated[str | None, typer.Option(help="pending, processing, done or dead")] = None,
    topic: Annotated[str | None, typer.Option(help="only this topic")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """Newest messages first, with a count per status."""
    with unit_of_work(engine(), read_only=True) as session:
        counts: dict[str, int] = {
            status: n for status, n in session.execute(select(M.status, func.count()).group_by(M.status))
        }
        stmt = select(M).order_by(M.id.desc()).limit(limit)
        if status:
            stmt = stmt.where(M.status == status)
        if topic:
            stmt = stmt.where(M.topic == topic)
        console.print("  ".join(f"{s.value}: {counts.get(s.value, 0)}" for s in S))
        table = Table("id", "topic", "aggregate", "status", "tries", "available", "error")
        for m in session.scalars(stmt):
            table.add_row(
                str(m.id),
                m.topic,
                f"{m.aggregate_type} {m.aggregate_id}",
                m.status,
                str(m.attempts),
                f"{m.available_at:%Y-%m-%d %H:%M:%S}",
                (m.last_error or "")[:60],
            )
    console.print(table)


def _requeue(ids: list[int], statuses: list[str], *, all_of_status: bool) -> int:
    if not ids and not all_of_status:
        raise typer.BadParameter("give message ids, or --all")
    stmt = (
        update(M)
        .where(M.status.in_(statuses))
        .values(status=S.pending.value, available_at=utcnow(), attempts=0, claimed_by=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    if ids:
        stmt = stmt.where(M.id.in_(ids))
    with unit_of_work(engine()) as session:
        return int(getattr(session.execute(stmt), "rowcount", 0) or 0)


@app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="message ids")] = None,
    all_dead: Annotated[bool, typer.Option("--all", help="every dead message")] = False,
) -> None:
    """Dead (or waiting) messages back to pending, due now, with their attempts reset."""
    n = _requeue(ids or [], [S.dead.value, S.pending.value], all_of_status=all_dead)
    console.print(f"{n} messages queued again")


@app.command("replay")
def replay(
    ids: Annotated[list[int], typer.Argument(help="message ids")],
    resend: Annotated[
        bool, typer.Option(help="also send again the deliveries these messages already made")
    ] = False,
) -> None:
    """Run processed (done or dead) messages again. Handlers are idempotent, so deliveries already sent
    are not repeated unless --resend (receivers dedupe webhooks by event id)."""
    n = _requeue(ids, [S.done.value, S.dead.value], all_of_status=False)
    resent = 0
    if resend:
        from zakaz.notifications import service
        from zakaz.notifications.models import Delivery

        with unit_of_work(engine()) as session:
            for delivery_id in session.scalars(select(Delivery.id).where(Delivery.message_id.in_(ids))):
                service.resend(session, delivery_id)
                resent += 1
    console.print(f"{n} messages queued again" + (f", {resent} deliveries to send again" if resend else ""))
