"""Privacy by default through the live service and the operator's commands: the population register refuses
filings on the dead and the grown-up, a filer learns why its melding ended and reads its own meldingen back,
an unjustified melding leaves no log payload, a data subject's inzage and erasure, and eight years after a
filing nothing of the youth or the professionals is left in any table or any byte of the database file."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zeep.exceptions
from sqlalchemy import create_engine, inspect, text

from gateway.brp.bestand import Bevolking, Persoon, schrijf
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import A, B, C, Server, client, fault_code, run_cli, sg, snapshot, start_server

BEGIN = datetime.fromisoformat("2026-01-05T09:00:00+00:00")
LAATSTE = "SELECT payload FROM logregel WHERE operatie = :op ORDER BY volgnummer DESC LIMIT 1"


def uniek_bsn() -> str:
    """A BSN that passes the eleven-test and whose digits occur nowhere else (so a byte search means it)."""
    while True:
        digits = [random.randint(1, 9) for _ in range(8)]
        last = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if last < 10:
            return "".join(map(str, digits)) + str(last)


def uniek_naam(voornaam: str) -> str:
    return f"{voornaam} Xq{random.randint(10**6, 10**7)}"


def mb(naam: str) -> dict[str, str]:
    return {"naam": naam, "functie": "jeugdarts", "telefoon": "050-1112223", "email": "arts@example.nl"}


@dataclass
class Omgeving:
    server: Server
    svc: Any
    env: dict[str, str]
    klok: Path
    tmp: Path

    def zet_klok(self, dt: datetime) -> None:
        self.klok.write_text(dt.isoformat())

    def cli(self, *args: str, proces: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
        if proces:
            r = subprocess.run(
                [sys.executable, "-m", "vir", *args], env=self.env, capture_output=True, text=True, cwd=self.tmp
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

    def signalen(self, oin: str) -> list[Any]:
        r = self.svc.SignalenOphalen(stuurgegevens={**sg(oin), "gebruiker": "J. Lezer"}, maximaal=1000)
        if r.signaal:
            self.svc.SignalenBevestigen(stuurgegevens=sg(oin), totEnMetVolgnummer=r.signaal[-1].volgnummer)
        return list(r.signaal)

    def sporen(self, *needles: str) -> list[str]:
        """Where any of ``needles`` still stands: every text and binary column of every table, and (SQLite)
        every byte of the database files."""
        gevonden = []
        engine = create_engine(self.server.db_url)
        try:
            with engine.connect() as conn:
                for tabel in inspect(conn).get_table_names():
                    for rij in conn.execute(text(f"SELECT * FROM {tabel}")):
                        for waarde in rij:
                            b = waarde if isinstance(waarde, bytes | memoryview) else str(waarde).encode()
                            gevonden.extend(f"{tabel}: {n}" for n in needles if n.encode() in bytes(b))
        finally:
            engine.dispose()
        if self.server.db_url.startswith("sqlite"):
            pad = Path(self.server.db_url.removeprefix("sqlite:///"))
            for bestand in (pad, Path(f"{pad}-wal")):
                if bestand.exists():
                    inhoud = bestand.read_bytes()
                    gevonden.extend(f"{bestand.name}: {n}" for n in needles if n.encode() in inhoud)
        return gevonden


def _omgeving(url: str, tmp: Path) -> Omgeving:
    klok = tmp / "klok"
    klok.write_text(BEGIN.isoformat())
    env = {**os.environ, "VIR_DATA_DIR": str(tmp / "data"), "VIR_DATABASE_URL": url, "VIR_KLOK_BESTAND": str(klok)}
    srv = start_server(tmp, url, extra_env=env)
    return Omgeving(srv, client(srv), env, klok, tmp)


@pytest.fixture(scope="module", params=BACKENDS)
def omgeving(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Omgeving]:
    tmp = tmp_path_factory.mktemp("betrokkene")
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp / 'vir.sqlite3'}"
    o = _omgeving(url, tmp)
    yield o
    o.server.stop()
    if request.param == "postgresql":
        drop_pg_database(url)


# --- the population register at filing -----------------------------------------------------------


def test_the_register_refuses_the_dead_and_the_grown_up(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(BEGIN)
    dood, oud, levend = uniek_bsn(), uniek_bsn(), uniek_bsn()
    register = Bevolking(
        BEGIN.date(),
        [],
        [
            Persoon(dood, date(2012, 3, 1), "V", overlijdensdatum=date(2025, 12, 1)),
            Persoon(oud, date(2002, 1, 5), "M"),  # 24 on BEGIN
            Persoon(levend, date(2014, 7, 7), "M"),
        ],
    )
    schrijf(register, o.tmp / "brp.xml")
    o.cli("brp", "load", str(o.tmp / "brp.xml"))
    voor = snapshot(o.server.db_url)
    for wie, code in ((dood, "VIR-JONGERE-OVERLEDEN"), (oud, "VIR-JONGERE-TE-OUD")):
        bericht = sg(A)
        with pytest.raises(zeep.exceptions.Fault) as exc:
            # The filer's own birth date says "young"; the register prevails.
            o.svc.MeldingAfgeven(
                stuurgegevens=bericht, jongere={"bsn": wie, "geboortedatum": date(2015, 1, 1)}, meldingsbevoegde=mb("P")
            )
        assert fault_code(exc.value) == code
        assert exc.value.detail.findtext(".//{*}xpath") == "/kp:MeldingAfgeven/kp:jongere"
        # Stored nothing; the rejection itself is logged.
        assert snapshot(o.server.db_url) == voor
        assert o.sql("SELECT foutcode FROM logregel WHERE kruisverwijzing = :b", b=bericht["berichtId"]) == [(code,)]
    r = o.svc.MeldingenAfgeven(
        stuurgegevens=sg(A),
        item=[
            {"referentie": "1", "jongere": {"bsn": dood}, "meldingsbevoegde": mb("P")},
            {"referentie": "2", "jongere": {"bsn": levend}, "meldingsbevoegde": mb("P")},
            {"referentie": "3", "jongere": {"bsn": oud}, "meldingsbevoegde": mb("P")},
        ],
    )
    assert [(x.referentie, x.fout.code if x.fout else None) for x in r.resultaat] == [
        ("1", "VIR-JONGERE-OVERLEDEN"),
        ("2", None),
        ("3", "VIR-JONGERE-TE-OUD"),
    ]
    assert r.resultaat[0].fout.xpath == "/kp:MeldingenAfgeven/kp:item[1]/kp:jongere"
    assert o.sql("SELECT count(*) FROM jongere WHERE sleutel IN (:a, :b)", a=f"bsn:{dood}", b=f"bsn:{oud}") == [(0,)]
    o.svc.MeldingBeeindigen(stuurgegevens=sg(A), meldingId=r.resultaat[1].meldingId, reden="onterecht")
    schrijf(Bevolking(BEGIN.date()), o.tmp / "leeg.xml")
    o.cli("brp", "load", str(o.tmp / "leeg.xml"))  # the other tests run without a register


# --- the record system stays in sync -------------------------------------------------------------


def test_own_meldingen_end_date_change_and_the_end_signal(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(BEGIN)
    for oin in (A, B):
        o.signalen(oin)
    a = o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": uniek_bsn()}, meldingsbevoegde=mb("P. Eigen"))

    # An end date alone, from zeep: the flat sequence keeps it.
    nieuw = BEGIN.date() + timedelta(days=40)
    w = o.svc.MeldingWijzigen(stuurgegevens=sg(A), meldingId=a.meldingId, geplandeEinddatum=nieuw)
    assert w.geplandeEinddatum == nieuw
    assert o.sql("SELECT geplande_einddatum FROM melding WHERE melding_id = :m", m=a.meldingId)[0][0] in (
        nieuw,
        nieuw.isoformat(),
    )
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.MeldingWijzigen(stuurgegevens=sg(A), meldingId=a.meldingId)
    assert fault_code(exc.value) == "VIR-SCHEMA-ELEMENT-ONTBREEKT"

    # Its own meldingen, paged; another instantie sees none of them; an unknown sender nothing at all.
    eigen = o.svc.EigenMeldingenOpvragen(stuurgegevens=sg(A), status="actief", paginaGrootte=500)
    mijn = [x for x in eigen.melding if x.meldingId == a.meldingId]
    assert [(x.status, x.geplandeEinddatum) for x in mijn] == [("actief", nieuw)]
    assert eigen.totaal >= 1
    een = o.svc.EigenMeldingenOpvragen(stuurgegevens=sg(A), paginaGrootte=1, pagina=1)
    assert len(een.melding) == 1 and een.totaal >= 1
    assert a.meldingId not in [x.meldingId for x in o.svc.EigenMeldingenOpvragen(stuurgegevens=sg(B)).melding]
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.EigenMeldingenOpvragen(stuurgegevens=sg("00000009999999999000"))
    assert fault_code(exc.value) == "VIR-INSTANTIE-ONBEKEND"

    # Expiry without a match: the filer learns it, with the reason, and reads it back as archived.
    o.zet_klok(BEGIN + timedelta(days=41))
    o.cli("onderhoud")
    assert [(s.soort, s.reden) for s in o.signalen(A) if s.meldingId == a.meldingId] == [
        ("meldingBeeindigd", "verlopen")
    ]
    archief = o.svc.EigenMeldingenOpvragen(stuurgegevens=sg(A), status="gearchiveerd", paginaGrootte=500).melding
    assert [(x.status, x.reden) for x in archief if x.meldingId == a.meldingId] == [("gearchiveerd", "verlopen")]


def test_an_unjustified_melding_leaves_no_log_payload(omgeving: Omgeving) -> None:
    o = omgeving
    naam = uniek_naam("Onterecht")
    bericht = sg(A)
    a = o.svc.MeldingAfgeven(stuurgegevens=bericht, jongere={"bsn": uniek_bsn()}, meldingsbevoegde=mb(naam))
    assert o.sql("SELECT count(*) FROM bericht WHERE bericht_id = :b", b=bericht["berichtId"]) == [(1,)]
    o.svc.MeldingBeeindigen(stuurgegevens=sg(A), meldingId=a.meldingId, reden="onterecht")
    # The filing's request and answer keep their digests but not their bytes; the stored answer is gone.
    rijen = o.sql(
        "SELECT soort, payload, payload_verwijderd FROM logregel WHERE bericht_id = :b OR kruisverwijzing = :b",
        b=bericht["berichtId"],
    )
    assert sorted(r[0] for r in rijen) == ["inkomend", "uitgaand"]
    assert all(r[1] is None and r[2] for r in rijen)
    [redactie] = o.sql("SELECT payload FROM logregel WHERE volgnummer = :n", n=int(rijen[0][2]))
    assert json.loads(bytes(redactie[0]))["reden"] == "onterecht"
    assert o.sql("SELECT count(*) FROM bericht WHERE bericht_id = :b", b=bericht["berichtId"]) == [(0,)]
    assert not [s for s in o.sporen(naam) if not s.startswith("vir.sqlite3")]  # the file: after a WAL checkpoint
    assert "OK" in o.cli("log", "verify").stdout


# --- a data subject's rights -------------------------------------------------------------------


def test_inzage_and_erasure(omgeving: Omgeving) -> None:
    o = omgeving
    o.zet_klok(BEGIN)
    for oin in (A, B, C):
        o.signalen(oin)
    j = uniek_bsn()
    naam_a, naam_b, lezer = uniek_naam("Annabel"), uniek_naam("Bertus"), uniek_naam("Lezer")
    a = o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": j}, meldingsbevoegde=mb(naam_a))
    o.svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": j}, meldingsbevoegde=mb(naam_b))
    o.svc.MatchesOpvragen(stuurgegevens={**sg(B), "gebruiker": lezer})
    o.cli("log", "search", "--bsn", j, check=False)  # an operator's search, which records the BSN it searched

    # inzage: both organisations, the match, and who read it; as JSON for a letter. The BSN is never echoed.
    r = o.cli("betrokkene", "inzage", "--bsn", j, "--json", proces=True)
    assert j not in r.stdout + r.stderr
    overzicht = json.loads(r.stdout)
    assert sorted(x["oin"] for x in overzicht["meldingen"]) == sorted([A, B])
    assert {x["status"] for x in overzicht["meldingen"]} == {"actief"}
    assert [x["soort"] for x in overzicht["matches"]] == ["clientmatch"]
    assert [(x["oin"], x["gebruiker"]) for x in overzicht["inzagen"]] == [(B, lezer)]
    tekst = o.cli("betrokkene", "inzage", "--bsn", j).stdout
    assert "Jeugdzorg Noord" in tekst and "GGD Fryslân" in tekst and lezer in tekst
    [(payload,)] = o.sql(
        "SELECT payload FROM logregel WHERE operatie = 'betrokkene inzage' ORDER BY volgnummer DESC LIMIT 1"
    )
    assert j.encode() not in bytes(payload) and json.loads(bytes(payload))["meldingen"] == 2

    # wissen: nothing of the youth or the filers is left, and the log still verifies.
    r = o.cli("betrokkene", "wissen", "--bsn", j, "--reden", "verzoek art. 17", "--verzoek", "AVG-1", proces=True)
    assert r.returncode == 0 and j not in r.stdout + r.stderr
    assert [(s.soort, s.reden) for s in o.signalen(A) if s.meldingId == a.meldingId] == [("meldingBeeindigd", "gewist")]
    assert o.sporen(j, naam_a, naam_b) == []
    assert "OK" in o.cli("log", "verify").stdout
    [(actor, payload)] = o.sql(
        "SELECT actor, payload FROM logregel WHERE operatie = 'betrokkene wissen' ORDER BY volgnummer DESC LIMIT 1"
    )
    wissen = json.loads(bytes(payload))
    assert wissen["reden"] == "verzoek art. 17" and wissen["meldingen"] == 2 and actor
    # The keyed form finds the erasure again for an operator who is given the BSN; nothing is left to show.
    na = json.loads(o.cli("betrokkene", "inzage", "--bsn", j, "--json").stdout)
    assert na == {"meldingen": [], "matches": [], "inzagen": []}
    [(later,)] = o.sql(
        "SELECT payload FROM logregel WHERE operatie = 'betrokkene inzage' ORDER BY volgnummer DESC LIMIT 1"
    )
    assert json.loads(bytes(later))["jongere"] == wissen["jongere"]


def test_erasure_by_name_for_a_youth_without_bsn(omgeving: Omgeving) -> None:
    o = omgeving
    achternaam, naam = f"Zonderbsn{random.randint(10**5, 10**6)}", uniek_naam("Carla")
    jongere = {"zonderBsn": {"geslachtsnaam": achternaam, "geboortedatum": date(2013, 4, 4), "geslacht": "V"}}
    o.svc.MeldingAfgeven(stuurgegevens=sg(C), jongere=jongere, meldingsbevoegde=mb(naam))
    wie = ("--achternaam", achternaam, "--geboortedatum", "2013-04-04", "--geslacht", "V")
    assert [x["oin"] for x in json.loads(o.cli("betrokkene", "inzage", *wie, "--json").stdout)["meldingen"]] == [C]
    o.cli("betrokkene", "wissen", *wie, "--reden", "verzoek")
    assert o.sporen(achternaam, naam) == []
    assert "OK" in o.cli("log", "verify").stdout


# --- eight years ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_years_after_filing_nothing_is_left(backend: str, tmp_path: Path) -> None:
    url = create_pg_database() if backend == "postgresql" else f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    o = _omgeving(url, tmp_path)
    try:
        j = uniek_bsn()
        naam_a, naam_b = uniek_naam("Achtjaar"), uniek_naam("Bachtjaar")
        o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": j}, meldingsbevoegde=mb(naam_a))
        o.svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": j}, meldingsbevoegde=mb(naam_b))
        o.svc.MatchesOpvragen(stuurgegevens={**sg(A), "gebruiker": "J. Lezer"})
        o.svc.SignalenOphalen(stuurgegevens={**sg(B), "gebruiker": "J. Lezer"})  # read, never acknowledged
        # The hourly job, at the moments that matter: expiry (archived), the archive's end, the log's.
        for dagen in (1, 731, 732, 2 * 365 + 5 * 365 + 2, 8 * 365 + 3):
            o.zet_klok(BEGIN + timedelta(days=dagen))
            o.cli("onderhoud")
        assert o.sporen(j, naam_a, naam_b) == []
        assert "OK" in o.cli("log", "verify").stdout
    finally:
        o.server.stop()
        if backend == "postgresql":
            drop_pg_database(url)


# --- federation: the erasure withdraws the copies ----------------------------------------------------


@pytest.mark.slow
def test_erasure_withdraws_the_copies_a_peer_holds(tmp_path: Path) -> None:
    from tests.support import federatie
    from tests.test_federation import cli, converge, db_url, file, free_ports

    nodes = federatie(tmp_path, free_ports(4))
    try:
        for n in nodes:
            n.start()
        hier, peer = nodes[0], nodes[1]
        j, naam = uniek_bsn(), uniek_naam("Federa")
        eigen = file(hier, 0, j, naam)
        converge(nodes)
        file(peer, 0, j, "P. Peer")
        converge(nodes)

        def kopieen() -> int:
            engine = create_engine(db_url(peer))
            try:
                with engine.connect() as conn:
                    return int(
                        conn.execute(
                            text("SELECT count(*) FROM melding WHERE bron_melding_id = :m"), {"m": eigen.meldingId}
                        ).scalar_one()
                    )
            finally:
                engine.dispose()

        assert kopieen() == 1, "the peer holds our melding while it has one of its own on the youth"
        r = cli(hier, "betrokkene", "wissen", "--bsn", j, "--reden", "verzoek art. 17")
        assert r.returncode == 0 and "erased: 2 meldingen" in r.stdout, r.stdout + r.stderr
        converge(nodes)
        assert kopieen() == 0
        assert "OK" in cli(hier, "log", "verify").stdout
    finally:
        for n in nodes:
            n.stop()
