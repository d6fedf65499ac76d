"""`qts paper ...` that kills itself (SIGKILL) at a chosen moment: the deterministic crashes of
the paper-session crash trials.

python -m tests.execution.paper_crash_child fill:10 paper --strategy ... --replay
  fill:N       right after the transaction holding the N-th fill is committed ("saved")
  submitted:N  right after the N-th order's `submitted` answer is written, before its commit
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from qts.db.models import Fill, Order


def arm(kind: str, count: int) -> None:
    seen = {"n": 0, "armed": False}

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    @event.listens_for(Session, "after_flush")
    def _count(session: Session, _ctx: Any) -> None:
        if kind == "fill":
            seen["n"] += sum(isinstance(o, Fill) for o in session.new)
            seen["armed"] = seen["armed"] or seen["n"] >= count
        else:
            seen["n"] += sum(
                isinstance(o, Order) and o.status == "submitted" for o in session.dirty
            )
            if seen["n"] >= count:
                die()

    @event.listens_for(Session, "after_commit")
    def _commit(session: Session) -> None:
        if seen["armed"] and not session.in_nested_transaction():  # saved: committed for real
            die()


def main() -> None:
    kind, count = sys.argv[1].split(":")
    arm(kind, int(count))
    from qts.cli.main import app

    app(args=sys.argv[2:], prog_name="qts")


if __name__ == "__main__":
    main()
