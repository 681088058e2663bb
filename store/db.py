"""The engine and its transactions.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE`` so that two processes never both read and then fail to upgrade to a write lock.
PostgreSQL runs at READ COMMITTED; writers serialise per youth with ``SELECT … FOR UPDATE`` on its row.
A database that does not answer leaves this module only as ``DatabaseUnavailable``; the services turn
it into their own error at their boundary. Engines hide SQL parameters from their errors
(``hide_parameters``): they hold BSNs and names, and errors end up in the server log.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from store import rechtstreeks

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database did not answer (connection refused, lost, or the file cannot be opened)."""


CHECKPOINT_SECONDEN = 0.1
"""SQLite: a process copies the write-ahead log into the database file (a passive checkpoint) after a write
transaction when its last checkpoint is this long ago (``Database.checkpoint_na_schrijven``). Every half second
was too seldom with two workers filing (``bench/README.md``): a passive checkpoint cannot empty the log while the
other process writes on, so the log still grew to ``WAL_VANGNET_PAGINAS``, and SQLite's own checkpoint there
copied, inside a commit and with every writer waiting, all that the last ones had not: the filings' p99 went from
75–79 ms to 52–54 ms, their rate unchanged."""

WAL_VANGNET_PAGINAS = 10_000
"""SQLite's own checkpoint, inside the commit that makes the write-ahead log this many pages long (40 MB): where
the log starts anew while several processes write (a passive checkpoint never empties it then), and a safety net
when the checkpoints after writing fall behind. Lower (SQLite's default, 1,000) it ran far more often, each time
inside a commit: p99 as with 0.1 s above, but 6 % fewer filings and 8 % fewer meldingen in batches."""


def _privaat_bestand(pad: Path) -> None:
    """A new database file readable by the gateway's user only, in a directory of its own (created 0700): it
    holds BSNs and names. SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions. An
    existing file keeps the permissions its operator gave it (docs/privacy.md)."""
    if not pad.parent.exists():
        pad.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not pad.exists():
        os.close(os.open(pad, os.O_WRONLY | os.O_CREAT, 0o600))


_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}

_GEERFD: list[Connection] = []
"""Write connections a forked process found in its ``Database`` (``Database._schrijven``)."""


def _sqlite_engine(url: str) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        _privaat_bestand(Path(path))
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # Checkpoints run after the writer lock is released (``Database.checkpoint_na_schrijven``); SQLite's own,
        # inside the commit that crosses its threshold, stays as a safety net far above what they leave.
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_VANGNET_PAGINAS}")
        # Deleted rows are overwritten with zeros, not left in free space of the file (docs/privacy.md).
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("vir_begin", "DEFERRED")
        rechtstreeks.sql(conn, _BEGIN[mode])

    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)


class _WriterLock:
    """Serialises SQLite writers of all processes on one host with ``flock``.

    SQLite's own busy handler polls in growing sleeps (up to 100 ms), so under contention a waiting
    writer often sleeps long after the lock is free. ``flock`` wakes the next writer at once; SQLite's
    lock is then nearly always free when ``BEGIN IMMEDIATE`` asks for it (the busy timeout stays as
    a safety net for writers that do not take this lock, such as an operator's sqlite3 shell).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def _opruimen(engine: Engine, schrijfverbinding: list[Connection], pid: int) -> None:
    """What ``Database.dispose`` does, for a Database collected without it; in the process that made it only."""
    if os.getpid() != pid:
        return
    try:
        for verbinding in schrijfverbinding:
            verbinding.close()
        engine.dispose()
    except Exception:  # noqa: S110 - collected anyway; nothing to report to
        pass


class Database:
    """One per process (create it after forking)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite: write transactions begin IMMEDIATE, reads DEFERRED (engines made once: each
        # execution_options() call builds a new one).
        self._binds = {
            True: self.engine.execution_options(vir_begin="IMMEDIATE") if self.is_sqlite else self.engine,
            False: self.engine.execution_options(vir_begin="DEFERRED") if self.is_sqlite else self.engine,
        }
        path = make_url(url).database if self.is_sqlite else None
        self._writer_lock = _WriterLock(Path(f"{path}.writer-lock")) if path and path != ":memory:" else None
        self._laatste_checkpoint = time.monotonic()
        # SQLite: the connection this process writes on, kept between write transactions (``_schrijven``).
        self._schrijfverbinding: list[Connection] = []  # none or one; ``_opruimen`` holds the same list
        self._schrijfverbinding_pid = 0
        # A Database dropped without ``dispose`` (a command run in process, a test) closes its connections when it is
        # collected, not the interpreter at some later moment (which Python 3.13 reports as a ResourceWarning).
        self._opruimen = weakref.finalize(self, _opruimen, self.engine, self._schrijfverbinding, os.getpid())
        self._opruimen.atexit = False
        # Called with the session's ``info`` when a transaction has ended (committed or rolled back): how long
        # it held locks it noted there (the log head, ``store/logboek.py``) goes to the metrics.
        self.na_afloop: Callable[[dict[Any, Any]], None] | None = None
        # Called with the session's ``info`` when a transaction that noted something there did not commit (the
        # log's entry numbers it took from the sequence are then gaps to fill, ``gateway/log/writer.py``).
        self.na_terugdraai: Callable[[dict[Any, Any]], None] | None = None

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        if write and self._writer_lock is not None:
            with self._writer_lock.held(), self._transaction(write=True, verbinding=self._schrijven()) as session:
                yield session
            self.checkpoint_na_schrijven()
        else:
            with self._transaction(write=write) as session:
                yield session

    def _schrijven(self) -> Connection:
        """SQLite: the connection of this process's write transactions, taken from the pool once and kept.
        Only the holder of the writer lock uses it (the lock serialises the threads of a process as well as the
        processes), so one is enough. Taking one from the pool and giving it back made an empty write transaction
        cost 69 µs; on the kept one it costs 47 (``bench/README.md``). A transaction that fails lets
        it go (``_transaction``), and the next one takes another. A process forked from one that held it leaves
        it alone (SQLite's connections are not to be used in a forked process, closing them included) and takes
        its own."""
        if self._schrijfverbinding and self._schrijfverbinding_pid != os.getpid():
            self._schrijven_loslaten()
        if not self._schrijfverbinding:
            self._schrijfverbinding.append(self._binds[True].connect())
            self._schrijfverbinding_pid = os.getpid()
        return self._schrijfverbinding[0]

    def _schrijven_loslaten(self) -> None:
        if not self._schrijfverbinding:
            return
        verbinding = self._schrijfverbinding.pop()
        if self._schrijfverbinding_pid == os.getpid():
            verbinding.close()
        else:
            _GEERFD.append(verbinding)  # the parent's: never closed here, not even by the garbage collector

    @contextmanager
    def _transaction(self, *, write: bool, verbinding: Connection | None = None) -> Iterator[Session]:
        session = Session(bind=verbinding or self._binds[write], expire_on_commit=False)
        gelukt = False
        try:
            with session.begin():
                yield session
            gelukt = True
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "40P01":
                raise  # a deadlock PostgreSQL broke: the caller may run the transaction again
            log.error("database unavailable: %s", type(exc.orig).__name__)
            raise DatabaseUnavailable() from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise DatabaseUnavailable() from exc
            raise
        finally:
            session.close()
            if not gelukt and verbinding is not None:
                self._schrijven_loslaten()
            if self.na_afloop is not None and session.info:
                self.na_afloop(session.info)
            if not gelukt and self.na_terugdraai is not None and session.info:
                self.na_terugdraai(session.info)

    def checkpoint_na_schrijven(self) -> None:
        """SQLite: after a write transaction, with the writer lock released, copy the write-ahead log into the
        database file when this process last did so ``CHECKPOINT_SECONDEN`` ago. SQLite would otherwise do it
        inside the commit that makes the log 1,000 pages long, with two fsyncs, while every other writer waits:
        a single filing's commit took about 0.3 ms on average and 5–6 ms at the 99th percentile that way, 0.16
        and 0.3 ms this way (``bench/README.md``). The request whose transaction it follows answers that much
        later; nobody else waits. Passive: it copies what no reader still needs and waits for no one, and the
        writers go on meanwhile. A failure is left to the next one (and to SQLite's own safety net)."""
        nu = time.monotonic()
        if nu - self._laatste_checkpoint < CHECKPOINT_SECONDEN:
            return
        self._laatste_checkpoint = nu
        try:
            raw = self.engine.raw_connection()
        except Exception:  # the database went away: the next transaction will say so
            return
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        except sqlite3.Error:
            pass
        finally:
            raw.close()

    def wal_legen(self) -> bool:
        """SQLite: copy the write-ahead log into the database file and truncate it, so that no page image of
        deleted rows stays behind in the ``-wal`` file (``secure_delete`` zeroes them in the file itself).
        Best effort, and brief: the checkpoint holds the write lock, so it gives up after a moment when
        readers are still using the log (False), and the next retention run tries again. PostgreSQL:
        nothing to do here (docs/privacy.md)."""
        if not self.is_sqlite:
            return True
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA busy_timeout=200")
            try:
                with self._writer_lock.held() if self._writer_lock is not None else nullcontext():
                    bezet = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError:
                bezet = 1  # locked: next time
            finally:
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
            return not bezet
        finally:
            raw.close()

    def dispose(self) -> None:
        self._opruimen.detach()
        self._schrijven_loslaten()
        self.engine.dispose()
