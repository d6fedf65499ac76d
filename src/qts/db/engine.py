"""Engine and session factory for SQLite (embedded) and PostgreSQL (scale-out, psycopg 3)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs, whatever scheme the user wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        if "poolclass" not in kwargs and ":memory:" not in url and url.rstrip("/") != "sqlite:":
            # Keep as many connections as the API's thread pool runs requests at once (40): a
            # connection past the pool is closed on return, and reopening one per request
            # (pragmas, a cold page cache) halved read throughput at 16 requests in flight.
            kwargs.setdefault("pool_size", 40)
            kwargs.setdefault("max_overflow", 10)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the API read while a job writes; foreign keys are off by default in SQLite.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class DeferredTransaction:
    """A `Database.deferred_transaction()`: its session once something began it."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.token: Token[tuple[Session, list[Callable[[], None]]] | None] | None = None
        self.callbacks: list[Callable[[], None]] = []

    @property
    def opened(self) -> bool:
        return self.session is not None


class Database:
    """One engine and its session factory; `session()` commits on success, rolls back on error.

    `transaction()` opens one transaction that every `session()` of the same thread (or task)
    joins as a savepoint until it ends, so a unit of work spread over several services (a
    trading session's bar step: fills, orders, positions, runner state) commits whole or not
    at all; `after_commit` defers what must not happen for work that may still roll back
    (events, notifications). `deferred_transaction()` is the same unit of work, begun only
    when something in it first uses the database: a bar step that touches nothing costs no
    transaction (nor SQLite's write lock).
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._ambient: ContextVar[tuple[Session, list[Callable[[], None]]] | None] = ContextVar(
            f"qts-db-{id(self)}", default=None
        )
        self._deferred: ContextVar[DeferredTransaction | None] = ContextVar(
            f"qts-db-deferred-{id(self)}", default=None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def in_transaction(self) -> bool:
        return self._ambient.get() is not None

    def _joined(self) -> tuple[Session, list[Callable[[], None]]] | None:
        """The enclosing transaction, begun now if a deferred one is waiting for its first use."""
        ambient = self._ambient.get()
        if ambient is None:
            deferred = self._deferred.get()
            if deferred is not None and deferred.session is None:
                s = self._factory()
                deferred.session = s
                deferred.token = self._ambient.set((s, deferred.callbacks))
                if self.is_sqlite:  # as in transaction(): take the write lock now
                    s.connection().exec_driver_sql("BEGIN IMMEDIATE")
                ambient = self._ambient.get()
        return ambient

    @contextmanager
    def session(self) -> Iterator[Session]:
        ambient = self._joined()
        if ambient is not None:
            with ambient[0].begin_nested():  # a savepoint: an error undoes this part only
                yield ambient[0]
            return
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for Core statements: inside an open `transaction()` its own (under a
        savepoint), so a writer in the same step never waits on that transaction's lock (on
        SQLite it would, until "database is locked"); else a new transaction, committed at
        the end."""
        ambient = self._joined()
        if ambient is not None:
            with ambient[0].begin_nested():
                yield ambient[0].connection()
            return
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[Session]:
        """One transaction for everything inside (see the class). With `lock`, holders of the
        same lock name, in any process, run one at a time until commit: a PostgreSQL
        transaction-scoped advisory lock; on SQLite the transaction takes the database's write
        lock at its start (BEGIN IMMEDIATE), which serializes every writer."""
        ambient = self._joined()
        if ambient is not None:  # joins the enclosing transaction (and takes its lock)
            self._take_lock(ambient[0], lock)
            yield ambient[0]
            return
        s = self._factory()
        callbacks: list[Callable[[], None]] = []
        token = self._ambient.set((s, callbacks))
        try:
            if self.is_sqlite:
                # pysqlite starts transactions lazily, and a SAVEPOINT outside one would
                # commit on release: begin here, taking the write lock now.
                s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            self._take_lock(s, lock)
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            self._ambient.reset(token)
            s.close()
        for callback in callbacks:
            callback()

    @contextmanager
    def deferred_transaction(self) -> Iterator[DeferredTransaction]:
        """One transaction for everything inside, as `transaction()`, begun by the first
        `session()`, `connection()` or `transaction()` inside (`.opened` tells whether one
        did); with none, nothing is begun or committed."""
        if self._ambient.get() is not None or self._deferred.get() is not None:
            raise RuntimeError("deferred_transaction() cannot nest in another transaction")
        deferred = DeferredTransaction()
        token = self._deferred.set(deferred)
        try:
            yield deferred
            if deferred.session is not None:
                deferred.session.commit()
        except BaseException:
            if deferred.session is not None:
                deferred.session.rollback()
            raise
        finally:
            self._deferred.reset(token)
            if deferred.session is not None:
                assert deferred.token is not None
                self._ambient.reset(deferred.token)
                deferred.session.close()
        for callback in deferred.callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the enclosing `transaction()` commits (now, outside one)."""
        ambient = self._ambient.get()
        if ambient is None:
            callback()
        else:
            ambient[1].append(callback)

    def _take_lock(self, s: Session, lock: str | None) -> None:
        if lock is None or self.is_sqlite:
            return
        key = zlib.crc32(f"qts:{lock}".encode()) - 2**31  # a signed 32-bit advisory key
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def dispose(self) -> None:
        self.engine.dispose()
