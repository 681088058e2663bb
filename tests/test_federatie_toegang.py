"""Peers are authenticated like chain partners and separately from them, through a real gateway process that
terminates mutual TLS with certificates of the development PKI: every probe of an impostor gets its own
fault, changes nothing in the store, and is in the signed message log."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep.exceptions
from lxml import etree
from sqlalchemy import create_engine, text

from federation.client import DeliveryError, PeerClient
from federation.ondertekening import Ondertekenen
from gateway.domain.jongere import pseudoniem
from gateway.domain.sleutelring import Sleutelring
from tests.support import (
    GATEWAY_OIN,
    ROOT,
    TABLES,
    A,
    B,
    C,
    Server,
    bsn,
    log_size,
    log_tail,
    sg,
    start_server,
)
from tests.test_tls import Pki, kp_client

PEER, GESCHORST, INGETROKKEN, ONBEKEND = (f"00000007{d * 9}000" for d in "4567")
WSDL_FED = ROOT / "wsdl" / "federatie.wsdl"
# The federation's own tables too: a refused message must not leave a withdrawal or a delivery behind.
ALLE_TABELLEN = (*TABLES, "peer", "federatie_uitgaand", "federatie_intrekking")


@pytest.fixture(scope="module")
def peer_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    oins = [A, B, C, PEER, GESCHORST, INGETROKKEN, ONBEKEND]
    r = subprocess.run(
        [sys.executable, "-m", "vir", "pki", "maak", str(d), *(a for o in oins for a in ("--oin", o))],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "vir", "pki", "intrekken", str(d), INGETROKKEN], capture_output=True)
    assert r.returncode == 0
    return Pki(d, d / "ca.pem")


def _cli(data: Path, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIR_DATA_DIR": str(data), **(extra or {})}
    return subprocess.run([sys.executable, "-m", "vir", *args], env=env, capture_output=True, text=True, timeout=120)


def _peers_registreren(data: Path, p: Pki) -> None:
    for systeem, oin in (("ZVJ", PEER), ("MOP", GESCHORST), ("VIS2", INGETROKKEN)):
        r = _cli(data, "federatie", "peer", "add", "--systeem", systeem, "--url", "https://127.0.0.1:9/v1/federatie",
                 "--oin", oin, "--certificaat", str(p.map / f"{oin}.pem"), extra=p.env())  # fmt: skip
        assert r.returncode == 0, r.stderr
    r = _cli(data, "federatie", "peer", "schorsen", "MOP", extra=p.env())
    assert r.returncode == 0 and "suspended" in r.stdout, r.stderr


@pytest.fixture(scope="module")
def tls_gateway(peer_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("tls")
    d = peer_pki.map
    env = {**peer_pki.env(), "VIR_TLS_CERT": str(d / "server.pem"), "VIR_TLS_KEY": str(d / "server-key.pem")}
    health = {"cert": peer_pki.paar(A), "verify": str(peer_pki.ca)}
    srv = start_server(tmp, None, extra_env=env, scheme="https", health=health)
    _peers_registreren(tmp / "data", peer_pki)
    yield srv
    srv.stop()


def snapshot(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in ALLE_TABELLEN}
    finally:
        engine.dispose()


def peer_client(srv: Server, p: Pki, oin: str, systeem: str, *, ondertekend: bool = True) -> PeerClient:
    """A peer's gateway as our worker is one: its client certificate, and its signing key when ``ondertekend``."""
    sleutel, cert = p.paar(oin)[1], p.paar(oin)[0]
    plugins = [Ondertekenen(Path(sleutel).read_bytes(), Path(cert).read_bytes())] if ondertekend else []
    return PeerClient(f"{srv.url}/v1/federatie", GATEWAY_OIN, eigen_systeem=systeem, eigen_oin=oin, timeout=10,
                      plugins=plugins, tls={"cert": p.paar(oin), "verify": str(p.ca)})  # fmt: skip


def inhoud(youth: str, systeem: str = "ZVJ", melding_id: str | None = None, versie: int = 1) -> dict[str, Any]:
    return {
        "bron": {"systeem": systeem, "meldingId": melding_id or str(uuid.uuid4()), "versie": versie},
        "jongere": f"bsn:{youth}",
        "contactkaart": {"oin": "00000009777777777000", "naam": "Jeugdteam", "vestiging": None,
                         "meldingsbevoegde": {"naam": "P. Peer", "functie": None, "telefoon": None, "email": None},
                         "bronsysteem": "ECD"},
        "geplandeEinddatum": (dt.date.today() + dt.timedelta(days=300)).isoformat(),
    }  # fmt: skip


# Outside development mode designation is on: the demo organisations file as their demo professional.
DEMO_MB = {"naam": "A. Professional", "medewerkerId": "demo"}


def _geweigerd_en_gelogd(srv: Server, voor_log: int, code: str, actor: str) -> None:
    fouten = [r for r in log_tail(srv.db_url, voor_log) if r["soort"] == "fout"]
    assert [(r["foutcode"], r["actor"]) for r in fouten] == [(code, actor)]


def test_a_genuine_peer_is_heard_and_a_stale_version_reveals_nothing(tls_gateway: Server, peer_pki: Pki) -> None:
    a = kp_client(tls_gateway.url, peer_pki, peer_pki.paar(A))
    youth, ander = bsn(), bsn()
    for j in (youth, ander):
        a.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": j}, meldingsbevoegde=DEMO_MB)
    zvj = peer_client(tls_gateway, peer_pki, PEER, "ZVJ")
    eerste = inhoud(youth)
    verzonden = zvj.forward("doorgeven", eerste)
    assert verzonden.verwerkt
    antwoord = etree.fromstring(verzonden.antwoord)
    assert [n.text for n in antwoord.iterfind(".//{*}lokaleMatch/{*}meldingsbevoegde/{*}naam")] == ["A. Professional"]

    # The used meldingId again, version 1, another youth (one with a local melding, one without): an oracle
    # for who has a melding on that youth if it answered. It is accepted as a message and answered
    # "not processed", without local parties, and nothing in the store changes.
    for j in (ander, bsn()):
        voor, voor_log = snapshot(tls_gateway.db_url), log_size(tls_gateway.db_url)
        oud = zvj.forward("doorgeven", {**inhoud(j), "bron": eerste["bron"]})
        assert not oud.verwerkt
        assert etree.fromstring(oud.antwoord).find(".//{*}lokaleMatch") is None
        assert snapshot(tls_gateway.db_url) == voor
        logged = log_tail(tls_gateway.db_url, voor_log)
        assert [(r["soort"], r["operatie"]) for r in logged] == [
            ("inkomend", "federatie:MeldingDoorgeven"),
            ("uitgaand", "federatie:MeldingDoorgeven"),
        ]
        assert b"lokaleMatch" not in bytes(logged[1]["payload"])


@pytest.mark.parametrize(
    ("wie", "oin", "systeem", "bron", "ondertekend", "code"),
    [
        ("a chain partner's certificate", A, "ZVJ", "ZVJ", True, "VIR-FEDERATIE-KETENPARTNER"),
        ("an unregistered certificate", ONBEKEND, "ZVJ", "ZVJ", True, "VIR-PEER-ONBEKEND"),
        ("a suspended peer", GESCHORST, "MOP", "MOP", True, "VIR-PEER-GESCHORST"),
        ("a genuine peer that does not sign", PEER, "ZVJ", "ZVJ", False, "VIR-WSS-ONTBREEKT"),
        ("a genuine peer speaking as another", PEER, "VIS2", "VIS2", True, "VIR-AFZENDER-ONJUIST"),
        ("a genuine peer naming an unknown system", PEER, "ONBEKEND", "ZVJ", True, "VIR-SYSTEEM-ONBEKEND"),
        ("a genuine peer speaking for another's melding", PEER, "ZVJ", "VIS2", True, "VIR-BRON-ONJUIST"),
        ("a genuine peer speaking for this node's melding", PEER, "ZVJ", "VIRGW", True, "VIR-BRON-ONJUIST"),
    ],
)
def test_impostors_on_the_federation_service_are_refused(
    tls_gateway: Server, peer_pki: Pki, wie: str, oin: str, systeem: str, bron: str, ondertekend: bool, code: str
) -> None:
    """Each probe once as an upsert (which would answer the local parties) and once as a withdrawal."""
    a = kp_client(tls_gateway.url, peer_pki, peer_pki.paar(A))
    youth = bsn()
    a.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde=DEMO_MB)
    impostor = peer_client(tls_gateway, peer_pki, oin, systeem, ondertekend=ondertekend)
    bericht = inhoud(youth, systeem=bron)
    for soort, wat in (("doorgeven", bericht), ("intrekken", {"bron": bericht["bron"]})):
        voor, voor_log = snapshot(tls_gateway.db_url), log_size(tls_gateway.db_url)
        with pytest.raises(DeliveryError) as exc:
            impostor.forward(soort, wat)
        assert str(exc.value) == f"fault {code}", wie
        assert "A. Professional" not in impostor.history.last_received["envelope"].xpath("string()")
        assert snapshot(tls_gateway.db_url) == voor, wie
        _geweigerd_en_gelogd(tls_gateway, voor_log, code, oin)


def test_a_card_naming_one_of_our_oins_is_refused_and_other_systems_parties_stay_apart(
    tls_gateway: Server, peer_pki: Pki
) -> None:
    """Another system's party is (system, OIN): a card with the OIN of one of our instanties gets its own fault,
    changes nothing and is logged; a party of another system never blocks registering ours with its OIN."""
    a = kp_client(tls_gateway.url, peer_pki, peer_pki.paar(A))
    youth = bsn()
    a.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde=DEMO_MB)
    zvj = peer_client(tls_gateway, peer_pki, PEER, "ZVJ")
    vals = inhoud(youth)
    vals["contactkaart"]["oin"] = A
    voor, voor_log = snapshot(tls_gateway.db_url), log_size(tls_gateway.db_url)
    with pytest.raises(DeliveryError) as exc:
        zvj.forward("doorgeven", vals)
    assert str(exc.value) == "fault VIR-KAART-OIN-LOKAAL"
    fout = zvj.history.last_received["envelope"]
    assert fout.findtext(".//{*}xpath") == "/fed:MeldingDoorgeven/fed:contactkaart/g:instantie/g:oin"
    assert snapshot(tls_gateway.db_url) == voor
    _geweigerd_en_gelogd(tls_gateway, voor_log, "VIR-KAART-OIN-LOKAAL", PEER)

    # A party of ZVJ with an OIN we do not know yet, then an instantie of ours registered with that OIN: both
    # exist side by side, and from then on ZVJ cannot speak for that OIN.
    data = Path(tls_gateway.db_url.removeprefix("sqlite:///")).parent
    oin = "00000009555555555000"
    eerste = inhoud(youth)
    eerste["contactkaart"]["oin"] = oin
    assert zvj.forward("doorgeven", eerste).verwerkt
    r = _cli(data, "instantie", "add", "--oin", oin, "--naam", "Eigen jeugdteam", extra=peer_pki.env())
    assert r.returncode == 0, r.stderr
    engine = create_engine(tls_gateway.db_url)
    try:
        with engine.connect() as conn:
            rijen = conn.execute(
                text("SELECT systeem, naam, actief FROM instantie WHERE oin = :o ORDER BY systeem"), {"o": oin}
            ).all()
    finally:
        engine.dispose()
    assert sorted(map(tuple, rijen), key=str) == sorted(
        [(None, "Eigen jeugdteam", True), ("ZVJ", "Jeugdteam", False)], key=str
    )
    tweede = {**eerste, "bron": {**eerste["bron"], "versie": 2}}
    with pytest.raises(DeliveryError, match="VIR-KAART-OIN-LOKAAL"):
        zvj.forward("doorgeven", tweede)


def _psn(p: Pki, youth: str) -> str:
    """The youth's pseudonym under the federation key the peers share (the PKI's development key)."""
    return pseudoniem(f"bsn:{youth}", Sleutelring.lees((p.map / "federatie.sleutel").read_text()))


def test_odd_but_valid_federated_messages_never_end_in_an_internal_error(tls_gateway: Server, peer_pki: Pki) -> None:
    """Messages the schema allows but this node cannot use get a fault with their own code or a plain answer, never
    VIR-INTERN; a pseudonym of another key version is refused with its own fault and changes nothing."""
    a = kp_client(tls_gateway.url, peer_pki, peer_pki.paar(A))
    youth = bsn()
    a.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde=DEMO_MB)
    zvj = peer_client(tls_gateway, peer_pki, PEER, "ZVJ")
    eigen = _psn(peer_pki, youth)
    vreemd = "psn:99:" + eigen.split(":")[2]
    voor, voor_log = snapshot(tls_gateway.db_url), log_size(tls_gateway.db_url)
    for soort, vals in (("doorgeven", {**inhoud(youth), "jongere": vreemd}), ("aankondigen", {"jongere": vreemd})):
        with pytest.raises(DeliveryError, match="VIR-PSEUDONIEM-VERSIE"):
            zvj.forward(soort, vals)
    assert snapshot(tls_gateway.db_url) == voor
    assert [r["foutcode"] for r in log_tail(tls_gateway.db_url, voor_log) if r["soort"] == "fout"] == [
        "VIR-PSEUDONIEM-VERSIE"
    ] * 2

    dubbel = inhoud(youth)
    dubbel["jongere"] = eigen
    vreemde_einde = {**inhoud(youth), "jongere": eigen, "geplandeEinddatum": "2001-01-01"}
    vreemde_einde["contactkaart"] = {**vreemde_einde["contactkaart"], "oin": "0" * 20}
    berichten: list[tuple[str, dict[str, Any], bool]] = [
        ("aankondigen", {"jongere": eigen}, True),  # we hold a melding on it: known
        ("aankondigen", {"jongere": _psn(peer_pki, bsn())}, False),
        ("doorgeven", {**inhoud(bsn()), "jongere": _psn(peer_pki, bsn())}, False),  # nothing here on that youth
        ("doorgeven", dubbel, True),
        ("doorgeven", {**dubbel, "bron": {**dubbel["bron"], "meldingId": str(uuid.uuid4())}}, True),  # re-filed
        ("doorgeven", {**inhoud(youth), "bron": {**dubbel["bron"], "versie": 2147483647}}, True),  # a clear key
        ("intrekken", {"bron": {"systeem": "ZVJ", "meldingId": str(uuid.uuid4()), "versie": 1}}, False),
        ("doorgeven", vreemde_einde, True),  # ended already, anonymous card: expires at the next retention run
    ]
    for soort, vals, verwerkt in berichten:
        assert zvj.forward(soort, vals).verwerkt is verwerkt, (soort, vals)
    fouten = [r["foutcode"] for r in log_tail(tls_gateway.db_url, voor_log) if r["soort"] == "fout"]
    assert "VIR-INTERN" not in fouten


def test_a_revoked_peer_certificate_ends_at_the_handshake(tls_gateway: Server, peer_pki: Pki) -> None:
    voor, voor_log = snapshot(tls_gateway.db_url), log_size(tls_gateway.db_url)
    with pytest.raises(DeliveryError, match="unreachable"):
        peer_client(tls_gateway, peer_pki, INGETROKKEN, "VIS2").forward("doorgeven", inhoud(bsn(), "VIS2"))
    assert snapshot(tls_gateway.db_url) == voor and log_size(tls_gateway.db_url) == voor_log


def test_peers_cannot_use_the_chain_partner_service(tls_gateway: Server, peer_pki: Pki) -> None:
    zvj = kp_client(tls_gateway.url, peer_pki, peer_pki.paar(PEER))
    for op, kw in (("Ping", {}), ("MeldingAfgeven", {"jongere": {"bsn": bsn()}, "meldingsbevoegde": {"naam": "X"}})):
        voor, voor_log = snapshot(tls_gateway.db_url), log_size(tls_gateway.db_url)
        with pytest.raises(zeep.exceptions.Fault) as exc:
            getattr(zvj, op)(stuurgegevens=sg(PEER), **kw)
        assert exc.value.detail.findtext(".//{urn:nl:vir:gateway:gegevens:v1}code") == "VIR-KETENPARTNER-PEER"
        assert snapshot(tls_gateway.db_url) == voor
        _geweigerd_en_gelogd(tls_gateway, voor_log, "VIR-KETENPARTNER-PEER", PEER)


def test_the_conformance_kit_passes_as_a_peer_over_mutual_tls(tls_gateway: Server, peer_pki: Pki) -> None:
    """``vir-gateway conformance federatie`` as a process, with the peer's client certificate and signing key."""
    cert, key = peer_pki.paar(PEER)
    youth = bsn()
    a = kp_client(tls_gateway.url, peer_pki, peer_pki.paar(A))
    a.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde=DEMO_MB)
    r = subprocess.run(
        [sys.executable, "-m", "vir", "conformance", "federatie", f"{tls_gateway.url}/v1/federatie",
         "--ontvanger", GATEWAY_OIN, "--systeem", "ZVJ", "--oin", PEER, "--cert", cert, "--key", key,
         "--ca", str(peer_pki.ca), "--wss-key", key, "--wss-cert", cert, "--bsn", youth,
         "--federatiesleutel", str(peer_pki.map / "federatie.sleutel")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "9/9 behaviours conform"


def test_the_refusals_are_in_the_verified_log(tls_gateway: Server, peer_pki: Pki) -> None:
    """What the tests above provoked is visible to an operator (``log search``) and the log verifies."""
    data = Path(tls_gateway.db_url.removeprefix("sqlite:///")).parent
    r = _cli(data, "log", "verify", extra=peer_pki.env())
    assert r.returncode == 0, r.stdout + r.stderr
    r = _cli(data, "log", "search", "--foutcode", "VIR-PEER-GESCHORST", extra=peer_pki.env())
    assert r.returncode == 0 and "VIR-PEER-GESCHORST" in r.stdout, r.stdout + r.stderr


# --- a revoked certificate forwarded by a proxy that should not have -----------------------------


@pytest.fixture(scope="module")
def achter_proxy(peer_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("proxy")
    srv = start_server(tmp, None, extra_env={**peer_pki.env(), "VIR_PROXY_ADRESSEN": "127.0.0.2"})
    _peers_registreren(tmp / "data", peer_pki)
    yield srv
    srv.stop()


def test_a_revoked_peer_certificate_forwarded_by_a_proxy_is_refused_and_logged(
    achter_proxy: Server, peer_pki: Pki
) -> None:
    host, poort = achter_proxy.url.removeprefix("http://").split(":")
    body = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:fed="urn:nl:vir:gateway:federatie:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body><fed:Ping>
<fed:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId><g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>
<g:zender><g:oin>{INGETROKKEN}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>{GATEWAY_OIN}</g:oin></g:ontvanger></fed:stuurgegevens><fed:afzender>VIS2</fed:afzender>
</fed:Ping></soap:Body></soap:Envelope>""".encode()
    voor, voor_log = snapshot(achter_proxy.db_url), log_size(achter_proxy.db_url)
    pem = urllib.parse.quote((peer_pki.map / f"{INGETROKKEN}.pem").read_text())
    conn = http.client.HTTPConnection(host, int(poort), timeout=10, source_address=("127.0.0.2", 0))
    headers = {"Content-Type": "text/xml", "X-SSL-Client-Cert": pem, "X-SSL-Client-Verify": "SUCCESS"}
    conn.request("POST", "/v1/federatie", body=body, headers=headers)
    r = conn.getresponse()
    inhoud_ = r.read()
    conn.close()
    code = etree.fromstring(inhoud_).findtext(".//{urn:nl:vir:gateway:gegevens:v1}code")
    assert (r.status, code) == (403, "VIR-CERTIFICAAT-ONGELDIG")
    assert snapshot(achter_proxy.db_url) == voor
    fouten = [x for x in log_tail(achter_proxy.db_url, voor_log) if x["soort"] == "fout"]
    assert [x["foutcode"] for x in fouten] == ["VIR-CERTIFICAAT-ONGELDIG"]


def test_an_unsigned_peer_is_heard_only_when_the_setting_relaxes_it(
    peer_pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``VIR_FEDERATIE_WSS_VERPLICHT=0``: a peer without a registered certificate may rely on mutual TLS."""
    tmp = tmp_path_factory.mktemp("los")
    d = peer_pki.map
    env = {**peer_pki.env(), "VIR_TLS_CERT": str(d / "server.pem"), "VIR_TLS_KEY": str(d / "server-key.pem"),
           "VIR_FEDERATIE_WSS_VERPLICHT": "0"}  # fmt: skip
    health = {"cert": peer_pki.paar(A), "verify": str(d / "ca.pem")}
    srv = start_server(tmp, None, extra_env=env, scheme="https", health=health)
    try:
        peer_add = ["federatie", "peer", "add", "--systeem", "ZVJ", "--url", "https://127.0.0.1:9/v1/federatie",
                    "--oin", PEER]  # fmt: skip
        streng = {k: v for k, v in env.items() if k != "VIR_FEDERATIE_WSS_VERPLICHT"}
        r = _cli(tmp / "data", *peer_add, extra=streng)
        assert r.returncode == 0 and "without --certificaat its messages are refused" in r.stderr, r.stderr
        r = _cli(tmp / "data", *peer_add, extra=env)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        youth = bsn()
        a = kp_client(srv.url, peer_pki, peer_pki.paar(A))
        a.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde=DEMO_MB)
        assert peer_client(srv, peer_pki, PEER, "ZVJ", ondertekend=False).forward("doorgeven", inhoud(youth)).verwerkt
    finally:
        srv.stop()


# --- what is logged is what is sent ------------------------------------------------------------------


def test_the_federation_answer_sent_is_the_answer_logged(server: Server) -> None:
    """The answer element in the HTTP response is, canonically, the payload of the log's ``uitgaand`` entry."""
    from tests.support import client

    env = {**os.environ, "VIR_DATA_DIR": str(server.log.parent / "data"), "VIR_DATABASE_URL": server.db_url}
    r = subprocess.run(
        [sys.executable, "-m", "vir", "federatie", "peer", "add", "--systeem", "LOGTEST",
         "--url", "http://127.0.0.1:9/v1/federatie", "--oin", ONBEKEND],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    youth = bsn()
    client(server).MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde={"naam": "Anna"})
    einddatum = (dt.date.today() + dt.timedelta(days=100)).isoformat()
    envelope = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:fed="urn:nl:vir:gateway:federatie:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>
<fed:MeldingDoorgeven><fed:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{ONBEKEND}</g:oin><g:applicatie>t</g:applicatie>
</g:zender><g:ontvanger><g:oin>{GATEWAY_OIN}</g:oin></g:ontvanger></fed:stuurgegevens>
<fed:afzender>LOGTEST</fed:afzender><fed:bron><fed:systeem>LOGTEST</fed:systeem>
<fed:meldingId>{uuid.uuid4()}</fed:meldingId><fed:versie>1</fed:versie></fed:bron><fed:jongere>bsn:{youth}</fed:jongere>
<fed:contactkaart><g:instantie><g:oin>00000009777777777000</g:oin><g:naam>Jeugdteam</g:naam></g:instantie>
<g:meldingsbevoegde><g:naam>P. Peer</g:naam></g:meldingsbevoegde><g:bronsysteem>ECD</g:bronsysteem></fed:contactkaart>
<fed:geplandeEinddatum>{einddatum}</fed:geplandeEinddatum></fed:MeldingDoorgeven></soap:Body></soap:Envelope>"""
    voor = log_size(server.db_url)
    antwoord = requests.post(
        f"{server.url}/v1/federatie", data=envelope.encode(), headers={"Content-Type": "text/xml"}, timeout=30
    )
    assert antwoord.status_code == 200, antwoord.text
    verzonden = etree.fromstring(antwoord.content).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert verzonden.findtext(".//{*}lokaleMatch/{*}meldingsbevoegde/{*}naam") == "Anna"
    [gelogd] = [r for r in log_tail(server.db_url, voor) if r["soort"] == "uitgaand"]
    assert gelogd["operatie"] == "federatie:MeldingDoorgeven"

    def c14n(el: etree._Element) -> bytes:
        return etree.tostring(el, method="c14n", exclusive=True)

    assert c14n(verzonden) == c14n(etree.fromstring(bytes(gelogd["payload"])))


_WIE_NIET = [
    ("a chain partner's certificate", A, "ZVJ", "VIR-FEDERATIE-KETENPARTNER"),
    ("an unregistered certificate", ONBEKEND, "ZVJ", "VIR-PEER-ONBEKEND"),
    ("a suspended peer", GESCHORST, "MOP", "VIR-PEER-GESCHORST"),
]


@pytest.mark.parametrize("operatie", ["doorgeven", "intrekken", "aankondigen", "regie", "gezin", "checkpoint"])
@pytest.mark.parametrize(("wie", "oin", "systeem", "code"), _WIE_NIET)
def test_every_federation_operation_refuses_the_wrong_callers(
    tls_gateway: Server, peer_pki: Pki, operatie: str, wie: str, oin: str, systeem: str, code: str
) -> None:
    """Each operation of the federation service, by name, with a valid message from a caller that is no active
    peer: its own fault, no local party in the answer, nothing stored, the refusal logged with the caller."""
    a = kp_client(tls_gateway.url, peer_pki, peer_pki.paar(A))
    youth = bsn()
    a.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde=DEMO_MB)
    psn = _psn(peer_pki, youth)
    nu = dt.datetime.now(dt.UTC).isoformat()
    berichten: dict[str, dict[str, Any]] = {
        "doorgeven": {**inhoud(youth, systeem=systeem), "jongere": psn},
        "intrekken": {"bron": {"systeem": systeem, "meldingId": str(uuid.uuid4()), "versie": 1}},
        "aankondigen": {"jongere": psn},
        "regie": {
            "jongere": psn,
            "regie": {
                "regievoerder": {"systeem": systeem, "oin": "00000009777777777000"},
                "gekozen": nu,
                "gekozenDoor": systeem,
            },
        },
        "gezin": {"meldingId": str(uuid.uuid4()), "tijdstip": nu, "kaarten": [inhoud(youth)["contactkaart"]]},
    }
    impostor = peer_client(tls_gateway, peer_pki, oin, systeem)
    voor, voor_log = snapshot(tls_gateway.db_url), log_size(tls_gateway.db_url)
    with pytest.raises(DeliveryError) as exc:
        if operatie == "checkpoint":
            impostor.checkpoint_getuigen(b"<checkpoint/>", 0, [], str(uuid.uuid4()))
        else:
            impostor.forward(operatie, berichten[operatie])
    assert str(exc.value) == f"fault {code}", (wie, operatie)
    assert "A. Professional" not in impostor.history.last_received["envelope"].xpath("string()")
    assert snapshot(tls_gateway.db_url) == voor, (wie, operatie)
    _geweigerd_en_gelogd(tls_gateway, voor_log, code, oin)
