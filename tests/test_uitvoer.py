"""Nothing personal in process output: a real gateway's stdout and stderr, after ordinary traffic, the attack
corpus, federation faults and a forced database error, hold no BSN, name, phone number or e-mail address of
the data it was sent, while the errors themselves did reach the server log (by correlation id)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import zeep.exceptions
from sqlalchemy import create_engine, text

from federation.client import DeliveryError, PeerClient
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import GATEWAY_OIN, A, B, Server, bsn, client, fault_code, sg, start_server
from tests.test_attacks import ATTACKS, PLACEHOLDER, _repeat

PERSOONLIJK = {
    "naam": "Wilhelmina Zwaanswijk",
    "functie": "Gezinsvoogd Oudeboezem",
    "telefoon": "06-98765432",
    "email": "w.zwaanswijk@voorbeeld.example",
}
ANDER = {"naam": "Gerrit Kwakernaat", "telefoon": "050-7654321", "email": "g.kwakernaat@voorbeeld.example"}
JONGERE_ZONDER_BSN = {"geslachtsnaam": "Hoogeveenstra", "voorvoegsel": "van", "geboortedatum": "2014-03-02",
                      "geslacht": "V"}  # fmt: skip


@pytest.fixture(params=BACKENDS)
def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    srv = start_server(tmp_path, url)
    yield srv
    srv.stop()
    if request.param == "postgresql":
        drop_pg_database(url)


def _sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _aanval(server: Server, bsns: list[str]) -> None:
    """Every request of the attack corpus, with our own BSN in it."""
    for a in ATTACKS:
        waarde = bsn()
        bsns.append(waarde)
        values = {
            "berichtId": str(uuid.uuid4()),
            "bsn": waarde,
            "A": A,
            "gatewayOin": GATEWAY_OIN,
            "probe": "file:///nonexistent/probe",
            **{name: _repeat(unit, times) for name, (unit, times) in a.expand.items()},
        }
        body = PLACEHOLDER.sub(lambda m, v=values: v[m.group(1).decode()].encode(), a.template)  # type: ignore[misc]
        if a.encoding:
            body = body.decode("utf-8").encode(a.encoding)
        headers = {"Content-Type": a.content_type} if a.content_type else {}
        data = iter([body]) if a.chunked else body
        requests.post(server.endpoint, data=data, headers=headers, timeout=30)


def _federatie(server: Server, bsns: list[str]) -> None:
    """Deliveries the federation service refuses: a system it does not know, a withdrawal of nothing."""
    waarde = bsn()
    bsns.append(waarde)
    peer = PeerClient(f"{server.url}/v1/federatie", GATEWAY_OIN, eigen_systeem="ONBEKEND", eigen_oin=B, timeout=10)
    inhoud = {
        "bron": {"systeem": "ONBEKEND", "meldingId": str(uuid.uuid4()), "versie": 1},
        "jongere": f"bsn:{waarde}",
        "contactkaart": {"oin": "00000009777777777000", "naam": "Jeugdteam Kwakernaat", "vestiging": None,
                         "meldingsbevoegde": {"naam": ANDER["naam"], "functie": None, "telefoon": ANDER["telefoon"],
                                              "email": ANDER["email"]},
                         "bronsysteem": "ECD"},
        "geplandeEinddatum": (dt.date.today() + dt.timedelta(days=300)).isoformat(),
    }  # fmt: skip
    for soort in ("doorgeven", "intrekken"):
        with pytest.raises(DeliveryError):
            peer.forward(soort, inhoud)


def test_no_personal_data_in_process_output(gateway: Server) -> None:
    svc = client(gateway)
    bsns = [bsn(), bsn()]
    # Ordinary traffic: a match between two parties, one youth without a BSN, a read of matches.
    svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsns[0]}, meldingsbevoegde=PERSOONLIJK)
    svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": bsns[0]}, meldingsbevoegde=ANDER)
    svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"zonderBsn": JONGERE_ZONDER_BSN}, meldingsbevoegde=ANDER)
    svc.MatchesOpvragen(stuurgegevens={**sg(A), "gebruiker": PERSOONLIJK["naam"]})
    # Refusals with personal data in them.
    with pytest.raises(zeep.exceptions.Fault):
        svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsns[0]}, meldingsbevoegde=PERSOONLIJK)
    _aanval(gateway, bsns)
    _federatie(gateway, bsns)

    # A database error in the middle of a filing: the driver's message would quote the row.
    weiger = (
        ["CREATE TRIGGER weiger BEFORE INSERT ON melding BEGIN SELECT RAISE(ABORT, 'geweigerd'); END"]
        if gateway.db_url.startswith("sqlite")
        else ["ALTER TABLE melding ADD CONSTRAINT weiger CHECK (false) NOT VALID"]
    )
    _sql(gateway.db_url, *weiger)
    with pytest.raises(zeep.exceptions.Fault) as exc:
        svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsns[1]}, meldingsbevoegde=PERSOONLIJK)
    assert fault_code(exc.value) == "VIR-INTERN"
    correlatie = exc.value.detail.findtext(".//{urn:nl:vir:gateway:gegevens:v1}correlatieId")
    _sql(gateway.db_url, "DROP TRIGGER weiger" if gateway.db_url.startswith("sqlite") else
         "ALTER TABLE melding DROP CONSTRAINT weiger")  # fmt: skip
    gateway.stop()

    uitvoer = gateway.log.read_text(encoding="utf-8", errors="replace")
    assert correlatie and f"internal error in MeldingAfgeven [correlatie {correlatie}]" in uitvoer
    verboden = [*bsns, *PERSOONLIJK.values(), *ANDER.values(), "Kwakernaat", "Zwaanswijk", "Hoogeveenstra"]
    gelekt = [w for w in verboden if w in uitvoer]
    assert not gelekt, f"personal data in the server's output: {gelekt}"
