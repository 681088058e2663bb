"""The store on both backends: migrations equal the models, and the database guards its invariants."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from store.db import Database
from store.migrate import alembic_config, upgrade
from store.models import Base, Jongere, Match, Melding
from store.repository import Repository
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        upgrade(database)
        yield database
        database.dispose()
    else:
        url = create_pg_database()
        database = Database(url)
        upgrade(database)
        yield database
        database.dispose()
        drop_pg_database(url)


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def _melding(melding_id: str, instantie_id: int, jongere_id: int, status: str, nu: datetime) -> Melding:
    return Melding(
        melding_id=melding_id,
        instantie_id=instantie_id,
        jongere_id=jongere_id,
        status=status,
        afgegeven=nu,
        gewijzigd=nu,
        geplande_einddatum=nu.date(),
        versie=1,
        mb_naam="X",
        bronsysteem="t",
    )


def test_one_active_melding_per_instantie_and_youth(db: Database) -> None:
    nu = datetime.now(UTC)
    with db.transaction() as s:
        repo = Repository(s)
        inst = repo.add_instantie("00000001999999999000", "Test", None, nu)
        ids = (inst.id, repo.lock_jongere("bsn:111222333", None))
        # The upsert keeps one row per key and fills in a birth date once known.
        assert repo.lock_jongere("bsn:111222333", date(2015, 1, 2)) == ids[1]
        assert repo.lock_jongere("bsn:111222333", None) == ids[1]

    def melding(status: str, mid: str) -> Melding:
        return _melding(mid, ids[0], ids[1], status, nu)

    with db.transaction() as s:
        s.add(melding("gearchiveerd", "m-1"))
        s.add(melding("actief", "m-2"))
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(melding("actief", "m-3"))
        s.flush()
    with db.transaction() as s:
        assert s.query(Melding).count() == 2
        assert s.query(Jongere).count() == 1
        assert s.query(Jongere).one().geboortedatum == date(2015, 1, 2)


def test_locking_a_youth_says_whether_it_has_anything_in_the_index(db: Database) -> None:
    """A filing reads a youth's meldingen and matches only when the lock says there may be any: a youth new to
    the store has none; one with a melding (archived too) or a match is never taken for empty."""
    nu = datetime.now(UTC)
    with db.transaction() as s:
        repo = Repository(s)
        inst = repo.add_instantie("00000001999999999000", "Test", None, nu)
        nieuw, leeg = repo.lock_jongere_met_stand("bsn:111222333", None)
        assert leeg
        ander, leeg = repo.lock_jongere_met_stand("bsn:222333444", None)
        assert leeg
        s.add(_melding("m-1", inst.id, nieuw, "gearchiveerd", nu))
        s.add(Match(match_id="x-1", jongere_id=ander, soort="gezinsmatch", status="actief", ontstaan=nu))
    with db.transaction() as s:
        repo = Repository(s)
        assert repo.lock_jongere_met_stand("bsn:111222333", None) == (nieuw, False)
        assert repo.lock_jongere_met_stand("bsn:222333444", date(2015, 1, 2)) == (ander, False)
        assert repo.lock_jongere_met_stand("bsn:333444555", None)[1]


def test_a_savepoint_undoes_the_core_statements_inside_it(db: Database) -> None:
    """The repository writes with Core statements on the session's connection; a savepoint left with an
    exception (a refused item of a batch) must undo them too."""
    with db.transaction() as s:
        repo = Repository(s)
        buiten = repo.lock_jongere("bsn:222333444", None)
        with pytest.raises(LookupError), repo.savepoint():
            repo.lock_jongere("bsn:333444555", None)
            raise LookupError
        assert repo.jongere_ids(["bsn:222333444", "bsn:333444555"]) == [buiten]


def test_a_new_sqlite_store_and_the_keys_beside_it_are_private_to_the_gateways_user(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The database file holds BSNs and names: created 0600 in a directory created 0700, whatever the umask;
    SQLite gives the write-ahead log and its index the database file's mode. The development keys likewise."""
    from gateway.log.checkpoint import ensure_development_keys
    from gateway.sleutels import maak_sleutelbestand

    oud = os.umask(0o022)
    try:
        data = tmp_path / "vir-data"
        ensure_development_keys(data / "keys", "test")
        maak_sleutelbestand(data / "keys" / "vsn.sleutel")
        database = Database(f"sqlite:///{data / 'db' / 'vir.sqlite3'}")
        upgrade(database)
        with database.transaction() as s:
            Repository(s).add_instantie("00000001999999999000", "Test", None, datetime.now(UTC))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (data / "db").iterdir()}
        database.dispose()
    finally:
        os.umask(oud)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "db").stat().st_mode) == 0o700
    assert {"vir.sqlite3", "vir.sqlite3-wal", "vir.sqlite3-shm"} <= modes.keys()
    assert set(modes.values()) == {0o600}, modes


def _wal_na_schrijven(tmp_path, monkeypatch, elke: float) -> int:  # type: ignore[no-untyped-def]
    """The write-ahead log's size after 300 write transactions of 8 kB each, with SQLite's own checkpoint out
    of reach and the gateway's after every ``elke`` seconds."""
    import store.db

    monkeypatch.setattr(store.db, "WAL_VANGNET_PAGINAS", 1_000_000)
    monkeypatch.setattr(store.db, "CHECKPOINT_SECONDEN", elke)
    pad = tmp_path / f"wal-{elke}.sqlite3"
    database = Database(f"sqlite:///{pad}")
    upgrade(database)
    try:
        for i in range(300):
            with database.transaction() as s:
                repo = Repository(s)
                claim = repo.claim_bericht("00000001999999999000", f"b-{i}", "t", b"h", datetime.now(UTC))
                assert claim is not None
                repo.bewaar_antwoord(claim, os.urandom(8000))
        return Path(f"{pad}-wal").stat().st_size
    finally:
        database.dispose()


def test_sqlite_checkpoints_after_writing_keep_the_write_ahead_log_short(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The gateway copies the write-ahead log into the database file after its write transactions (SQLite's own
    checkpoint, inside a commit, is only a safety net): without those the log holds every transaction (2.4 MB
    here), with them it is reused from its start and stays a few transactions long."""
    assert _wal_na_schrijven(tmp_path, monkeypatch, 3600.0) > 2_400_000
    assert _wal_na_schrijven(tmp_path, monkeypatch, 0.0) < 400_000


def test_the_checkpoint_after_writing_runs_with_the_writer_lock_released(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Other writers go on while a process checkpoints: the writer lock (``flock``) is free by then."""
    import fcntl

    import store.db

    monkeypatch.setattr(store.db, "CHECKPOINT_SECONDEN", 0.0)
    pad = tmp_path / "slot.sqlite3"
    database = Database(f"sqlite:///{pad}")
    upgrade(database)
    vrij: list[bool] = []
    checkpoint = database.checkpoint_na_schrijven

    def met_proef() -> None:
        fd = os.open(f"{pad}.writer-lock", os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another process's attempt, in effect
            fcntl.flock(fd, fcntl.LOCK_UN)
            vrij.append(True)
        except BlockingIOError:
            vrij.append(False)
        finally:
            os.close(fd)
        checkpoint()

    monkeypatch.setattr(database, "checkpoint_na_schrijven", met_proef)
    try:
        with database.transaction() as s:
            Repository(s).add_instantie("00000001999999999000", "Test", None, datetime.now(UTC))
    finally:
        database.dispose()
    assert vrij == [True]


def test_the_partial_unique_indexes_still_guard_and_serve_their_lookups(db: Database) -> None:
    """``uq_melding_bron`` and ``uq_jongere_pseudoniem`` hold only filled rows (migration 0017): another system's
    melding or a pseudonym taken twice is still refused, rows without either are many, and a lookup by value still
    uses the index on both backends (the planner may prefer a scan of a tiny table: told not to, it must still be
    able to use the index)."""
    nu = datetime.now(UTC)
    with db.transaction() as s:
        repo = Repository(s)
        inst = repo.add_instantie("00000001111111111000", "Jeugdzorg Noord", None, nu).id
        ids = [repo.lock_jongere(f"bsn:{n}", None) for n in range(3)]
        for i, j in enumerate(ids):  # ours: neither filled
            repo.insert(_melding(f"m{i}", inst, j, "actief", nu))
        s.execute(Jongere.__table__.update().where(Jongere.id == ids[0]).values(pseudoniem="psn:a"))
        fremd = _melding("f1", inst, ids[1], "gearchiveerd", nu)
        fremd.bron_systeem, fremd.bron_melding_id = "ZVJ", "x-1"
        repo.insert(fremd)
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(Jongere.__table__.update().where(Jongere.id == ids[1]).values(pseudoniem="psn:a"))
    with pytest.raises(IntegrityError), db.transaction() as s:
        dubbel = _melding("f2", inst, ids[2], "gearchiveerd", nu)
        dubbel.bron_systeem, dubbel.bron_melding_id = "ZVJ", "x-1"
        Repository(s).insert(dubbel)
    vragen = {
        "uq_jongere_pseudoniem": "SELECT id FROM jongere WHERE pseudoniem = 'psn:a'",
        "uq_melding_bron": "SELECT id FROM melding WHERE bron_systeem = 'ZVJ' AND bron_melding_id = 'x-1'",
    }
    with db.engine.connect() as conn:
        definities = (
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            if db.is_sqlite
            else "SELECT indexname, indexdef FROM pg_indexes"
        )
        definitie = dict(conn.exec_driver_sql(definities).all())
        assert all("IS NOT NULL" in definitie[index] for index in vragen), definitie
        if not db.is_sqlite:
            conn.exec_driver_sql("SET enable_seqscan = off")
        for index, vraag in vragen.items():
            plan = " ".join(
                str(r[-1] if db.is_sqlite else r[0])
                for r in conn.exec_driver_sql(f"EXPLAIN {'QUERY PLAN ' if db.is_sqlite else ''}{vraag}")
            )
            assert index in plan, plan


def _logtabellen(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        tabel: [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {tabel} ORDER BY {sleutel}")]
        for tabel, sleutel in (("logregel", "volgnummer"), ("logknoop", "sleutel"))
    }


def test_the_log_keys_are_the_tables_row_keys_on_sqlite_and_the_rebuild_keeps_every_row(tmp_path: Path) -> None:
    """Migration 0018 rebuilds ``logregel`` and ``logknoop`` on SQLite with their keys as the rowid (no second
    b-tree beside the table): every row, value and index is kept, 64-bit keys included, and back again."""
    database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    cfg = alembic_config(database.url)
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0017_gedeeltelijke_uniek")
    groot = 2**62 + 5  # beyond 32 bits: the rowid holds 64
    with database.engine.begin() as conn:
        for n in (0, 1, 2, groot):
            conn.exec_driver_sql(
                "INSERT INTO logregel (volgnummer, tijdstip, soort, operatie, actor, bericht_id, kruisverwijzing, "
                "foutcode, correlatie_id, payload_digest, payload_lengte, payload, payload_verwijderd, leaf) "
                "VALUES (?, ?, 'inkomend', 'MeldingAfgeven', '00000001111111111000', ?, NULL, NULL, ?, ?, ?, ?, ?, ?)",
                (
                    n,
                    f"2026-12-04T10:00:0{n % 10}.000001Z",
                    f"b-{n}",
                    f"c-{n}",
                    bytes([n % 256]) * 32,
                    n % 1000,
                    None if n == 1 else b"<x>\x00\xff</x>" * (n % 7 + 1),
                    "2026-12-05T00:00:00Z" if n == 1 else None,
                    bytes([(n + 1) % 256]) * 32,
                ),
            )
        for sleutel in (65, 129, 66, groot):
            conn.exec_driver_sql("INSERT INTO logknoop (sleutel, hash) VALUES (?, ?)", (sleutel, bytes(32)))
        voor = _logtabellen(conn)

    def schema(conn: Any) -> dict[str, str]:
        """The tables' and indexes' definitions (a rebuilt table's name comes back quoted)."""
        sql = "SELECT name, sql FROM sqlite_master WHERE tbl_name IN ('logregel', 'logknoop')"
        return {naam: (definitie or "").replace('"', "") for naam, definitie in conn.exec_driver_sql(sql)}

    with database.engine.begin() as conn:
        oud = schema(conn)
        assert "sqlite_autoindex_logregel_1" in oud and "sqlite_autoindex_logknoop_1" in oud
    upgrade(database)
    with database.engine.begin() as conn:
        assert _logtabellen(conn) == voor
        nieuw = schema(conn)
        assert not {n for n in nieuw if n.startswith("sqlite_autoindex")}, nieuw
        assert {"ix_logregel_tijdstip", "ix_logregel_bericht", "ix_logregel_actor"} <= set(nieuw)
        for tabel, sleutel in (("logregel", "volgnummer"), ("logknoop", "sleutel")):
            assert f"{sleutel} INTEGER NOT NULL" in nieuw[tabel]
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {tabel} WHERE rowid != {sleutel}").scalar() == 0
        plan = " ".join(
            str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT * FROM logregel WHERE volgnummer = 2")
        )
        assert "INTEGER PRIMARY KEY" in plan, plan
        with pytest.raises(IntegrityError):
            conn.exec_driver_sql("INSERT INTO logknoop (sleutel, hash) VALUES (?, ?)", (groot, bytes(32)))
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0017_gedeeltelijke_uniek")
    with database.engine.begin() as conn:
        assert _logtabellen(conn) == voor
        assert schema(conn) == oud
    database.dispose()


def test_sqlite_write_transactions_share_one_kept_connection_safely(tmp_path: Path) -> None:
    """SQLite: a process writes on one connection it keeps (``Database._schrijven``). A failed write transaction
    lets it go and the next one works on a fresh one; threads writing at once each get the whole transaction to
    themselves (the writer lock) while readers go on; a forked process takes its own and leaves the parent's."""
    import threading

    database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    upgrade(database)
    nu = datetime.now(UTC)

    def claim(n: int) -> None:
        with database.transaction() as s:
            assert Repository(s).claim_bericht("00000001999999999000", f"b-{n}", "t", b"h", nu) is not None

    def aantal() -> int:
        with database.transaction(write=False) as s:
            return int(s.execute(text("SELECT count(*) FROM bericht")).scalar_one())

    claim(0)
    eerste = database._schrijven()
    claim(1)
    assert database._schrijven() is eerste  # kept
    with pytest.raises(IntegrityError), database.transaction() as s:
        s.execute(text("INSERT INTO bericht SELECT * FROM bericht WHERE bericht_id = 'b-0'"))
    assert not database._schrijfverbinding and eerste.closed  # let go after the failure
    claim(2)
    assert aantal() == 3

    fouten: list[BaseException] = []

    def schrijver(begin: int) -> None:
        try:
            for n in range(begin, begin + 50):
                claim(n)
                aantal()
        except BaseException as exc:  # reported below
            fouten.append(exc)

    draden = [threading.Thread(target=schrijver, args=(100 * (i + 1),)) for i in range(4)]
    for d in draden:
        d.start()
    for d in draden:
        d.join()
    assert not fouten, fouten
    assert aantal() == 3 + 200

    van_ouder = database._schrijven()
    pid = os.fork()
    if pid == 0:  # the child: its own connection, and its write lands
        code = 1
        try:
            claim(10_000)
            code = 0 if database._schrijven() is not van_ouder and not van_ouder.closed else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    claim(10_001)  # the parent's connection still works
    assert database._schrijven() is van_ouder
    assert aantal() == 3 + 200 + 2
    database.dispose()
    assert van_ouder.closed


def test_a_database_dropped_without_dispose_closes_its_connections_when_collected(tmp_path: Path) -> None:
    """A ``Database`` nobody disposes (a command run in process, say) closes its connections, the kept write
    connection included, when it is collected; Python 3.13 reports a driver connection collected open as a
    ResourceWarning, which here fails the test that happens to collect it."""
    import gc
    import sys

    gemeld: list[str] = []
    oud = sys.unraisablehook
    sys.unraisablehook = lambda u: gemeld.append(f"{u.exc_type.__name__}: {u.exc_value}")
    try:
        database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        upgrade(database)
        with database.transaction() as s:
            Repository(s).claim_bericht("00000001999999999000", "b-1", "t", b"h", datetime.now(UTC))
        with database.transaction(write=False) as s:
            s.execute(text("SELECT 1"))
        del database, s
        gc.collect()
    finally:
        sys.unraisablehook = oud
    assert gemeld == []
