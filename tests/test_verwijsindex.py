"""The whole verwijsindex through the live SOAP service: profiles, retention under a simulated clock,
the archive signal, family matches from a generated population, shielding, care coordination,
case events, batches and push. Each module run has its own gateway and database per backend."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import zeep.exceptions
from lxml import etree
from sqlalchemy import create_engine, text

from gateway.brp.bestand import Adres, Bevolking, schrijf
from gateway.brp.genereer import genereer, verhuis
from tests import zygote
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import (
    ROOT,
    A,
    B,
    C,
    Server,
    bsn,
    client,
    fault_code,
    free_port,
    run_cli,
    sg,
    snapshot,
    start_server,
)

G = "urn:nl:vir:gateway:gegevens:v1"
SG = "urn:nl:vir:gateway:signalen:v1"
SIGNALEN_XSD = etree.XMLSchema(etree.parse(str(ROOT / "schemas" / "xsd" / "signalen-v1.xsd")))


@dataclass
class Omgeving:
    server: Server
    svc: Any
    env: dict[str, str]
    klok: Path
    tmp: Path

    def zet_klok(self, dt: datetime) -> None:
        self.klok.write_text(dt.isoformat())

    def cli(self, *args: str, check: bool = True, proces: bool = False) -> subprocess.CompletedProcess[str]:
        """``vir-gateway ARGS`` in this process, or with ``proces`` as the real command an operator runs
        (once per command in this module)."""
        if proces:
            r = subprocess.run(
                [sys.executable, "-m", "vir", *args],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=300,
                cwd=self.tmp,
            )
        else:
            r = run_cli(*args, env=self.env, cwd=self.tmp)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    def sql(self, query: str, **params: Any) -> list[Any]:
        engine = create_engine(self.server.db_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query), params))
        finally:
            engine.dispose()

    def sql_schrijf(self, query: str, **params: Any) -> None:
        engine = create_engine(self.server.db_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(query), params)
        finally:
            engine.dispose()

    def signalen(self, oin: str) -> list[Any]:
        """Everything in the queue and acknowledge it, so the next call returns only what is new."""
        r = self.svc.SignalenOphalen(stuurgegevens=sg(oin), maximaal=1000)
        if r.signaal:
            self.svc.SignalenBevestigen(stuurgegevens=sg(oin), totEnMetVolgnummer=r.signaal[-1].volgnummer)
        return list(r.signaal)


@pytest.fixture(scope="module", params=BACKENDS)
def omgeving(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Omgeving]:
    tmp = tmp_path_factory.mktemp("verwijsindex")
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp / 'vir.sqlite3'}"
    klok = tmp / "klok"
    klok.write_text("2026-01-05T09:00:00+00:00")
    env = {
        **os.environ,
        "VIR_DATA_DIR": str(tmp / "data"),
        "VIR_DATABASE_URL": url,
        "VIR_KLOK_BESTAND": str(klok),
        "VIR_ONDERHOUD_SECONDEN": "3600",
        "VIR_FEDERATIE_MAX_WACHTTIJD": "1",
    }
    srv = start_server(tmp, url, extra_env=env)
    yield Omgeving(srv, client(srv), env, klok, tmp)
    srv.stop()
    if request.param == "postgresql":
        drop_pg_database(url)


def mb(naam: str = "J. de Vries", telefoon: str = "050-1234567") -> dict[str, Any]:
    return {"naam": naam, "functie": "jeugdarts", "telefoon": telefoon, "email": "j@example.nl"}


def afgeven(o: Omgeving, oin: str, jongere: dict[str, Any], **kw: Any) -> Any:
    return o.svc.MeldingAfgeven(stuurgegevens=sg(oin), jongere=jongere, meldingsbevoegde=kw.pop("mb", mb()), **kw)


# --- retention under a simulated clock ---------------------------------------------------------


def test_expiry_notice_then_expiry_archive_and_one_time_archive_signal(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2026-01-05T09:00:00+00:00"))
    for oin in (A, B, C):
        o.signalen(oin)
    j = {"bsn": bsn()}
    a = afgeven(o, A, j, geplandeEinddatum=date(2026, 3, 1))
    b = afgeven(o, B, j)
    assert [m.soort for m in b.match] == ["clientmatch"]

    # 30 days before the planned end date: one advance notice, once.
    o.zet_klok(datetime.fromisoformat("2026-01-31T02:00:00+00:00"))
    o.cli("onderhoud", proces=True)
    o.cli("onderhoud")
    notices = [s for s in o.signalen(A) if s.soort == "meldingVerlooptBinnenkort"]
    assert [(s.meldingId, s.einddatum) for s in notices] == [(a.meldingId, date(2026, 3, 1))]
    assert not [s for s in o.signalen(B) if s.soort == "meldingVerlooptBinnenkort"]

    # The planned end date: archived, the match ends, the other party learns it.
    o.zet_klok(datetime.fromisoformat("2026-03-01T02:00:00+00:00"))
    out = o.cli("onderhoud").stdout
    assert "verlopen 1" in out
    assert o.sql("SELECT status, reden FROM melding WHERE melding_id = :m", m=a.meldingId) == [
        ("gearchiveerd", "verlopen")
    ]
    ended = [s for s in o.signalen(B) if s.soort == "beeindigdeMatch"]
    assert len(ended) == 1 and ended[0].match.partij[0].instantie.oin == A
    # The filer learns that its own melding ended, and why (its record system stays in sync).
    assert [(s.soort, s.meldingId, s.reden) for s in o.signalen(A)] == [
        ("beeindigdeMatch", a.meldingId, None),
        ("meldingBeeindigd", a.meldingId, "verlopen"),
    ]
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.MeldingBeeindigen(stuurgegevens=sg(A), meldingId=a.meldingId, reden="onterecht")
    assert fault_code(exc.value) == "VIR-MELDING-NIET-ACTIEF"

    # A new melding on the youth: a one-time archive signal to the new filer and the archived party.
    c = afgeven(o, C, j)
    assert [p.instantie.oin for p in c.archiefsignaal.partij] == [A]
    assert [s.soort for s in o.signalen(A)] == ["archiefsignaal"]
    assert [x.soort for x in o.signalen(C) if x.soort == "archiefsignaal"] == ["archiefsignaal"]
    o.svc.MeldingBeeindigen(stuurgegevens=sg(C), meldingId=c.meldingId, reden="onterecht")
    again = afgeven(o, C, j)
    assert again.archiefsignaal is None
    assert not [s for s in o.signalen(A) if s.soort == "archiefsignaal"]

    # Five years later the archive entry is destroyed.
    o.zet_klok(datetime.fromisoformat("2031-03-02T02:00:00+00:00"))
    o.svc.MeldingBeeindigen(stuurgegevens=sg(C), meldingId=again.meldingId, reden="onterecht")
    o.svc.MeldingBeeindigen(stuurgegevens=sg(B), meldingId=b.meldingId, reden="onterecht")
    o.cli("onderhoud")
    assert o.sql("SELECT count(*) FROM melding WHERE melding_id = :m", m=a.meldingId) == [(0,)]
    assert o.sql("SELECT count(*) FROM jongere WHERE sleutel = :k", k=f"bsn:{j['bsn']}") == [(0,)]


def test_a_melding_ends_on_the_23rd_birthday(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2027-05-01T09:00:00+00:00"))
    j = {"bsn": bsn(), "geboortedatum": date(2004, 6, 15)}
    a = afgeven(o, A, j)
    b = afgeven(o, B, j)
    for oin in (A, B):
        o.signalen(oin)
    o.zet_klok(datetime.fromisoformat("2027-06-14T23:00:00+00:00"))
    o.cli("onderhoud")
    assert len(o.sql("SELECT id FROM melding WHERE melding_id IN (:a, :b)", a=a.meldingId, b=b.meldingId)) == 2
    o.zet_klok(datetime.fromisoformat("2027-06-15T01:00:00+00:00"))
    assert "leeftijd 2" in o.cli("onderhoud").stdout
    assert o.sql("SELECT id FROM melding WHERE melding_id IN (:a, :b)", a=a.meldingId, b=b.meldingId) == []
    # The youth is forgotten, and with it every signal showing its match (the other party's contact card):
    # the filer learns only that its melding ended, and why.
    assert [(s.soort, s.reden) for s in o.signalen(A)] == [("meldingBeeindigd", "leeftijd")]
    assert o.sql("SELECT count(*) FROM jongere WHERE sleutel = :k", k=f"bsn:{j['bsn']}") == [(0,)]
    with pytest.raises(zeep.exceptions.Fault) as exc:
        afgeven(o, C, j)
    assert fault_code(exc.value) == "VIR-JONGERE-TE-OUD"


# --- the population register --------------------------------------------------------------------


def _huishoudens(pop: Any, peildatum: date) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, Any]]:
    """Sibling pairs sharing a home address, and pairs of unrelated children in one institution."""
    adressen = {a.id: a for a in pop.adressen}
    jong = [p for p in pop.personen if p.overlijdensdatum is None and (peildatum - p.geboortedatum).days < 17 * 365]
    per_adres: dict[str, list[Any]] = {}
    for p in jong:
        if p.adres:
            per_adres.setdefault(p.adres, []).append(p)
    broers = [
        (k[0].bsn, k[1].bsn)
        for a, k in per_adres.items()
        if not adressen[a].instelling and len(k) >= 2 and set(k[0].ouders) & set(k[1].ouders)
    ]
    instelling = [
        (k[0].bsn, k[1].bsn)
        for a, k in per_adres.items()
        if adressen[a].instelling and len(k) >= 2 and not set(k[0].ouders) & set(k[1].ouders)
    ]
    return broers, instelling, {p.bsn: p for p in pop.personen}


@pytest.mark.slow
def test_family_matches_from_a_generated_population(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2027-09-01T09:00:00+00:00"))
    peildatum = date(2027, 9, 1)
    pop = genereer(10_000, 7, peildatum)
    assert len(pop.personen) >= 10_000
    bestand = o.tmp / "brp.xml"
    schrijf(pop, bestand)
    assert "10000 persons" in o.cli("brp", "load", str(bestand), proces=True).stdout
    broers, instelling, personen = _huishoudens(pop, peildatum)
    assert len(broers) >= 10 and instelling
    for oin in (A, B, C):
        o.signalen(oin)

    # Siblings with meldingen from different instanties: a family match, contact cards only.
    x, y = broers[0]
    mx = afgeven(o, A, {"bsn": x})
    assert mx.match == []
    my = afgeven(o, B, {"bsn": y})
    # no client match; the family match it creates is in the answer, flagged as such
    assert [(m.soort, [p.instantie.oin for p in m.partij]) for m in my.match] == [("gezinsmatch", [A])]
    sa, sb = o.signalen(A), o.signalen(B)
    assert [(s.soort, s.match.soort, s.meldingId) for s in sa] == [("nieuweMatch", "gezinsmatch", mx.meldingId)]
    assert [(s.soort, s.match.soort, s.meldingId) for s in sb] == [("nieuweMatch", "gezinsmatch", my.meldingId)]
    assert [p.instantie.oin for p in sa[0].match.partij] == [B]
    opgeslagen = " ".join(r[0] or "" for r in o.sql("SELECT inhoud FROM signaal"))
    assert x not in opgeslagen and y not in opgeslagen  # a family notice carries contact cards only
    matches = o.svc.MatchesOpvragen(stuurgegevens=sg(A)).match
    assert [(m.soort, m.partij[0].instantie.oin) for m in matches] == [("gezinsmatch", B)]

    # Children in the same institution without a shared parent: no family match.
    p, q = instelling[0]
    afgeven(o, A, {"bsn": p})
    afgeven(o, C, {"bsn": q})
    assert o.signalen(A) == [] and o.signalen(C) == []

    # A moved child: its reporter learns it (not where to); the family match of a shared address ends
    # only if no parent is shared, so the siblings keep theirs.
    nieuw = Adres("9999000000000001", "9999ZZ", 1, "0014", False)
    o.cli("brp", "load", str(_schrijf(verhuis(pop, x, nieuw), o.tmp / "brp2.xml")))
    sa = o.signalen(A)
    assert [(s.soort, s.meldingId) for s in sa] == [("verhuizing", mx.meldingId)]
    assert sa[0].match is None
    assert o.signalen(B) == []

    # A death in the register ends the youth's melding at the next retention run.
    dood = [
        p if p.bsn != y else type(p)(p.bsn, p.geboortedatum, p.geslacht, date(2027, 9, 10), p.adres, p.ouders)
        for p in verhuis(pop, x, nieuw).personen
    ]
    pop3 = type(pop)(date(2027, 9, 12), verhuis(pop, x, nieuw).adressen, dood)
    o.cli("brp", "load", str(_schrijf(pop3, o.tmp / "brp3.xml")))
    o.cli("onderhoud")
    assert o.sql("SELECT count(*) FROM melding WHERE melding_id = :m", m=my.meldingId) == [(1,)]
    o.zet_klok(datetime.fromisoformat("2027-09-10T03:00:00+00:00"))
    assert "overlijden 1" in o.cli("onderhoud").stdout
    assert o.sql("SELECT count(*) FROM melding WHERE melding_id = :m", m=my.meldingId) == [(0,)]
    ended = o.signalen(A)
    assert [(s.soort, s.match.soort) for s in ended] == [("beeindigdeMatch", "gezinsmatch")]
    assert personen[x].bsn == x


def _schrijf(pop: Any, pad: Path) -> Path:
    schrijf(pop, pad)
    return pad


# --- shielding ----------------------------------------------------------------------------------


def test_a_shielded_melding_never_reveals_its_filer(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2028-01-10T09:00:00+00:00"))
    j = {"bsn": bsn()}
    with pytest.raises(zeep.exceptions.Fault) as exc:
        afgeven(o, C, j, afgeschermd=True)
    assert fault_code(exc.value) == "VIR-AFSCHERMEN-NIET-TOEGESTAAN"
    o.cli(
        "instantie", "profiel", C, "--afschermen", "--afscherm-oin", "00000009999999999000",
        "--afscherm-naam", "Veilig Thuis Afscherming", "--afscherm-contact", "Team Afscherming",
        "--afscherm-telefoon", "0800-2000",
    )  # fmt: skip
    o.cli("federatie", "peer", "add", "--systeem", "ZVJ", "--url", "http://127.0.0.1:9/v1/federatie", "--oin", "0" * 20)
    geheim = "Geheime Meldster"
    for oin in (A, B, C):
        o.signalen(oin)
    ontvanger = Ontvanger()
    httpd = make_server("127.0.0.1", free_port(), ontvanger, handler_class=_Stil)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    for oin in (A, B):
        o.cli(
            "instantie", "profiel", oin, "--callback", f"http://127.0.0.1:{httpd.server_port}/s", "--callback-vanaf-nu"
        )
    log_voor = o.sql("SELECT coalesce(max(volgnummer), 0) FROM logregel")[0][0]
    c = afgeven(o, C, j, afgeschermd=True, mb=mb(geheim, "06-99999999"))
    a = afgeven(o, A, j)
    b = afgeven(o, B, j)
    # The filer sees the others normally.
    assert {p.instantie.oin for p in b.match[0].partij} == {A, "00000009999999999000"}
    gezien = [zeep.helpers.serialize_object(x) for x in (a, b)]
    gezien += [zeep.helpers.serialize_object(s) for oin in (A, B) for s in o.signalen(oin)]
    gezien += [zeep.helpers.serialize_object(o.svc.MatchesOpvragen(stuurgegevens=sg(oin))) for oin in (A, B)]
    tekst = json.dumps(gezien, default=str)
    assert "Team Afscherming" in tekst and "Veilig Thuis Afscherming" in tekst
    for verboden in (C, "OBS De Regenboog", geheim, "06-99999999"):
        assert verboden not in tekst, verboden
    # Federation: what goes to the other systems (the outbox) and every answer sent to A and B.
    uit = [r[0] for r in o.sql("SELECT inhoud FROM federatie_uitgaand WHERE bron_melding_id = :m", m=c.meldingId)]
    assert uit and all(geheim not in u and C not in u for u in uit)
    antwoorden = o.sql(
        "SELECT payload FROM logregel WHERE volgnummer > :v AND soort = 'uitgaand' AND actor IN (:a, :b)",
        v=log_voor, a=A, b=B,
    )  # fmt: skip
    assert antwoorden and all(geheim.encode() not in bytes(p) and C.encode() not in bytes(p) for (p,) in antwoorden)
    # Push: what the partners' endpoints receive.
    o.cli("worker", "--once")
    httpd.shutdown()
    httpd.server_close()
    for oin in (A, B):
        o.cli("instantie", "profiel", oin, "--geen-callback")
    gepusht = b"".join(ontvanger.berichten)
    assert b"Team Afscherming" in gepusht and ontvanger.ongeldig == []
    assert geheim.encode() not in gepusht and C.encode() not in gepusht
    # The filer's own view is unchanged.
    c_matches = o.svc.MatchesOpvragen(stuurgegevens=sg(C), meldingId=c.meldingId).match
    assert {p.instantie.oin for p in c_matches[0].partij} == {A, B}
    for oin, m in ((A, a), (B, b), (C, c)):
        o.svc.MeldingBeeindigen(stuurgegevens=sg(oin), meldingId=m.meldingId, reden="onterecht")
    o.sql_schrijf("UPDATE peer SET actief = false WHERE systeem = 'ZVJ'")


# --- care coordination ---------------------------------------------------------------------------


@pytest.mark.slow
def test_coordination_and_follow_up(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2028-02-01T09:00:00+00:00"))
    j = {"bsn": bsn()}
    a = afgeven(o, A, j)
    b = afgeven(o, B, j)
    match_id = b.match[0].matchId
    for oin in (A, B):
        o.signalen(oin)
    voor = snapshot(o.server.db_url)
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.RegievoerderVastleggen(stuurgegevens=sg(A), matchId=match_id, regievoerder=B)
    assert fault_code(exc.value) == "VIR-REGIEVOERDER-NIET-TOEGESTAAN"
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.RegievoerderVastleggen(stuurgegevens=sg(C), matchId=match_id, regievoerder=A)
    assert fault_code(exc.value) == "VIR-MATCH-ONBEKEND"
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.AfstemmingVastleggen(stuurgegevens=sg(A), matchId=match_id, datum=date(2028, 2, 2))
    assert fault_code(exc.value) == "VIR-AFSTEMMING-DATUM-ONGELDIG"
    assert snapshot(o.server.db_url) == voor

    o.cli("instantie", "profiel", B, "--regievoerder")
    r = o.svc.RegievoerderVastleggen(stuurgegevens=sg(A), matchId=match_id, regievoerder=B)
    assert r.match.regievoerder == B
    [s] = o.signalen(B)
    assert (s.soort, s.match.regievoerder) == ("gewijzigdeMatch", B)
    assert o.signalen(A) == []

    # Forty days on without contact: the match is on the municipality's follow-up list.
    o.zet_klok(datetime.fromisoformat("2028-03-12T09:00:00+00:00"))
    lijst = o.tmp / "achterstand.csv"
    o.cli("rapport", "afstemming", "--dagen", "30", "--csv", str(lijst))
    assert match_id in lijst.read_text()
    r = o.svc.AfstemmingVastleggen(stuurgegevens=sg(A), matchId=match_id, datum=date(2028, 3, 10))
    assert r.match.laatsteAfstemming == date(2028, 3, 10)
    o.cli("rapport", "afstemming", "--dagen", "30", "--csv", str(lijst))
    assert match_id not in lijst.read_text()

    # Management information: counts only, CSV and PNG.
    csv_pad, png_pad = o.tmp / "rapport.csv", o.tmp / "rapport.png"
    rapport = ("rapport", "--van", "2026-01-01", "--tot", "2028-12-31", "--csv", str(csv_pad), "--png", str(png_pad))
    o.cli(*rapport, proces=True)
    tekst = csv_pad.read_text()
    assert "afstemmingen" in tekst.splitlines()[0] and "2028-03" in tekst
    assert j["bsn"] not in tekst and png_pad.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for oin, m in ((A, a), (B, b)):
        o.svc.MeldingBeeindigen(stuurgegevens=sg(oin), meldingId=m.meldingId, reden="onterecht")


# --- automation ------------------------------------------------------------------------------------


def test_case_events_follow_the_profile(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2028-04-01T09:00:00+00:00"))
    o.cli("instantie", "profiel", A, "--auto-casustype", "crisisopvang")
    j = {"bsn": bsn()}

    def casus(gebeurtenis: str, casustype: str, **kw: Any) -> Any:
        return o.svc.CasusGebeurtenis(
            stuurgegevens=sg(A), gebeurtenis=gebeurtenis, casustype=casustype, jongere=j, **kw
        )

    r = casus("gestart", "SMW", meldingsbevoegde=mb())
    assert (r.actie, r.uitleg, r.meldingId) == ("geen", "casustypeHandmatig", None)
    r = casus("gestart", "crisisopvang", meldingsbevoegde=mb())
    assert (r.actie, r.uitleg) == ("afgegeven", "casustypeAutomatisch") and r.meldingId
    melding_id = r.meldingId
    r = casus("gestart", "crisisopvang", meldingsbevoegde=mb())
    assert (r.actie, r.uitleg, r.meldingId) == ("geen", "meldingBestaatAl", melding_id)
    afgeven(o, B, j)
    o.signalen(B)
    r = casus("overgedragen", "crisisopvang", meldingsbevoegde=mb("P. Collega"))
    assert (r.actie, r.uitleg, r.meldingId) == ("overgedragen", "meldingOvergedragen", melding_id)
    [s] = o.signalen(B)
    assert s.soort == "gewijzigdeMatch" and s.match.partij[0].meldingsbevoegde.naam == "P. Collega"
    with pytest.raises(zeep.exceptions.Fault) as exc:
        casus("gestart", "crisisopvang")
    assert fault_code(exc.value) == "VIR-MELDINGSBEVOEGDE-ONTBREEKT"
    r = casus("afgesloten", "crisisopvang")
    assert (r.actie, r.uitleg, r.meldingId) == ("beeindigd", "meldingBeeindigd", melding_id)
    assert o.sql("SELECT status, reden FROM melding WHERE melding_id = :m", m=melding_id) == [
        ("gearchiveerd", "risicoWeggenomen")
    ]
    assert [s.soort for s in o.signalen(B)] == ["beeindigdeMatch"]
    r = casus("afgesloten", "crisisopvang")
    assert (r.actie, r.uitleg) == ("geen", "geenActieveMelding")


def test_batch_filing_gives_a_result_per_item(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2028-05-01T09:00:00+00:00"))
    goed = [bsn() for _ in range(5)]
    items = [{"referentie": f"r{i}", "jongere": {"bsn": b}, "meldingsbevoegde": mb()} for i, b in enumerate(goed)]
    items.insert(2, {"referentie": "fout-bsn", "jongere": {"bsn": "123456789"}, "meldingsbevoegde": mb()})
    items.append({"referentie": "dubbel", "jongere": {"bsn": goed[0]}, "meldingsbevoegde": mb()})
    r = o.svc.MeldingenAfgeven(stuurgegevens=sg(C), item=items)
    assert (r.afgegeven, r.geweigerd) == (5, 2)
    fouten = {x.referentie: (x.fout.code, x.fout.xpath) for x in r.resultaat if x.fout}
    assert fouten == {
        "fout-bsn": ("VIR-BSN-ONGELDIG", "/kp:MeldingenAfgeven/kp:item[3]/kp:jongere/g:bsn"),
        "dubbel": ("VIR-MELDING-BESTAAT-AL", "/kp:MeldingenAfgeven/kp:item[7]/kp:jongere"),
    }
    ids = [x.meldingId for x in r.resultaat if x.meldingId]
    assert len(ids) == 5
    for melding_id in ids:
        assert o.sql("SELECT status FROM melding WHERE melding_id = :m", m=melding_id) == [("actief",)]
    # A refused item left nothing behind: the youth with the bad BSN is unknown.
    assert o.sql("SELECT count(*) FROM jongere WHERE sleutel = 'bsn:123456789'") == [(0,)]
    for melding_id in ids:
        o.svc.MeldingBeeindigen(stuurgegevens=sg(C), meldingId=melding_id, reden="onterecht")

    # An instantie without BSN permission must identify youths without one.
    o.cli("instantie", "profiel", B, "--geen-bsn")
    with pytest.raises(zeep.exceptions.Fault) as exc:
        afgeven(o, B, {"bsn": bsn()})
    assert fault_code(exc.value) == "VIR-BSN-NIET-TOEGESTAAN"
    zonder = {"zonderBsn": {"geslachtsnaam": "Çelik", "geboortedatum": date(2015, 3, 1), "geslacht": "V"}}
    zelfde = {"zonderBsn": {"geslachtsnaam": "celik", "geboortedatum": date(2015, 3, 1), "geslacht": "V"}}
    b = afgeven(o, B, zonder)
    a = afgeven(o, A, zelfde)
    assert [p.instantie.oin for p in a.match[0].partij] == [B]
    o.cli("instantie", "profiel", B, "--bsn")
    for oin, m in ((A, a), (B, b)):
        o.svc.MeldingBeeindigen(stuurgegevens=sg(oin), meldingId=m.meldingId, reden="onterecht")


def test_a_youth_read_before_the_transaction_is_refused_at_its_step(omgeving: Omgeving) -> None:
    """A filing's youth is checked before the transaction (``gateway/afgifte.py``), but what is refused, and
    for what, stays as it was: the sender first, then its permission to send BSNs, then the BSN itself."""
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2028-05-01T09:00:00+00:00"))
    fout = {"bsn": "123456789"}  # fails the eleven-test
    onbekend = "00000009999999999999"
    with pytest.raises(zeep.exceptions.Fault) as exc:
        afgeven(o, onbekend, fout)
    assert fault_code(exc.value) == "VIR-INSTANTIE-ONBEKEND"
    item = {"referentie": "r", "jongere": fout, "meldingsbevoegde": mb()}
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.MeldingenAfgeven(stuurgegevens=sg(onbekend), item=[item])
    assert fault_code(exc.value) == "VIR-INSTANTIE-ONBEKEND"

    o.cli("instantie", "profiel", B, "--geen-bsn")
    try:
        with pytest.raises(zeep.exceptions.Fault) as exc:
            afgeven(o, B, fout)
        assert fault_code(exc.value) == "VIR-BSN-NIET-TOEGESTAAN"
        r = o.svc.MeldingenAfgeven(stuurgegevens=sg(B), item=[item])
        assert [(x.fout.code, x.fout.xpath) for x in r.resultaat] == [
            ("VIR-BSN-NIET-TOEGESTAAN", "/kp:MeldingenAfgeven/kp:item[1]/kp:jongere/g:bsn")
        ]
    finally:
        o.cli("instantie", "profiel", B, "--bsn")
    with pytest.raises(zeep.exceptions.Fault) as exc:
        afgeven(o, B, fout)
    assert fault_code(exc.value) == "VIR-BSN-ONGELDIG"
    xpath = exc.value.detail.find(f"{{{G}}}fout/{{{G}}}xpath")
    assert xpath is not None and xpath.text == "/kp:MeldingAfgeven/kp:jongere/g:bsn"
    te_oud = {"bsn": bsn(), "geboortedatum": date(2000, 1, 1)}
    r = o.svc.MeldingenAfgeven(stuurgegevens=sg(B), item=[item, {**item, "referentie": "oud", "jongere": te_oud}])
    assert [x.fout.code for x in r.resultaat] == ["VIR-BSN-ONGELDIG", "VIR-JONGERE-TE-OUD"]
    assert o.sql("SELECT count(*) FROM jongere WHERE sleutel IN ('bsn:123456789', :s)", s=f"bsn:{te_oud['bsn']}") == [
        (0,)
    ]


_SOORTEN = ("nieuw", "bij-A", "bij-A-en-B", "regie-en-afstemming", "al-van-C", "archief", "dubbel", "fout-bsn",
            "afgeschermd-bij-B", "einddatum-te-laat", "nieuw-2")  # fmt: skip
_VOORAF = {
    "bij-A": [A],
    "bij-A-en-B": [A, B],
    "regie-en-afstemming": [A, B],
    "al-van-C": [C],
    "archief": [A],
    "afgeschermd-bij-B": [B],
}


def _wereld(o: Omgeving) -> tuple[dict[str, str], dict[str, str]]:
    """A youth of each kind in its prepared state, and meldingId → kind of the prepared meldingen."""
    jongeren = {k: bsn() for k in _SOORTEN} | {"fout-bsn": "123456789"}
    van: dict[str, str] = {}
    for k, oins in _VOORAF.items():
        for oin in oins:
            r = afgeven(o, oin, {"bsn": jongeren[k]})
            van[r.meldingId] = k
            if r.match and k == "regie-en-afstemming":
                m = r.match[0].matchId
                o.svc.RegievoerderVastleggen(stuurgegevens=sg(A), matchId=m, regievoerder=B)
                o.svc.AfstemmingVastleggen(stuurgegevens=sg(B), matchId=m, datum=date(2028, 5, 15))
    archief = next(m for m, k in van.items() if k == "archief")
    o.svc.MeldingBeeindigen(stuurgegevens=sg(A), meldingId=archief, reden="risicoWeggenomen")
    return jongeren, van


def _items(jongeren: dict[str, str]) -> list[dict[str, Any]]:
    uit = []
    for k in _SOORTEN:
        item: dict[str, Any] = {"referentie": k, "jongere": {"bsn": jongeren[k]}, "meldingsbevoegde": mb()}
        if k == "afgeschermd-bij-B":
            item["afgeschermd"] = True
        if k == "einddatum-te-laat":
            item["geplandeEinddatum"] = date(2031, 1, 1)
        uit.append(item)
        if k == "dubbel":
            uit.append({**item, "referentie": "dubbel-2"})
    return uit


def _een_voor_een(o: Omgeving, items: list[dict[str, Any]]) -> list[Any]:
    """The items as single MeldingAfgeven calls, their outcomes shaped like a batch's results."""
    uit: list[Any] = []
    for item in items:
        kw = {k: v for k, v in item.items() if k != "referentie"}
        try:
            a = o.svc.MeldingAfgeven(stuurgegevens=sg(C), **kw)
        except zeep.exceptions.Fault as exc:
            xpath = exc.detail.findtext(f".//{{{G}}}xpath")
            fout = SimpleNamespace(code=fault_code(exc), xpath=xpath)
            uit.append(SimpleNamespace(referentie=item["referentie"], fout=fout, meldingId=None, match=[]))
            continue
        velden = {k: getattr(a, k) for k in ("meldingId", "geplandeEinddatum", "match", "archiefsignaal")}
        uit.append(SimpleNamespace(referentie=item["referentie"], fout=None, **velden))
    return uit


def _tellingen(o: Omgeving) -> dict[tuple[str, str], int]:
    rijen = o.sql(
        "SELECT i.oin, t.soort, count(*) FROM telling t JOIN instantie i ON i.id = t.instantie_id "
        "GROUP BY i.oin, t.soort"
    )
    return {(oin, soort): n for oin, soort, n in rijen}


def _oins(archiefsignaal: Any) -> list[str] | None:
    return sorted(p.instantie.oin for p in archiefsignaal.partij) if archiefsignaal else None


@pytest.mark.slow
def test_a_batch_files_exactly_as_one_by_one(omgeving: Omgeving) -> None:
    """MeldingenAfgeven files most items set-based; every answer, signal and count must be what the same
    filings one by one give. Two identical worlds of youths are prepared; C files on one with a
    MeldingAfgeven per item and on the other with one batch, and the outcomes are compared."""
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2028-05-15T09:00:00+00:00"))
    o.cli("brp", "load", str(_schrijf(Bevolking(date(2028, 5, 15)), o.tmp / "leeg.xml")))  # no family work
    o.cli("instantie", "profiel", B, "--regievoerder")
    o.cli("instantie", "profiel", C, "--afschermen", "--afscherm-oin", A, "--afscherm-naam", "Afscherming",
          "--afscherm-contact", "Meldpunt")  # fmt: skip

    uitkomsten = []
    for als_batch in (False, True):
        jongeren, van = _wereld(o)
        for oin in (A, B, C):
            o.signalen(oin)
        voor = _tellingen(o)
        if als_batch:
            r = o.svc.MeldingenAfgeven(stuurgegevens=sg(C), item=_items(jongeren))
            assert (r.afgegeven, r.geweigerd) == (8, 4)
            resultaten = list(r.resultaat)
        else:
            resultaten = _een_voor_een(o, _items(jongeren))
        van |= {r.meldingId: r.referentie for r in resultaten if r.meldingId}

        def match(x: Any, van: dict[str, str] = van) -> Any:
            """A match with its ids replaced by the kind of youth it is about."""
            partijen = sorted((p.instantie.oin, p.instantie.naam, p.meldingsbevoegde.naam) for p in x.partij)
            return (van[x.meldingId], x.soort, x.status, partijen, x.regievoerder, x.laatsteAfstemming)

        antwoorden = []
        for i, r in enumerate(resultaten, start=1):
            if r.fout:  # a batch's XPath points into its item, a single call's into MeldingAfgeven
                xpath = r.fout.xpath.replace(f"/kp:MeldingenAfgeven/kp:item[{i}]", "/kp:MeldingAfgeven")
                antwoorden.append((r.referentie, (r.fout.code, xpath)))
            else:
                goed = (r.geplandeEinddatum, [match(x) for x in r.match], _oins(r.archiefsignaal))
                antwoorden.append((r.referentie, goed))
        signalen = {oin: sorted(_signaal(s, match, van) for s in o.signalen(oin)) for oin in (A, B, C)}
        na = _tellingen(o)
        geteld = {k: n - voor.get(k, 0) for k, n in na.items() if n != voor.get(k, 0)}
        uitkomsten.append((antwoorden, signalen, geteld))

    los, batch = uitkomsten
    assert los == batch
    # Not vacuous: refusals, new and widened matches with coordinator and contact date, shielding, the archive.
    antwoorden, signalen, geteld = batch
    assert {ref: a[0] for ref, a in antwoorden if isinstance(a[0], str)} == {
        "al-van-C": "VIR-MELDING-BESTAAT-AL",
        "dubbel-2": "VIR-MELDING-BESTAAT-AL",
        "fout-bsn": "VIR-BSN-ONGELDIG",
        "einddatum-te-laat": "VIR-EINDDATUM-ONGELDIG",
    }
    goed = {ref: a for ref, a in antwoorden if not isinstance(a[0], str)}
    matches = [m for _, ms, _ in goed.values() for m in ms]
    assert len(matches) == 4 and any(m[4] == B and m[5] == date(2028, 5, 15) for m in matches)
    assert goed["archief"][2] == [A]
    [afgeschermd] = [s for s in signalen[B] if s[1] == "afgeschermd-bij-B"]
    assert afgeschermd[2][3] == [(A, "Afscherming", "Meldpunt")]  # the shielding contact, never C
    assert {s[0] for s in signalen[A]} == {"nieuweMatch", "gewijzigdeMatch", "archiefsignaal"}
    assert geteld[(C, "meldingen")] == 8 and geteld[(C, "clientmatches")] == 4


def _signaal(s: Any, match: Any, van: dict[str, str]) -> tuple[Any, ...]:
    return (s.soort, van[s.meldingId], s.match and match(s.match), _oins(s.archiefsignaal))


# --- push -------------------------------------------------------------------------------------------


class _Stil(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class Ontvanger:
    """A chain partner's push endpoint: validates what it gets against the committed contract."""

    def __init__(self) -> None:
        self.ontvangen: list[int] = []
        self.ongeldig: list[str] = []
        self.berichten: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.berichten.append(body)
        doc = etree.fromstring(body)
        verzoek = doc.find(".//{urn:nl:vir:gateway:signalen:v1}SignalenAfleveren")
        assert verzoek is not None
        if not SIGNALEN_XSD.validate(etree.ElementTree(verzoek)):
            self.ongeldig.append(str(SIGNALEN_XSD.error_log))
        nummers = [int(x) for x in verzoek.xpath("sg:signaal/g:volgnummer/text()", namespaces={"g": G, "sg": SG})]
        for n in nummers:
            if not self.ontvangen or n > self.ontvangen[-1]:
                self.ontvangen.append(n)
        antwoord = f"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<sg:SignalenAfleverenResponse xmlns:sg="urn:nl:vir:gateway:signalen:v1" xmlns:g="{G}"><sg:stuurgegevens>
<g:berichtId>00000000-0000-4000-8000-000000000001</g:berichtId><g:tijdstip>2028-01-01T00:00:00Z</g:tijdstip>
<g:zender><g:oin>{B}</g:oin><g:applicatie>ECD</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger>
<g:kruisverwijzing>00000000-0000-4000-8000-000000000002</g:kruisverwijzing></sg:stuurgegevens>
<sg:ontvangenTotEnMet>{self.ontvangen[-1] if self.ontvangen else 0}</sg:ontvangenTotEnMet>
</sg:SignalenAfleverenResponse></s:Body></s:Envelope>""".encode()
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8")])
        return [antwoord]


@pytest.mark.slow
def test_push_endpoint_that_was_down_gets_everything_in_order(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(datetime.fromisoformat("2028-06-01T09:00:00+00:00"))
    port = free_port()
    o.signalen(B)
    o.cli("instantie", "profiel", B, "--callback", f"http://127.0.0.1:{port}/signalen", "--callback-vanaf-nu")
    worker = zygote.start(["worker"], o.env, o.tmp, o.tmp / "worker.log")
    try:
        eerste = o.sql("SELECT signaal_uitgegeven FROM instantie WHERE oin = :b", b=B)[0][0]
        meldingen = []
        for _ in range(12):  # each gives B a nieuweMatch, and its end a beeindigdeMatch
            j = {"bsn": bsn()}
            meldingen.append((afgeven(o, A, j), afgeven(o, B, j)))
        # The worker tries and fails meanwhile: wait for its first failed attempt.
        deadline = time.monotonic() + 60
        fouten = o.sql("SELECT push_pogingen, push_fout FROM instantie WHERE oin = :b", b=B)[0]
        while fouten[0] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            fouten = o.sql("SELECT push_pogingen, push_fout FROM instantie WHERE oin = :b", b=B)[0]
        assert fouten[0] >= 1 and fouten[1], (o.tmp / "worker.log").read_text()
        for a, _ in meldingen[:6]:
            o.svc.MeldingBeeindigen(stuurgegevens=sg(A), meldingId=a.meldingId, reden="onterecht")
        laatste = o.sql("SELECT signaal_uitgegeven FROM instantie WHERE oin = :b", b=B)[0][0]
        ontvanger = Ontvanger()
        httpd = make_server("127.0.0.1", port, ontvanger, handler_class=_Stil)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        deadline = time.monotonic() + 60
        while (not ontvanger.ontvangen or ontvanger.ontvangen[-1] < laatste) and time.monotonic() < deadline:
            time.sleep(0.2)
        httpd.shutdown()
        httpd.server_close()
        assert ontvanger.ongeldig == []
        assert ontvanger.ontvangen == list(range(eerste + 1, laatste + 1)), (o.tmp / "worker.log").read_text()
        # The worker records the partner's confirmation just after the partner answered.
        deadline = time.monotonic() + 30
        cursor = o.sql("SELECT push_tot, signaal_bevestigd FROM instantie WHERE oin = :b", b=B)[0]
        while cursor != (laatste, laatste) and time.monotonic() < deadline:
            time.sleep(0.1)
            cursor = o.sql("SELECT push_tot, signaal_bevestigd FROM instantie WHERE oin = :b", b=B)[0]
        assert cursor == (laatste, laatste)
    finally:
        worker.terminate()
        worker.wait(15)
        o.cli("instantie", "profiel", B, "--geen-callback")
        for a, b in meldingen:
            for oin, m in ((A, a), (B, b)):
                with contextlib.suppress(zeep.exceptions.Fault):
                    o.svc.MeldingBeeindigen(stuurgegevens=sg(oin), meldingId=m.meldingId, reden="onterecht")


def test_profile_cli_refuses_a_lifetime_above_the_law(omgeving: Omgeving) -> None:
    r = omgeving.cli("instantie", "profiel", A, "--melding-jaren", "3", check=False)
    assert r.returncode == 2 and "between 1 and 2" in r.stderr
    omgeving.cli("instantie", "profiel", A, "--melding-jaren", "1")
    omgeving.zet_klok(datetime.fromisoformat("2028-07-01T09:00:00+00:00"))
    a = afgeven(omgeving, A, {"bsn": bsn()})
    assert a.geplandeEinddatum == date(2029, 7, 1)
    with pytest.raises(zeep.exceptions.Fault) as exc:
        afgeven(omgeving, A, {"bsn": bsn()}, geplandeEinddatum=date(2029, 7, 2))
    assert fault_code(exc.value) == "VIR-EINDDATUM-ONGELDIG"
    omgeving.svc.MeldingBeeindigen(stuurgegevens=sg(A), meldingId=a.meldingId, reden="onterecht")
    omgeving.cli("instantie", "profiel", A, "--melding-jaren", "2")
    assert json.loads(omgeving.cli("instantie", "show", A).stdout)["meldingJaren"] == 2
