"""Fixtures: the whole suite runs against SQLite and against a real PostgreSQL.

``VIR_TEST_BACKENDS`` (default ``sqlite,postgresql``) picks the backends; ``VIR_TEST_POSTGRES`` is the
URL of a PostgreSQL database where the suite may create and drop its own databases (default: the
local server's ``test`` database, trust auth). An unreachable PostgreSQL fails the run; it is never
skipped silently.

Tiers: ``pytest -m "not slow"`` on SQLite is the inner loop (a few minutes); the tests marked ``slow``
(federations of gateway processes, concurrent writers, property-based fuzzing, long walks through the
index) run in the full suite, ``bash tests/run.sh``. Their long runs are counted, not timed:
``VIR_TEST_CONCURRENT_FILINGS`` (filings per concurrent log writer), ``VIR_TEST_FEDERATIE_MELDINGEN``
(meldingen over a federation with a peer down) and ``VIR_TEST_FEDERATIE_DOWN_RETRIES`` (failed
deliveries to that peer before it comes back).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import gateway  # noqa: F401  (installs the Spyne shim before any test module imports spyne)
from store.db import Database
from store.migrate import upgrade
from tests.support import Server, start_server

BACKENDS = [b.strip() for b in os.environ.get("VIR_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
PG_ADMIN = os.environ.get("VIR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def create_pg_database() -> str:
    name = f"vir_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A gateway's own database on each backend: None on SQLite (the file under its data directory), else a
    fresh PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        yield None
        return
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with the most slow tests first, each in its own order (after pytest has grouped the tests by
    backend). The processes of ``--dist loadfile`` take modules in this order, so the long federation and
    load modules start early and the many short ones fill up the end: both processes finish together. (The
    scheduler's own order, most tests first, left the long single-test modules for last.)"""
    slow = Counter(_module(item) for item in items if item.get_closest_marker("slow"))
    first_seen = {name: i for i, name in enumerate(dict.fromkeys(_module(item) for item in items))}
    items.sort(key=lambda item: (-slow[_module(item)], first_seen[_module(item)]))


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated store of its own, on each backend in turn."""
    url = f"sqlite:///{tmp_path / 'vir.sqlite3'}" if request.param == "sqlite" else create_pg_database()
    database = Database(url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()
        if request.param != "sqlite":
            drop_pg_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database URL for one backend, for the whole session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "vir.sqlite3"
        yield f"sqlite:///{path}"
    elif request.param == "postgresql":
        url = create_pg_database()
        yield url
        drop_pg_database(url)
    else:
        raise ValueError(f"unknown backend {request.param}")


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real gateway (gunicorn, two workers) on port 0 with the demo instanties."""
    srv = start_server(tmp_path_factory.mktemp("gateway"), backend)
    yield srv
    srv.stop()
