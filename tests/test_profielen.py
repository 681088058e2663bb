"""Organisation profiles, designated professionals, a filing's family match and BerichtValideren's
findings, through a live gateway (development mode) with real clients."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import zeep.exceptions
from lxml import etree
from sqlalchemy import create_engine, text

from gateway.brp.bestand import Adres, Bevolking, Persoon, schrijf
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import (
    GATEWAY_OIN,
    NS,
    A,
    B,
    C,
    Server,
    bsn,
    client,
    fault_code,
    fault_code_of,
    invalid_bsn,
    log_size,
    log_tail,
    post,
    run_cli,
    sg,
    snapshot,
    start_server,
)

ONBEKEND = "00000001999999999000"


@dataclass
class Omgeving:
    server: Server
    svc: Any
    env: dict[str, str]
    tmp: Path

    def cli(self, *args: str, code: int = 0) -> Any:
        r = run_cli(*args, env=self.env, cwd=self.tmp)
        assert r.returncode == code, r.stderr
        return r

    def sql(self, query: str, **params: Any) -> list[Any]:
        engine = create_engine(self.server.db_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query), params))
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def omgeving(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Omgeving]:
    tmp = tmp_path_factory.mktemp("profielen")
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp / 'vir.sqlite3'}"
    env = {**os.environ, "VIR_DATA_DIR": str(tmp / "data"), "VIR_DATABASE_URL": url, "VIR_OPERATOR": "g.ambtenaar"}
    srv = start_server(tmp, url, extra_env=env)
    yield Omgeving(srv, client(srv), env, tmp)
    srv.stop()
    if request.param == "postgresql":
        drop_pg_database(url)


def mb(naam: str = "J. de Vries", medewerker: str | None = None) -> dict[str, Any]:
    return {"naam": naam, "functie": "jeugdarts", "telefoon": "050-1234567", "medewerkerId": medewerker}


# --- 1. profiles ----------------------------------------------------------------------------------


def test_a_partner_reads_another_organisations_profile_and_the_change_is_logged(omgeving: Omgeving) -> None:
    o = omgeving
    voor = log_size(o.server.db_url)
    o.cli("instantie", "profiel", A, "--privacy-titel", "Privacyprotocol Verwijsindex Noord",
          "--privacy-versie", "2.1", "--privacy-link", "https://gemeente.example/privacy-vir",
          "--doelgroep", "Jongeren 0-23 in jeugdhulp", "--signaleringscriteria", "Zorgen over veiligheid thuis",
          "--procedures", "Binnen 5 werkdagen contact", "--regievoerder", "--regierol", "Neemt regie bij jeugdhulp",
          "--regievoorkeur", "1", "--gemeente", "0014", "--sector", "jeugdzorg", "--melding-jaren", "1")  # fmt: skip
    [profiel] = o.svc.ProfielenOpvragen(stuurgegevens=sg(B), oin=A).profiel
    assert (profiel.instantie.oin, profiel.privacyprotocol.titel, profiel.privacyprotocol.versie) == (
        A,
        "Privacyprotocol Verwijsindex Noord",
        "2.1",
    )
    assert profiel.privacyprotocol.link == "https://gemeente.example/privacy-vir"
    assert (profiel.doelgroep, profiel.signaleringscriteria, profiel.procedures) == (
        "Jongeren 0-23 in jeugdhulp",
        "Zorgen over veiligheid thuis",
        "Binnen 5 werkdagen contact",
    )
    assert (profiel.regie.magRegievoeren, profiel.regie.omschrijving, profiel.regie.voorkeur) == (
        True,
        "Neemt regie bij jeugdhulp",
        1,
    )
    assert (profiel.meldingLooptijdJaren, profiel.gemeente, profiel.sector) == (1, "0014", "jeugdzorg")
    assert profiel.aanwijzingVerplicht is False  # development mode, profile unset
    alle = o.svc.ProfielenOpvragen(stuurgegevens=sg(C)).profiel
    assert {A, B, C} <= {p.instantie.oin for p in alle}

    # The change is a beheer entry naming the operator, with the new content.
    [regel] = [r for r in log_tail(o.server.db_url, voor) if r["operatie"] == "instantie-profiel"]
    assert (regel["soort"], regel["actor"]) == ("beheer", "g.ambtenaar")
    inhoud = json.loads(regel["payload"])["inhoud"]
    assert inhoud["privacyprotocol"]["titel"] == "Privacyprotocol Verwijsindex Noord"
    assert inhoud["regie"]["voorkeur"] == 1

    # The lifetime error names the profile's own number.
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsn()}, meldingsbevoegde=mb(),
                             geplandeEinddatum=date.today() + timedelta(days=500))  # fmt: skip
    assert fault_code(exc.value) == "VIR-EINDDATUM-ONGELDIG"
    assert "1 jaar na het afgeven" in exc.value.message and "2 jaar" not in exc.value.message
    o.cli("instantie", "profiel", A, "--melding-jaren", "2")


def test_profiles_only_for_registered_instanties(omgeving: Omgeving) -> None:
    o = omgeving
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.ProfielenOpvragen(stuurgegevens=sg(ONBEKEND))
    assert fault_code(exc.value) == "VIR-INSTANTIE-ONBEKEND"
    r = o.cli("instantie", "profiel", A, "--gemeente", "14", code=2)
    assert "4 digits" in r.stderr


# --- 2. designated professionals ------------------------------------------------------------------


def test_designation_and_handover(omgeving: Omgeving) -> None:
    o = omgeving
    o.cli("instantie", "profiel", A, "--aanwijzing")
    jongere = bsn()
    voor = snapshot(o.server.db_url)
    for medewerker in (None, "mw-onbekend"):
        with pytest.raises(zeep.exceptions.Fault) as exc:
            o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": jongere}, meldingsbevoegde=mb("X", medewerker))
        assert fault_code(exc.value) == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN"
    assert snapshot(o.server.db_url) == voor  # nothing stored
    assert exc.value.detail.find(".//{*}xpath").text == "/kp:MeldingAfgeven/kp:meldingsbevoegde/g:medewerkerId"

    # A designates its own professionals; one more by the operator.
    r = o.svc.MeldingsbevoegdeAanwijzen(stuurgegevens=sg(A), medewerkerId="mw-1", naam="Anna Arts", functie="arts")
    assert r.medewerkerId == "mw-1"
    o.cli("instantie", "bevoegde", "add", A, "--id", "mw-2", "--naam", "Bert Bos", "--functie", "jeugdverpleegkundige")
    with pytest.raises(zeep.exceptions.Fault) as exc:  # the wrong caller: not a registered instantie
        o.svc.MeldingsbevoegdeAanwijzen(stuurgegevens=sg(ONBEKEND), medewerkerId="mw-1", naam="X")
    assert fault_code(exc.value) == "VIR-INSTANTIE-ONBEKEND"

    anna = mb("Anna Arts", "mw-1")
    eerste = o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": jongere}, meldingsbevoegde=anna)
    o.svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": jongere}, meldingsbevoegde=mb("B. Agent"))  # B: off
    tweede = o.svc.MeldingAfgeven(
        stuurgegevens={**sg(A), "gebruiker": "mw-1"}, jongere={"bsn": bsn()}, meldingsbevoegde=mb("Anna Arts")
    )
    reeks = o.svc.MeldingenAfgeven(  # a batch keeps the professional with each melding too
        stuurgegevens=sg(A), item=[{"referentie": "r1", "jongere": {"bsn": bsn()}, "meldingsbevoegde": anna}]
    )
    derde = reeks.resultaat[0]
    assert derde.meldingId
    # A read on behalf of an undesignated professional, and a transfer to one, are refused.
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.MatchesOpvragen(stuurgegevens={**sg(A), "gebruiker": "mw-9"})
    assert fault_code(exc.value) == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN"
    with pytest.raises(zeep.exceptions.Fault) as exc:
        o.svc.MeldingWijzigen(stuurgegevens=sg(A), meldingId=eerste.meldingId, meldingsbevoegde=mb("C. Nee", "mw-9"))
    assert fault_code(exc.value) == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN"
    assert len(o.svc.MatchesOpvragen(stuurgegevens={**sg(A), "gebruiker": "mw-1"}).match) == 1

    # Revoking mw-1 hands both meldingen to mw-2; B's view of the match shows the colleague.
    voor_log = log_size(o.server.db_url)
    r = o.cli("instantie", "bevoegde", "intrekken", A, "mw-1", "--overdragen-aan", "mw-2")
    uit = json.loads(r.stdout)
    alle = sorted([eerste.meldingId, tweede.meldingId, derde.meldingId])
    assert (uit["overgedragenAan"], sorted(uit["meldingen"])) == ("mw-2", alle)
    [match] = o.svc.MatchesOpvragen(stuurgegevens=sg(B)).match
    assert [p.meldingsbevoegde.naam for p in match.partij] == ["Bert Bos"]
    codes = o.sql(
        "SELECT mb_code FROM melding WHERE melding_id IN (:a, :b, :c)",
        a=eerste.meldingId,
        b=tweede.meldingId,
        c=derde.meldingId,
    )
    assert [c for (c,) in codes] == ["mw-2", "mw-2", "mw-2"]
    [regel] = [r for r in log_tail(o.server.db_url, voor_log) if r["operatie"] == "instantie bevoegde intrekken"]
    assert regel["actor"] == "g.ambtenaar"
    with pytest.raises(zeep.exceptions.Fault) as exc:  # mw-1 can no longer file
        o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsn()}, meldingsbevoegde=mb("Anna Arts", "mw-1"))
    assert fault_code(exc.value) == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN"

    # Without a colleague the meldingen are reported to the operator, and stay with the melding.
    r = o.cli("instantie", "bevoegde", "intrekken", A, "mw-2")
    assert sorted(json.loads(r.stdout)["meldingen"]) == alle
    assert "need a new professional" in r.stderr
    lijst = json.loads(o.cli("instantie", "bevoegde", "list", A).stdout)
    assert [(b["id"], b["actief"]) for b in lijst] == [("demo", True), ("mw-1", False), ("mw-2", False)]
    o.cli("instantie", "profiel", A, "--geen-aanwijzing")


def test_the_demo_organisations_have_their_demo_professional(omgeving: Omgeving) -> None:
    lijst = json.loads(omgeving.cli("instantie", "bevoegde", "list", C).stdout)
    assert [b["id"] for b in lijst] == ["demo"]
    # Their profiles leave designation at the default: off here (development mode), on outside it
    # (tests/test_tls.py files as "demo" there).
    inhoud = json.loads(omgeving.cli("instantie", "show", C).stdout)["inhoud"]
    assert (inhoud["aanwijzing"], inhoud["aanwijzingVerplicht"]) == (None, False)


# --- 4. family view and BerichtValideren ----------------------------------------------------------


def test_a_filing_shows_the_family_match_it_creates(omgeving: Omgeving) -> None:
    o = omgeving
    ouder, x, y = bsn(), bsn(), bsn()
    vandaag = date.today()
    pop = Bevolking(
        vandaag,
        [Adres("0014010000000001", "9700AA", 1, "0014")],
        [
            Persoon(ouder, date(1985, 3, 1), "V", adres="0014010000000001"),
            Persoon(x, vandaag - timedelta(days=9 * 365), "M", adres="0014010000000001", ouders=(ouder,)),
            Persoon(y, vandaag - timedelta(days=12 * 365), "V", adres="0014010000000001", ouders=(ouder,)),
        ],
    )
    schrijf(pop, o.tmp / "brp.xml")
    o.cli("brp", "load", str(o.tmp / "brp.xml"))
    mx = o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": x}, meldingsbevoegde=mb("Anna Arts"))
    assert mx.match == []
    my = o.svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": y}, meldingsbevoegde=mb("B. Agent"))
    assert [(m.soort, m.meldingId, [p.instantie.oin for p in m.partij]) for m in my.match] == [
        ("gezinsmatch", my.meldingId, [A])
    ]
    [kaart] = my.match[0].partij
    assert (kaart.meldingsbevoegde.naam, kaart.meldingsbevoegde.medewerkerId) == ("Anna Arts", None)
    gezien = o.svc.MatchesOpvragen(stuurgegevens=sg(B), meldingId=my.meldingId).match
    assert [(m.matchId, m.soort) for m in gezien] == [(my.match[0].matchId, "gezinsmatch")]


def _stuurgegevens(oin: str) -> str:
    return (
        f"<g:berichtId>{uuid.uuid4()}</g:berichtId><g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>"
        f"<g:zender><g:oin>{oin}</g:oin><g:applicatie>ECD</g:applicatie></g:zender>"
        f"<g:ontvanger><g:oin>{GATEWAY_OIN}</g:oin></g:ontvanger>"
    )


def test_bericht_valideren_lists_every_business_rule_finding(omgeving: Omgeving) -> None:
    o = omgeving
    oud = date.today() - timedelta(days=30 * 365)
    body = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>
<kp:BerichtValideren><kp:stuurgegevens>{_stuurgegevens(A)}</kp:stuurgegevens><kp:bericht>
<kp:MeldingAfgeven><kp:stuurgegevens>{_stuurgegevens(A)}</kp:stuurgegevens>
<kp:jongere><g:bsn>{invalid_bsn()}</g:bsn><g:geboortedatum>{oud.isoformat()}</g:geboortedatum></kp:jongere>
<kp:meldingsbevoegde><g:naam>P. Probe</g:naam></kp:meldingsbevoegde>
<kp:geplandeEinddatum>2030-06-01</kp:geplandeEinddatum></kp:MeldingAfgeven>
</kp:bericht></kp:BerichtValideren></soap:Body></soap:Envelope>""".encode()
    voor = snapshot(o.server.db_url)
    r = post(o.server, body)
    assert fault_code_of(r) is None, r.text
    doc = etree.fromstring(r.content)
    bevindingen = [
        (b.findtext("g:code", namespaces=NS), b.findtext("g:xpath", namespaces=NS))
        for b in doc.iterfind(".//kp:BerichtValiderenResponse/kp:bevinding", NS)
    ]
    assert bevindingen == [
        ("VIR-BSN-ONGELDIG", "/kp:MeldingAfgeven/kp:jongere/g:bsn"),
        ("VIR-JONGERE-TE-OUD", "/kp:MeldingAfgeven/kp:jongere/g:geboortedatum"),
        ("VIR-EINDDATUM-ONGELDIG", "/kp:MeldingAfgeven/kp:geplandeEinddatum"),
    ]
    assert snapshot(o.server.db_url) == voor
