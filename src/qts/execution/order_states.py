"""The order state machine: which status may follow which.

new ──► submitting ──► submitted ──► partially_filled ──► filled
 │          │  │  │        │  │             │  └────────► cancelled / expired
 │          │  │  │        │  └──► filled   │
 │          │  │  └──► new (released: the broker never got it)
 │          │  └──► filled / partially filled / rejected (the executor's first answer)
 └──► rejected / cancelled   └──► rejected / cancelled / expired

`submitting` is the claim: one process moves a stored `new` order to it with a compare-and-set
before anything is sent, so only that process sends. An order found `submitting` after a crash
is settled by asking the broker for its client order id, never by sending it again.
"""

from __future__ import annotations

from qts.core.errors import ConflictError
from qts.core.types import OrderStatus as S

_ANSWERS = frozenset({S.SUBMITTED, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCELLED})
ALLOWED: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.SUBMITTING, *_ANSWERS}),
    S.SUBMITTING: frozenset({S.NEW, S.EXPIRED, *_ANSWERS}),
    S.SUBMITTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


class InvalidTransitionError(ConflictError):
    code = "invalid_transition"


def can_transition(current: S, target: S) -> bool:
    return target in ALLOWED[current]


def check_transition(current: S | str, target: S | str) -> S:
    """Return the target status, or raise if the state machine forbids the move."""
    cur, tgt = S(current), S(target)
    if not can_transition(cur, tgt):
        raise InvalidTransitionError(f"order cannot go from {cur.value} to {tgt.value}")
    return tgt


def status_after_fill(quantity: float, filled_quantity: float, tolerance: float = 1e-9) -> S:
    return S.FILLED if filled_quantity >= quantity - tolerance else S.PARTIALLY_FILLED
