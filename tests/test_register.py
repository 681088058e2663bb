"""The register a process keeps (``store/register.py``): every change to an instantie's profile or to a peer raises
``registerstand.versie`` in its own transaction, and a kept register is never used once the counter moved, so a
gateway process sees a suspended sender, a new peer or a changed profile in its very next request."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import Boolean, DateTime, Integer, String, Text, select, text, update

from gateway.config import Settings
from store.basis import Tijdstip
from store.db import Database
from store.models import Instantie, Registerstand
from store.register import PROFIELKOLOMMEN
from store.repository import Repository
from tests.support import NS, ROOT, A, B, bsn, wsgi_post

# The instantie columns that change with the traffic and are never kept: no trigger fires on them.
VERKEER = {"signaal_uitgegeven", "signaal_bevestigd", "push_tot", "push_pogingen", "push_volgende", "push_fout"}


def _versie(db: Database) -> int:
    with db.transaction(write=False) as s:
        return int(s.execute(select(Registerstand.versie)).scalar_one())


def _anders(kolom: Any, oud: Any) -> Any:
    """Another value of the column's type than ``oud``."""
    t = kolom.type
    if isinstance(t, Boolean):
        return not oud
    if isinstance(t, Integer):
        return (oud or 0) + 1
    if isinstance(t, (DateTime, Tijdstip)):
        return datetime(2031, 1, 2, tzinfo=UTC) if oud is None or oud.year != 2031 else datetime(2032, 1, 2, tzinfo=UTC)
    if isinstance(t, (String, Text)):
        return f"{oud or ''}x"[-18:] if kolom.key == "oin" else f"{oud or ''}x"
    raise AssertionError(f"no other value for {kolom.key} ({t})")


def test_every_column_is_kept_or_traffic() -> None:
    """A new instantie column must be a profile column (kept, with the trigger) or a traffic column."""
    kolommen = {c.key for c in Instantie.__table__.columns}
    assert kolommen == set(PROFIELKOLOMMEN) | VERKEER
    assert not set(PROFIELKOLOMMEN) & VERKEER
    # The migration writes the list out; it must be the same.
    spec = importlib.util.spec_from_file_location(
        "m0013", ROOT / "store" / "migrations" / "versions" / "0013_registerstand.py"
    )
    assert spec is not None and spec.loader is not None
    migratie = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migratie)
    assert set(migratie.PROFIEL) == set(PROFIELKOLOMMEN) - {"id"}


def test_a_profile_change_raises_the_counter_and_traffic_does_not(db: Database) -> None:
    with db.transaction() as s:
        inst = Repository(s).add_instantie("00000001444444444000", "Test", None, datetime.now(UTC))
        inst_id = inst.id
    for kolom in Instantie.__table__.columns:
        if kolom.key == "id":
            continue
        with db.transaction() as s:
            oud = s.execute(select(kolom).where(Instantie.id == inst_id)).scalar_one()
        voor = _versie(db)
        with db.transaction() as s:
            s.execute(update(Instantie).where(Instantie.id == inst_id).values({kolom.key: _anders(kolom, oud)}))
        na = _versie(db)
        if kolom.key in VERKEER:
            assert na == voor, kolom.key
        else:
            assert na > voor, kolom.key


def test_peers_profile_content_and_new_instanties_raise_the_counter(db: Database) -> None:
    stappen = [
        "INSERT INTO peer (systeem, url, oin, actief) VALUES ('ZVJ', 'http://p', '00000009000000000001', true)",
        "UPDATE peer SET actief = false WHERE systeem = 'ZVJ'",
        "DELETE FROM peer WHERE systeem = 'ZVJ'",
        "INSERT INTO profielinhoud (instantie_id, gemeente) SELECT id, '0014' FROM instantie WHERE oin = "
        "'00000001555555555000'",
        "UPDATE profielinhoud SET gemeente = '0363'",
        "DELETE FROM profielinhoud",
        "DELETE FROM instantie WHERE oin = '00000001555555555000'",
    ]
    with db.transaction() as s:
        Repository(s).add_instantie("00000001555555555000", "Weg", None, datetime.now(UTC))
    for sql in stappen:
        voor = _versie(db)
        with db.transaction() as s:
            s.execute(text(sql))
        assert _versie(db) > voor, sql


# --- through the pipeline: one process keeps the register across requests ------------------------


def _melding(oin: str) -> bytes:
    return f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>
<kp:MeldingAfgeven><kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{oin}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>
<kp:jongere><g:bsn>{bsn()}</g:bsn></kp:jongere>
<kp:meldingsbevoegde><g:naam>Anna de Vries</g:naam><g:telefoon>050-1234567</g:telefoon></kp:meldingsbevoegde>
</kp:MeldingAfgeven></soap:Body></soap:Envelope>""".encode()


def _fout(out: bytes) -> str | None:
    return etree.fromstring(out).findtext(".//g:fout/g:code", namespaces=NS)


def test_one_process_sees_every_change_in_its_next_request(db: Database, tmp_path: Path) -> None:
    from vir.app import create_app

    with db.transaction() as s:
        repo = Repository(s)
        for oin in (A, B):
            repo.add_instantie(oin, f"Instantie {oin[-6:]}", None, datetime.now(UTC))
    app = create_app(Settings(data_dir=tmp_path, database_url=db.url), db)

    def uitgaand() -> int:
        with db.transaction(write=False) as s:
            return int(s.execute(text("SELECT count(*) FROM federatie_uitgaand")).scalar_one())

    assert wsgi_post(app, _melding(A))[0].startswith("200")
    assert uitgaand() == 0
    # A peer registered by the operator in another process: the next filing is forwarded to it.
    with db.transaction() as s:
        Repository(s).zet_peer("ZVJ", "http://127.0.0.1:9/", "00000009000000000001", None)
    assert wsgi_post(app, _melding(A))[0].startswith("200")
    assert uitgaand() == 1
    # The peer suspended: the next filing is not.
    with db.transaction() as s:
        Repository(s).zet_peer_actief("ZVJ", False)
    assert wsgi_post(app, _melding(A))[0].startswith("200")
    assert uitgaand() == 1

    # A profile the process has read (the legal lifetime of two years), then changed (one year), then the
    # sender suspended.
    def einde(out: bytes) -> date:
        return date.fromisoformat(etree.fromstring(out).findtext(".//kp:geplandeEinddatum", namespaces=NS) or "")

    status, out = wsgi_post(app, _melding(B))
    assert status.startswith("200") and einde(out) > date.today() + timedelta(days=366)
    with db.transaction() as s:
        s.execute(update(Instantie).where(Instantie.oin == B).values(melding_jaren=1))
    status, out = wsgi_post(app, _melding(B))
    assert status.startswith("200") and einde(out) <= date.today() + timedelta(days=366)
    with db.transaction() as s:
        s.execute(update(Instantie).where(Instantie.oin == B).values(actief=False))
    status, out = wsgi_post(app, _melding(B))
    assert status.startswith("500") and _fout(out) == "VIR-INSTANTIE-ONBEKEND"
    # Traffic on another instantie's counters keeps what the process read: A still files.
    assert wsgi_post(app, _melding(A))[0].startswith("200")
    # A's profile content, written by another process: the next filing follows each change of it.
    gezet = [
        ("INSERT INTO profielinhoud (instantie_id, aanwijzing) SELECT id, true FROM instantie WHERE oin = :a", 500),
        ("UPDATE profielinhoud SET aanwijzing = false", 200),
        ("UPDATE profielinhoud SET aanwijzing = true", 500),
        ("DELETE FROM profielinhoud", 200),
    ]
    for sql, verwacht in gezet:
        with db.transaction() as s:
            s.execute(text(sql), {"a": A})
        status, out = wsgi_post(app, _melding(A))
        assert status.startswith(str(verwacht)), sql
        if verwacht == 500:
            assert _fout(out) == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN", sql
