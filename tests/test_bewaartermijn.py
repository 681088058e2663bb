"""Lifetimes of what is kept beside the meldingen (docs/privacy.md), under a simulated clock through the live
service: stored answers for the retry window, signals until handled or too old, WS-Addressing MessageIDs
for twice their timestamp window; and deleted rows do not linger in the SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zeep.exceptions
from sqlalchemy import DateTime, bindparam, create_engine, text

from gateway.config import Settings
from gateway.log.logboek import Logboek
from gateway.onderhoud import onderhoud
from store.db import Database
from store.migrate import upgrade
from store.models import Bericht
from store.repository import Repository
from store.retentie import Retentie
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import A, B, Server, bsn, client, fault_code, sg, start_server

BEGIN = datetime.fromisoformat("2026-01-05T09:00:00+00:00")


@dataclass
class Omgeving:
    server: Server
    svc: Any
    env: dict[str, str]
    klok: Path

    def op(self, dagen: float) -> None:
        """Set the simulated clock to ``dagen`` after BEGIN and run retention as the hourly job would."""
        self.klok.write_text((BEGIN + timedelta(days=dagen)).isoformat())
        r = subprocess.run([sys.executable, "-m", "vir", "onderhoud"], env=self.env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    def tel(self, query: str, **params: Any) -> int:
        engine = create_engine(self.server.db_url)
        try:
            # Times as the store writes them (SQLAlchemy's DateTime type), not sqlite3's own adapter, which
            # Python 3.12 deprecates.
            stmt = text(query).bindparams(
                *(bindparam(k, v, type_=DateTime(timezone=True)) for k, v in params.items() if isinstance(v, datetime))
            )
            with engine.connect() as conn:
                return int(
                    conn.execute(stmt, {k: v for k, v in params.items() if not isinstance(v, datetime)}).scalar_one()
                )
        finally:
            engine.dispose()


@pytest.fixture(params=BACKENDS)
def omgeving(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Omgeving]:
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    klok = tmp_path / "klok"
    klok.write_text(BEGIN.isoformat())
    env = {**os.environ, "VIR_DATA_DIR": str(tmp_path / "data"), "VIR_DATABASE_URL": url,
           "VIR_KLOK_BESTAND": str(klok)}  # fmt: skip
    srv = start_server(tmp_path, url, extra_env=env)
    yield Omgeving(srv, client(srv), env, klok)
    srv.stop()
    if request.param == "postgresql":
        drop_pg_database(url)


def _mb(naam: str) -> dict[str, str]:
    return {"naam": naam, "functie": "jeugdarts", "telefoon": "050-1112223", "email": "arts@example.nl"}


def test_stored_answers_and_signals_have_a_lifetime(omgeving: Omgeving) -> None:
    o = omgeving
    j = {"bsn": bsn()}
    eerste = sg(A)
    a = o.svc.MeldingAfgeven(stuurgegevens=eerste, jongere=j, meldingsbevoegde=_mb("Ludovica Ploegmakers"))
    o.svc.MeldingAfgeven(stuurgegevens=sg(B), jongere=j, meldingsbevoegde=_mb("Bartholomeus Kroes"))
    signalen_a = o.svc.SignalenOphalen(stuurgegevens=sg(A), maximaal=1000).signaal
    assert signalen_a, "A learns of the match"
    o.svc.SignalenBevestigen(stuurgegevens=sg(A), totEnMetVolgnummer=signalen_a[-1].volgnummer)
    o.svc.SignalenOphalen(stuurgegevens=sg(B), vanafVolgnummer=0)  # read, never acknowledged
    bij_b = o.tel("SELECT count(*) FROM signaal s JOIN instantie i ON i.id = s.instantie_id WHERE i.oin = :o", o=B)

    # A day later: A's acknowledged signals are gone, B's unacknowledged ones stay; answers are still stored.
    o.op(1)
    assert o.svc.SignalenOphalen(stuurgegevens=sg(A), vanafVolgnummer=0).signaal == []
    assert len(o.svc.SignalenOphalen(stuurgegevens=sg(B), vanafVolgnummer=0).signaal) == bij_b > 0
    assert o.tel("SELECT count(*) FROM bericht WHERE bericht_id = :b", b=eerste["berichtId"]) == 1
    retry = o.svc.MeldingAfgeven(stuurgegevens=eerste, jongere=j, meldingsbevoegde=_mb("Ludovica Ploegmakers"))
    assert retry.meldingId == a.meldingId

    # After the retry window (7 days): the stored answers are gone; the same berichtId is a new request.
    o.op(8)
    assert o.tel("SELECT count(*) FROM bericht WHERE tijdstip < :t", t=BEGIN + timedelta(days=1)) == 0
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.MeldingAfgeven(stuurgegevens=eerste, jongere=j, meldingsbevoegde=_mb("Ludovica Ploegmakers"))
    assert fault_code(exc.value) == "VIR-MELDING-BESTAAT-AL"
    assert len(o.svc.SignalenOphalen(stuurgegevens=sg(B), vanafVolgnummer=0).signaal) == bij_b

    # After 90 days even a signal nobody acknowledged is gone.
    o.op(91)
    assert o.svc.SignalenOphalen(stuurgegevens=sg(B), vanafVolgnummer=0).signaal == []
    assert o.tel("SELECT count(*) FROM signaal WHERE tijdstip < :t", t=BEGIN + timedelta(days=2)) == 0


def test_replay_ids_are_kept_twice_their_window(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, wss_venster=300.0)
    db = Database(settings.url)
    upgrade(db)
    nu = datetime.now(UTC)
    with db.transaction() as s:
        repo = Repository(s)
        repo.onthoud_message_id("urn:uuid:oud", nu - timedelta(seconds=601))
        repo.onthoud_message_id("urn:uuid:vers", nu - timedelta(seconds=500))
    onderhoud(settings, db, Logboek(settings, db), nu)
    with db.transaction() as s:
        repo = Repository(s)
        assert repo.onthoud_message_id("urn:uuid:vers", nu) is False  # still remembered: a replay
        assert repo.onthoud_message_id("urn:uuid:oud", nu) is True  # forgotten: its Timestamp cannot pass
    db.dispose()


def test_deleted_rows_do_not_linger_in_the_sqlite_file(tmp_path: Path) -> None:
    pad = tmp_path / "vir.sqlite3"
    db = Database(f"sqlite:///{pad}")
    upgrade(db)
    spoor = b"Ludovica-Ploegmakers-06-99887766"
    with db.transaction() as s:
        s.add(Bericht(zender_oin=A, bericht_id="b1", operatie="MeldingAfgeven", verzoek_hash=b"\0" * 32,
                      antwoord=b"<antwoord>" + spoor + b"</antwoord>", tijdstip=datetime.now(UTC)))  # fmt: skip

    def bytes_op_schijf() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("vir.sqlite3*") if p.is_file())

    assert db.wal_legen()
    assert spoor in bytes_op_schijf()  # the check looks where the row was
    with db.transaction() as s:
        assert Retentie(s).vergeet_antwoorden(datetime.now(UTC) + timedelta(days=1)) == 1
    assert db.wal_legen()
    assert spoor not in bytes_op_schijf()
    assert (tmp_path / "vir.sqlite3-wal").stat().st_size == 0
    db.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_witness_records_revoked_operators_and_professionals_go_after_the_log_retention(
    tmp_path: Path, backend: str
) -> None:
    """Witness records older than the log retention go, except each peer's newest (the next proof starts
    there); a console operator revoked longer ago than the log retention goes, one revoked since stays."""
    from store.models import Beheerder, Cosignatuur, GetuigdCheckpoint, MeldingsbevoegdeRij

    url = create_pg_database() if backend.startswith("postgresql") else f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    settings = Settings(data_dir=tmp_path, database_url=url, log_bewaar_jaren=7)
    db = Database(settings.url)
    try:
        upgrade(db)
        nu = datetime(2034, 6, 1, tzinfo=UTC)
        oud, vers = "2026-06-01T00:00:00Z", "2033-06-01T00:00:00Z"
        with db.transaction() as s:
            for peer, grootte, tijd in (("ZVJ", 10, oud), ("ZVJ", 20, oud), ("ZVJ", 30, vers), ("MO", 5, oud)):
                s.add(
                    GetuigdCheckpoint(
                        peer=peer,
                        grootte=grootte,
                        wortel=b"\0" * 32,
                        checkpoint=b"<c/>",
                        cosignatuur=b"<s/>",
                        tijdstip=tijd,
                    )
                )
                s.add(Cosignatuur(peer=peer, grootte=grootte, xml=b"<s/>", tijdstip=tijd))
            for naam, actief, ingetrokken in (
                ("Oud Ingetrokken", False, nu - timedelta(days=8 * 365)),
                ("Pas Ingetrokken", False, nu - timedelta(days=30)),
                ("Nog Actief", True, None),
            ):
                s.add(
                    Beheerder(
                        naam=naam,
                        rol="auditor",
                        vingerafdruk=naam.lower().replace(" ", "") * 4,
                        onderwerp=f"CN={naam}",
                        actief=actief,
                        aangemaakt=nu - timedelta(days=9 * 365),
                        ingetrokken=ingetrokken,
                    )
                )
        with db.transaction() as s:
            instantie = Repository(s).add_instantie(A, "Jeugdzorg Noord", None, nu - timedelta(days=9 * 365))
            for code, actief, ingetrokken in (
                ("oud", False, nu - timedelta(days=8 * 365)),
                ("pas", False, nu - timedelta(days=30)),
                ("actief", True, None),
            ):
                s.add(
                    MeldingsbevoegdeRij(
                        instantie_id=instantie.id,
                        code=code,
                        naam=f"Professional {code}",
                        actief=actief,
                        aangewezen=nu - timedelta(days=9 * 365),
                        ingetrokken=ingetrokken,
                    )
                )
        verslag = onderhoud(settings, db, Logboek(settings, db), nu)
        assert verslag.getuigen_vergeten == 4  # ZVJ 10 and 20, in both tables
        assert verslag.beheerders_vergeten == 2  # one operator, one designated professional
        with db.transaction(write=False) as s:
            for tabel in (GetuigdCheckpoint, Cosignatuur):
                over = sorted((r.peer, r.grootte) for r in s.query(tabel))
                assert over == [("MO", 5), ("ZVJ", 30)], tabel.__tablename__
            assert sorted(b.naam for b in s.query(Beheerder)) == ["Nog Actief", "Pas Ingetrokken"]
            assert sorted(b.code for b in s.query(MeldingsbevoegdeRij)) == ["actief", "pas"]
    finally:
        db.dispose()
        if backend.startswith("postgresql"):
            drop_pg_database(url)
