"""The message log on PostgreSQL: entry numbers from a sequence, the tree extended by the sequencer.

A filing writes its entries with the numbers it took and does not touch the log head; the sequencer takes the
committed entries into the tree once per batch (``gateway/log/writer.py``). These tests hold the parts that make
that safe: a filing never waits for the head, every number ends up as exactly one entry (the filing's, or a gap
entry when its transaction did not commit), an entry still being written is waited for and never overwritten,
an entry that comes too late for its number fails instead of forking the log, and verification accepts entries
not yet in the tree while still checking each of them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from gateway.config import Settings
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel, leaf_of_row
from gateway.log.writer import GAT, Append, append
from store.db import Database
from store.migrate import upgrade
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import A, bsn, client, run_cli, sg, start_server

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL backend not selected")


class Log:
    """A migrated PostgreSQL database with the gateway's log on it."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.db = Database(url)
        upgrade(self.db)
        self.env = {**os.environ, "VIR_DATABASE_URL": url, "VIR_DATA_DIR": str(data_dir), "VIR_OPERATOR": "t"}
        self.boek = Logboek(Settings(data_dir=data_dir, database_url=url), self.db)
        self.boek.gaten.wachttijd = 0.3

    def regel(self, tekst: str) -> Logregel:
        return Logregel(self.boek.nu(), "beheer", "test", "tester", tekst.encode())

    def schrijf(self, *teksten: str) -> list[int]:
        with self.db.transaction() as s:
            return [b.volgnummer for b in append(s, [self.regel(t) for t in teksten])]

    def sql(self, query: str, **params: object) -> list[tuple[object, ...]]:
        engine = create_engine(self.url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(query), params)
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def grootte(self) -> int:
        return int(self.sql("SELECT grootte FROM loghoofd")[0][0])  # type: ignore[call-overload]

    def operaties(self) -> dict[int, str]:
        return {int(v): str(o) for v, o in self.sql("SELECT volgnummer, operatie FROM logregel")}  # type: ignore[call-overload]

    def verify(self) -> tuple[int, str]:
        r = run_cli("log", "verify", env=self.env)
        return r.returncode, r.stdout + r.stderr


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    url = create_pg_database()
    lg = Log(url, tmp_path)
    try:
        yield lg
    finally:
        lg.db.dispose()
        drop_pg_database(url)


def test_entries_wait_outside_the_tree_until_the_sequencer_takes_them_in(log: Log) -> None:
    nummers = log.schrijf("een", "twee") + log.schrijf("drie")
    assert nummers == [0, 1, 2]
    assert log.grootte() == 0  # the filing did not touch the head
    code, uit = log.verify()
    assert code == 0 and "OK: 0 entries" in uit and "3 entries committed after the tree's end" in uit, uit
    integratie = log.boek.integreer(wachten=False)  # the three, and the entry of the verification
    assert integratie is not None and (integratie.hoofd.grootte, integratie.opgenomen) == (4, 4)
    assert log.boek.integreer(wachten=False) is None  # nothing waits: nothing locked, nothing written
    code, uit = log.verify()
    assert code == 0 and "OK: 4 entries" in uit and "after the tree's end" not in uit, uit
    assert log.boek.checkpoint(force=True) is not None  # integrates first: the checkpoint covers everything
    assert log.grootte() == max(log.operaties()) + 1


def test_an_entry_changed_before_it_is_in_the_tree_is_named(log: Log) -> None:
    log.schrijf("een", "twee")
    log.sql("UPDATE logregel SET actor = 'iemand anders' WHERE volgnummer = 1")
    code, uit = log.verify()
    assert code == 1 and "regel 1: not yet in the tree, and its metadata does not match its leaf hash" in uit, uit


def test_the_numbers_of_a_transaction_that_did_not_commit_become_gap_entries_at_once(log: Log) -> None:
    with pytest.raises(RuntimeError), log.db.transaction() as s:
        append(s, [log.regel("wordt teruggedraaid"), log.regel("ook")])
        raise RuntimeError("the work failed after its entries were added")
    log.schrijf("daarna")
    assert log.operaties() == {0: GAT, 1: GAT, 2: "test"}
    integratie = log.boek.integreer()
    assert integratie is not None and integratie.hoofd.grootte == 3
    assert log.boek.checkpoint(force=True) is not None
    code, uit = log.verify()
    assert code == 0, uit


def test_a_number_taken_by_a_process_that_vanished_is_filled_once_it_is_old(log: Log) -> None:
    log.sql("SELECT nextval('logregel_volgnummer')")  # taken and committed, its entry never written (kill -9)
    log.schrijf("na het gat")
    integratie = log.boek.integreer()
    assert integratie is not None and integratie.hoofd.grootte == 0  # a young gap: it may still be written
    assert list(log.boek.gaten.gezien) == [0]
    time.sleep(log.boek.gaten.wachttijd + 0.05)
    integratie = log.boek.integreer()
    assert integratie is not None and (integratie.hoofd.grootte, integratie.gaten) == (2, 1)
    assert log.operaties() == {0: GAT, 1: "test"}
    assert log.boek.gaten.gezien == {}  # a process under load does not collect the gaps it saw close
    row = log.db.engine.connect()
    try:
        gat = row.execute(text("SELECT * FROM logregel WHERE volgnummer = 0")).one()
    finally:
        row.close()
    assert leaf_of_row(gat) == bytes(gat.leaf)  # a gap entry is an entry like any other
    assert log.boek.checkpoint(force=True) is not None
    code, uit = log.verify()
    assert code == 0, uit


def test_an_entry_still_being_written_is_waited_for_and_never_overwritten(log: Log) -> None:
    s = log.db.engine.connect()
    from sqlalchemy.orm import Session

    schrijver = Session(bind=s)
    a = Append(schrijver)
    a.add(log.regel("traag"))
    a.close()  # inserted, not committed
    log.schrijf("snel")
    assert log.boek.integreer() is not None and log.grootte() == 0  # a young gap
    time.sleep(log.boek.gaten.wachttijd + 0.05)
    integratie = log.boek.integreer()  # the gap is old, but its number is held: waits a moment, then stops
    assert integratie is not None and integratie.hoofd.grootte == 0
    schrijver.commit()
    schrijver.close()
    s.close()
    integratie = log.boek.integreer()
    assert integratie is not None and (integratie.hoofd.grootte, integratie.gaten) == (2, 0)
    assert log.operaties() == {0: "test", 1: "test"}


def test_an_entry_whose_number_became_a_gap_fails_instead_of_forking_the_log(log: Log) -> None:
    s = log.db.engine.connect()
    from sqlalchemy.orm import Session

    schrijver = Session(bind=s)
    a = Append(schrijver)
    a.add(log.regel("te laat"))  # the number is taken; the entry is not written yet
    log.schrijf("op tijd")
    assert log.boek.integreer() is not None and log.grootte() == 0  # a young gap
    time.sleep(log.boek.gaten.wachttijd + 0.05)
    integratie = log.boek.integreer()
    assert integratie is not None and (integratie.hoofd.grootte, integratie.gaten) == (2, 1)
    with pytest.raises(IntegrityError):
        a.close()
        schrijver.commit()
    schrijver.close()
    s.close()
    assert log.operaties() == {0: GAT, 1: "test"}


def test_a_filing_does_not_wait_for_the_log_head(tmp_path: Path) -> None:
    url = create_pg_database()
    srv = start_server(tmp_path / "gw", url)
    try:
        svc = client(srv)
        svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "Anna"})
        engine = create_engine(url)
        vasthouder = engine.connect()
        vasthouder.execute(text("SELECT grootte FROM loghoofd WHERE id = 1 FOR UPDATE"))  # held, as a sequencer
        klaar: list[object] = []

        def filing() -> None:
            klaar.append(
                svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "Bo"})
            )

        time.sleep(1.2)  # a checkpoint is due after the next request: it must not wait for the head either
        t = threading.Thread(target=filing)
        t.start()
        t.join(timeout=20)
        assert klaar, "a filing waited for the log head"
        receipt = klaar[0].stuurgegevens.ontvangstbewijs  # type: ignore[attr-defined]
        vasthouder.rollback()
        vasthouder.close()
        engine.dispose()
        env = {**os.environ, "VIR_DATABASE_URL": url, "VIR_DATA_DIR": str(srv.log.parent / "data"), "VIR_OPERATOR": "t"}
        assert run_cli("log", "checkpoint", env=env).returncode == 0
        answer = svc.OntvangstbewijsOpvragen(
            stuurgegevens=sg(A), ontvangstbewijs={"volgnummer": receipt.volgnummer, "leafHash": receipt.leafHash}
        )
        assert answer.status == "bewezen"
    finally:
        srv.stop()
        drop_pg_database(url)
