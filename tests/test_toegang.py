"""No oracle at the boundary, and every access accountable to a person: BerichtValideren only as the
authenticated sender, a suspended instantie gets no stored answer, reads of matches name the professional,
and the operators' commands log the operator together with the change (or refuse, changing nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zeep.exceptions
from lxml import etree
from sqlalchemy import create_engine, text

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
    log_size,
    log_tail,
    post,
    run_cli,
    sg,
    start_server,
)

ONBEKEND = "00000001999999999000"  # never registered


@dataclass
class Omgeving:
    server: Server
    svc: Any
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([sys.executable, "-m", "vir", *args], env=self.env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r


@pytest.fixture(scope="module", params=BACKENDS)
def omgeving(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Omgeving]:
    tmp = tmp_path_factory.mktemp("toegang")
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp / 'vir.sqlite3'}"
    env = {**os.environ, "VIR_DATA_DIR": str(tmp / "data"), "VIR_DATABASE_URL": url, "VIR_OPERATOR": "f.beheer"}
    srv = start_server(tmp, url, extra_env=env)
    yield Omgeving(srv, client(srv), env)
    srv.stop()
    if request.param == "postgresql":
        drop_pg_database(url)


def _mb(naam: str) -> dict[str, str]:
    return {"naam": naam, "functie": "wijkagent", "telefoon": "06-12345678", "email": "wijk@example.nl"}


def _stuurgegevens(oin: str, gebruiker: str | None = None) -> str:
    wie = f"<g:gebruiker>{gebruiker}</g:gebruiker>" if gebruiker else ""
    return (
        f"<g:berichtId>{uuid.uuid4()}</g:berichtId><g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>"
        f"<g:zender><g:oin>{oin}</g:oin><g:applicatie>ECD</g:applicatie></g:zender>"
        f"<g:ontvanger><g:oin>{GATEWAY_OIN}</g:oin></g:ontvanger>{wie}"
    )


def valideren(server: Server, buiten: str, binnen: str, jongere: str, gebruiker: str | None = None) -> Any:
    """BerichtValideren from ``buiten`` around a MeldingAfgeven from ``binnen`` on the youth with BSN
    ``jongere``: the response, as (fault code or None, findings)."""
    body = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>
<kp:BerichtValideren><kp:stuurgegevens>{_stuurgegevens(buiten, gebruiker)}</kp:stuurgegevens><kp:bericht>
<kp:MeldingAfgeven><kp:stuurgegevens>{_stuurgegevens(binnen)}</kp:stuurgegevens>
<kp:jongere><g:bsn>{jongere}</g:bsn></kp:jongere>
<kp:meldingsbevoegde><g:naam>P. Probe</g:naam></kp:meldingsbevoegde></kp:MeldingAfgeven>
</kp:bericht></kp:BerichtValideren></soap:Body></soap:Envelope>""".encode()
    r = post(server, body)
    doc = etree.fromstring(r.content)
    codes = [e.text for e in doc.iterfind(".//kp:BerichtValiderenResponse/kp:bevinding/g:code", NS)]
    return fault_code_of(r), codes


def test_bericht_valideren_is_no_oracle(omgeving: Omgeving) -> None:
    o = omgeving
    bekend, onbekend = bsn(), bsn()
    o.svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": bekend}, meldingsbevoegde=_mb("B. Agent"))

    # Another sender's message: refused as a finding, its rules never run, so both youths look alike.
    voor = log_size(o.server.db_url)
    met = valideren(o.server, A, B, bekend)
    zonder = valideren(o.server, A, B, onbekend)
    assert met == zonder == (None, ["VIR-ZENDER-ONJUIST"])
    assert not [r for r in log_tail(o.server.db_url, voor) if r["soort"] == "inzage"]

    # An unregistered sender, and a suspended one, asking about themselves: refused outright.
    assert valideren(o.server, ONBEKEND, ONBEKEND, bekend) == ("VIR-INSTANTIE-ONBEKEND", [])
    o.cli("instantie", "profiel", C, "--schorsen")
    try:
        assert valideren(o.server, C, C, bekend) == ("VIR-INSTANTIE-ONBEKEND", [])
    finally:
        o.cli("instantie", "profiel", C, "--activeren")

    # The sender about its own message: the rules run, and the read of the index is an access entry.
    eigen = bsn()
    o.svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": eigen}, meldingsbevoegde=_mb("A. Arts"))
    voor = log_size(o.server.db_url)
    assert valideren(o.server, A, A, eigen, gebruiker="mw-17") == (None, ["VIR-MELDING-BESTAAT-AL"])
    [inzage] = [r for r in log_tail(o.server.db_url, voor) if r["soort"] == "inzage"]
    gelezen = json.loads(bytes(inzage["payload"]))
    assert (inzage["operatie"], inzage["actor"]) == ("BerichtValideren", A)
    assert (gelezen["proef"], gelezen["gebruiker"], gelezen["instantie"]) == ("MeldingAfgeven", "mw-17", A)
    assert eigen not in json.dumps(gelezen)


def test_a_suspended_instantie_gets_no_stored_answer(omgeving: Omgeving) -> None:
    o = omgeving
    jongere = {"bsn": bsn()}
    o.svc.MeldingAfgeven(stuurgegevens=sg(B), jongere=jongere, meldingsbevoegde=_mb("Bea Bakker"))
    eerste = sg(A)
    antwoord = o.svc.MeldingAfgeven(stuurgegevens=eerste, jongere=jongere, meldingsbevoegde=_mb("A. Arts"))
    assert [p.meldingsbevoegde.naam for m in antwoord.match for p in m.partij] == ["Bea Bakker"]

    o.cli("instantie", "profiel", A, "--schorsen")
    try:
        with pytest.raises(zeep.exceptions.Fault) as exc:
            o.svc.MeldingAfgeven(stuurgegevens=eerste, jongere=jongere, meldingsbevoegde=_mb("A. Arts"))
        assert fault_code(exc.value) == "VIR-INSTANTIE-ONBEKEND"
        assert b"Bea Bakker" not in etree.tostring(exc.value.detail)
    finally:
        o.cli("instantie", "profiel", A, "--activeren")
    # An active sender's retry still gets the stored answer.
    opnieuw = o.svc.MeldingAfgeven(stuurgegevens=eerste, jongere=jongere, meldingsbevoegde=_mb("A. Arts"))
    assert opnieuw.meldingId == antwoord.meldingId


def test_reads_of_matches_name_the_professional(omgeving: Omgeving) -> None:
    o = omgeving
    o.cli("instantie", "profiel", A, "--geen-systeeminzage")
    try:
        for op in ("MatchesOpvragen", "SignalenOphalen"):
            with pytest.raises(zeep.exceptions.Fault) as exc:
                getattr(o.svc, op)(stuurgegevens=sg(A))
            assert fault_code(exc.value) == "VIR-GEBRUIKER-ONTBREEKT", op
            voor = log_size(o.server.db_url)
            getattr(o.svc, op)(stuurgegevens={**sg(A), "gebruiker": "mw-0815"})
            assert [r["actor"] for r in log_tail(o.server.db_url, voor) if r["soort"] == "inkomend"] == [A]
        profiel = json.loads(o.cli("instantie", "show", A).stdout)
        assert profiel["systeemInzage"] is False
    finally:
        o.cli("instantie", "profiel", A, "--systeeminzage")
    o.svc.MatchesOpvragen(stuurgegevens=sg(A))


# --- operators ------------------------------------------------------------------------------------


def _sql(url: str, query: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(query)))
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    """``vir-gateway ARGV`` in this process, with this test's environment; its database connections closed
    afterwards (``run_cli``)."""
    r = run_cli(*argv, env=dict(os.environ))
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode


def test_operator_commands_log_the_operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    monkeypatch.setenv("VIR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIR_DATABASE_URL", url)
    monkeypatch.setenv("VIR_OPERATOR", "j.jansen")
    oin = "00000001444444444000"
    assert main(["instantie", "add", "--oin", oin, "--naam", "Veilig Thuis"]) == 0
    assert main(["instantie", "profiel", oin, "--regievoerder"]) == 0
    assert main(["federatie", "peer", "add", "--systeem", "ZVJ", "--url", "http://127.0.0.1:9/v1/federatie",
                 "--oin", "00000009888888888000"]) == 0  # fmt: skip
    assert main(["federatie", "dead", "replay"]) == 0
    assert main(["rapport", "--csv", str(tmp_path / "r.csv")]) == 0
    assert main(["onderhoud"]) == 0
    rijen = _sql(url, "SELECT soort, operatie, actor FROM logregel ORDER BY volgnummer")
    assert rijen == [
        ("beheer", "instantie add", "j.jansen"),
        ("beheer", "instantie-profiel", "j.jansen"),
        ("beheer", "federatie peer add", "j.jansen"),
        ("beheer", "federatie dead replay", "j.jansen"),
        ("inzage", "rapport", "j.jansen"),
        ("beheer", "onderhoud", "j.jansen"),
    ]


def test_a_command_that_cannot_log_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside development mode without a log key: every operator command refuses with exit code 3 and
    leaves the database as it was."""
    url = f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    monkeypatch.setenv("VIR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VIR_DATABASE_URL", url)
    assert main(["instantie", "add", "--oin", A, "--naam", "Jeugdzorg Noord"]) == 0
    monkeypatch.setenv("VIR_PROXY_ADRESSEN", "127.0.0.2")  # not development mode; no VIR_LOG_KEY
    voor = {t: _sql(url, f"SELECT * FROM {t}") for t in ("instantie", "peer", "logregel", "loghoofd")}
    for argv in (
        ["instantie", "add", "--oin", B, "--naam", "GGD"],
        ["instantie", "profiel", A, "--schorsen"],
        ["instantie", "profiel", A, "--melding-jaren", "1", "--wss"],
        ["federatie", "peer", "add", "--systeem", "ZVJ", "--url", "http://127.0.0.1:9/v1/federatie", "--oin", B],
        ["federatie", "dead", "replay"],
        ["rapport"],
        ["rapport", "afstemming"],
        ["onderhoud"],
    ):
        r = run_cli(*argv, env=dict(os.environ))
        assert r.returncode == 3, argv
        assert r.stdout == "" and "cannot be logged" in r.stderr and "Traceback" not in r.stderr, argv
    assert {t: _sql(url, f"SELECT * FROM {t}") for t in voor} == voor
