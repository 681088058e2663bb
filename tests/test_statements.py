"""The statements a filing sends to the database, counted (``before_cursor_execute``), in-process.

A filing on a youth the index does not know runs nine statements besides its BEGIN and COMMIT: the claim of its
berichtId (which also reads the register's counter), the youth's upsert (which also says whether the population
register is loaded and whether the youth has any melding or match: a new one has none, so nothing more of it is
read), the melding (with its professional's id), its count, the log head, entries, tree nodes and head, and the
stored answer. The second instantie on a youth (a match) adds the probe for and the read of the youth's meldingen,
the probes for its client and family match (none yet: the ORM loads neither), the match, the signal numbers of both
parties and the signals. Neither reads the sender, its profile (with the profile content a filing needs) or the
peers: the process keeps those (``store/register.py``). Before this was counted, a filing ran 13 statements and a
match 20.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import event

from gateway.config import Settings
from store.db import Database
from store.repository import Repository
from tests.support import A, B, bsn, wsgi_post

KP = "urn:nl:vir:gateway:ketenpartner:v1"
G = "urn:nl:vir:gateway:gegevens:v1"


def _melding(oin: str, nummer: str) -> bytes:
    return f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>
<kp:MeldingAfgeven><kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{oin}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>
<kp:jongere><g:bsn>{nummer}</g:bsn></kp:jongere>
<kp:meldingsbevoegde><g:naam>Anna de Vries</g:naam><g:telefoon>050-1234567</g:telefoon></kp:meldingsbevoegde>
</kp:MeldingAfgeven></soap:Body></soap:Envelope>""".encode()


def test_a_filing_runs_nine_statements_and_a_match_sixteen(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.log import logboek
    from vir.app import create_app

    monkeypatch.setattr(logboek, "INTEGRATIE_SECONDEN", 3600.0)  # the sequencer's own transactions not counted

    with db.transaction() as s:
        repo = Repository(s)
        for oin in (A, B):
            repo.add_instantie(oin, f"Instantie {oin[-6:]}", None, datetime.now(UTC))
    app = create_app(Settings(data_dir=tmp_path, database_url=db.url), db)
    gezien: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _tel(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            gezien.append(" ".join(statement.split()))

    def statements(oin: str, nummer: str) -> list[str]:
        gezien.clear()
        status, _ = wsgi_post(app, _melding(oin, nummer))
        assert status.startswith("200")
        return list(gezien)

    for oin in (A, B):
        statements(oin, bsn())  # a process reads a sender's profile once (and its signing profile, apart)
    alleen = statements(A, bsn())
    jongere = bsn()
    eerste = statements(A, jongere)
    match = statements(B, jongere)
    # Ten and sixteen before the family matches a filing's answer shows (two reads) and the federation's
    # need-to-know (one read of the youth's matches) came in. The profile's content (designation, the
    # municipality of a count) is kept by the process with the profile, and the professional's id is written
    # with the melding, and the family match read for the answer is the one read to keep it up to date:
    # fourteen and twenty-one before that. Eleven and seventeen until the youth's upsert said whether a new youth
    # has anything to read. Seventeen until the meldingen of a youth the index knows were read as plain rows, without
    # first probing whether there are any (the probe saved an ORM query; a plain read costs no more than it).
    # On PostgreSQL the entries take their numbers from a sequence (one statement each) and leave the tree to
    # the sequencer: no head read, no nodes, no head update.
    verwacht = (9, 9, 16) if db.is_sqlite else (8, 8, 15)
    assert (len(alleen), len(eerste), len(match)) == verwacht, "\n".join([*alleen, "--", *match])
    for sql in alleen + match:
        assert not sql.startswith(("SELECT instantie.", "SELECT peer.", "SELECT profielinhoud.")), sql
    assert sum(sql.startswith("SELECT loghoofd.") for sql in match) == (1 if db.is_sqlite else 0)


def _reeks(oin: str, items: list[tuple[str, str]]) -> bytes:
    """A MeldingenAfgeven of (BSN, medewerkerId) items."""
    delen = "".join(
        f"<kp:item><kp:referentie>r{i}</kp:referentie><kp:jongere><g:bsn>{nummer}</g:bsn></kp:jongere>"
        f"<kp:meldingsbevoegde><g:naam>Anna de Vries</g:naam><g:medewerkerId>{code}</g:medewerkerId>"
        "</kp:meldingsbevoegde></kp:item>"
        for i, (nummer, code) in enumerate(items)
    )
    return f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>
<kp:MeldingenAfgeven><kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{oin}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>{delen}
</kp:MeldingenAfgeven></soap:Body></soap:Envelope>""".encode()


def test_a_batch_reads_each_professionals_designation_once(db: Database, tmp_path: Path) -> None:
    """Where filers must be designated, a batch asks the store about each professional it names once, not once
    per item: forty items by two professionals, one of them not designated, read two designations."""
    from store.profielen import Profielen
    from vir.app import create_app

    nu = datetime.now(UTC)
    with db.transaction() as s:
        repo = Repository(s)
        instantie = repo.add_instantie(A, "Instantie A", None, nu)
        s.flush()
        profielen = Profielen(s)
        profielen.inhoud_voor_wijziging(instantie.id).aanwijzing = True
        profielen.aanwijzen(instantie.id, "mw-1", "Anna de Vries", None, None, None, nu)
    app = create_app(Settings(data_dir=tmp_path, database_url=db.url), db)
    gezien: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _tel(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        gezien.append(" ".join(statement.split()))

    items = [(bsn(), "mw-1" if i % 2 == 0 else "mw-2") for i in range(40)]
    status, antwoord = wsgi_post(app, _reeks(A, items))
    assert status.startswith("200"), antwoord[:500]
    doc = etree.fromstring(antwoord)
    resultaten = doc.findall(f".//{{{KP}}}resultaat")
    assert len(resultaten) == 40
    for i, r in enumerate(resultaten):
        code = r.findtext(f"{{{KP}}}fout/{{{G}}}code")
        assert (code is None) == (i % 2 == 0), etree.tostring(r)
        if code is not None:
            assert code == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN"
    lezingen = [sql for sql in gezien if "FROM meldingsbevoegde" in sql and sql.startswith("SELECT")]
    assert len(lezingen) == 2, lezingen
    # and each asks only whether the professional is designated, not for the row as an object (six times the cost)
    assert all(sql.startswith("SELECT meldingsbevoegde.actief FROM") for sql in lezingen), lezingen
