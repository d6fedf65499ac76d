"""`Database.deferred_transaction()`: one transaction for a unit of work, begun only when the
work first uses the database (a paper session's bar step that changes nothing costs none)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from qts.db.models import SystemStatus


def _statements(db) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _log(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement.split()[0].upper())

    return seen


def test_unused_it_begins_and_commits_nothing(db) -> None:  # type: ignore[no-untyped-def]
    seen = _statements(db)
    done: list[str] = []
    with db.deferred_transaction() as step:
        db.after_commit(lambda: done.append("now"))  # nothing can roll back: runs at once
        assert done == ["now"]
    assert not step.opened
    assert seen == []


def test_first_use_begins_it_and_everything_inside_commits_together(db) -> None:  # type: ignore[no-untyped-def]
    done: list[str] = []
    with db.deferred_transaction() as step:
        with db.session() as s:
            s.add(SystemStatus(key="a", value={"v": 1}))
        db.after_commit(lambda: done.append("committed"))
        with db.session() as s:
            s.add(SystemStatus(key="b", value={"v": 2}))
        assert step.opened and done == []
    assert done == ["committed"]
    with db.session() as s:
        assert sorted(s.scalars(select(SystemStatus.key))) == ["a", "b"]


def test_an_error_rolls_back_all_of_it(db) -> None:  # type: ignore[no-untyped-def]
    done: list[str] = []
    with pytest.raises(RuntimeError, match="crash"), db.deferred_transaction():
        with db.session() as s:
            s.add(SystemStatus(key="a", value={}))
        db.after_commit(lambda: done.append("committed"))
        raise RuntimeError("crash mid-step")
    assert done == []
    with db.session() as s:
        assert list(s.scalars(select(SystemStatus.key))) == []


def test_it_does_not_nest(db) -> None:  # type: ignore[no-untyped-def]
    nested = db.deferred_transaction()
    with db.transaction(), pytest.raises(RuntimeError, match="cannot nest"):
        nested.__enter__()
