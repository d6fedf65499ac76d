"""The claim (issue 14, defects 2 and 3): an order is sent only by the process that moved it
from `new` to `submitting`; one claimed and never answered is not sent again by a retry; the
risk check counts working orders; a bar step's unit of work commits whole or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qts.core.errors import ConflictError
from qts.core.types import OrderTicket, Side
from qts.db.models import AuditLog, Order
from qts.db.repositories.audit import AuditRepository
from qts.execution.order_states import can_transition
from qts.execution.risk import RiskLimits
from qts.services.trading.order_claims import CLAIM_LOCK
from tests.execution.test_order_service import make


def _sends(executor) -> list[str]:  # type: ignore[no-untyped-def]
    return [o.client_order_id for o in executor.book.orders]


def test_a_claimed_order_is_never_sent_again_by_a_retry(db, bus) -> None:  # type: ignore[no-untyped-def]
    service, executor = make(db, bus)
    ticket = OrderTicket("AAA", Side.BUY, 1, client_order_id="claim-0001", reference_price=100)
    service.place(ticket)
    # Another process claimed this one and died before the answer: it stays `submitting`.
    with db.session() as s:
        s.add(Order(client_order_id="claim-0002", symbol="AAA", side="buy", quantity=1,
                    status="submitting", account="paper"))  # fmt: skip
    again = service.place(
        OrderTicket("AAA", Side.BUY, 1, client_order_id="claim-0002", reference_price=100)
    )
    assert again["status"] == "submitting"
    assert _sends(executor) == ["claim-0001"]  # claim-0002 was not sent by the retry
    with pytest.raises(ConflictError, match="being submitted"):
        service.cancel("claim-0002", actor="alice")
    # Reconciliation found it absent at the broker: released, the next place sends it once.
    assert service.release_claim("claim-0002", "not at the broker")["status"] == "new"
    assert (
        service.place(
            OrderTicket("AAA", Side.BUY, 1, client_order_id="claim-0002", reference_price=100)
        )["status"]
        == "submitted"
    )
    assert _sends(executor) == ["claim-0001", "claim-0002"]


def test_the_state_machine_has_the_claim_between_new_and_the_first_answer() -> None:
    from qts.core.types import OrderStatus as S

    assert can_transition(S.NEW, S.SUBMITTING) and can_transition(S.SUBMITTING, S.SUBMITTED)
    assert can_transition(S.SUBMITTING, S.FILLED) and can_transition(S.SUBMITTING, S.NEW)
    assert not can_transition(S.SUBMITTED, S.SUBMITTING)
    assert not can_transition(S.FILLED, S.SUBMITTING)


def test_working_orders_count_toward_exposure(db, bus) -> None:  # type: ignore[no-untyped-def]
    limits = RiskLimits(max_position_notional=1_000, max_gross_exposure=1_000)
    service, _executor = make(db, bus, limits)
    placed = [
        service.place(OrderTicket("AAA", Side.BUY, 3, reference_price=100))["status"]
        for _ in range(5)
    ]
    # Nothing has filled, yet the resting 3 x 300 use 900 of the 1,000: the 4th is refused.
    assert placed == ["submitted"] * 3 + ["rejected"] * 2
    state = service.account_state("paper")
    assert state.open_buys == {"AAA": 9} and state.positions == {}
    with db.session() as s:
        rules = s.scalars(select(Order.reject_rule).where(Order.status == "rejected")).all()
    assert rules == ["max_position_notional"] * 2


def test_the_order_rate_window_is_read_from_the_database(db, bus) -> None:  # type: ignore[no-untyped-def]
    limits = RiskLimits(max_orders_per_minute=2)
    first, _ = make(db, bus, limits)
    second, _ = make(db, bus, limits)  # another process: its own memory, the same database
    out = [
        svc.place(OrderTicket("AAA", Side.BUY, 1, reference_price=10))
        for svc in (first, second, first, second)
    ]
    assert [o["status"] for o in out] == ["submitted", "submitted", "rejected", "rejected"]
    assert out[2]["reject_rule"] == "max_orders_per_minute"


def test_a_transaction_commits_whole_or_not_at_all(db) -> None:  # type: ignore[no-untyped-def]
    done: list[str] = []

    def work(fail: bool) -> None:
        with db.transaction(lock=CLAIM_LOCK):
            with db.session() as s:
                AuditRepository(s).record("t", "step", "one")
            db.after_commit(lambda: done.append("published"))
            with db.session() as s:
                AuditRepository(s).record("t", "step", "two")
            if fail:
                raise RuntimeError("killed mid-step")

    with pytest.raises(RuntimeError):
        work(fail=True)
    with db.session() as s:
        assert s.scalars(select(AuditLog.target)).all() == []
    assert done == []  # nothing published for work that rolled back
    work(fail=False)
    with db.session() as s:
        assert sorted(s.scalars(select(AuditLog.target)).all()) == ["one", "two"]
    assert done == ["published"]


def test_a_failing_part_rolls_back_alone(db) -> None:  # type: ignore[no-untyped-def]
    with db.transaction():
        with db.session() as s:
            AuditRepository(s).record("t", "step", "kept")
        with pytest.raises(ValueError), db.session() as s:
            AuditRepository(s).record("t", "step", "undone")
            raise ValueError("this part only")
    with db.session() as s:
        assert s.scalars(select(AuditLog.target)).all() == ["kept"]
