"""The engine and its transactions.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE`` so that two processes never both read and then fail to upgrade to a write lock.
PostgreSQL runs at READ COMMITTED; writers serialise per youth with ``SELECT … FOR UPDATE`` on its row.
Database errors leave this module only as ``StoreError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import StoreError

log = logging.getLogger(__name__)


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("vir_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Database:
    """One per process (create it after forking)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        bind = self.engine
        if self.is_sqlite:
            bind = self.engine.execution_options(vir_begin="IMMEDIATE" if write else "DEFERRED")
        session = Session(bind=bind, expire_on_commit=False)
        try:
            with session.begin():
                yield session
        except OperationalError as exc:
            log.error("database unavailable: %s", type(exc.orig).__name__)
            raise StoreError() from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreError() from exc
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
