"""WS-Security through the live service: requests signed by zeep (python-xmlsec, an implementation we did
not write) are accepted for an instantie whose profile requires signatures; tampered ones are refused
with distinct codes, store nothing and are logged; the signed answers verify with xmlsec1 and zeep."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from lxml import etree
from zeep.wsse import signature as zeep_signature

from gateway.wss import verifieer
from tests.support import A, B, C, Server, bsn, client, fault_code_of, free_port, run_cli, sg, snapshot, start_server
from tests.test_wss import (
    OIN_GATEWAY,
    WSA,
    WSU,
    Pki,
    _xmlsec1,
    bewerk,
    body,
    een,
    header,
    zeep_verzoek,
)
from tests.test_wss import pki as pki

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture(scope="module")
def ondertekenend(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A gateway that signs with the test's gateway key, and instantie A registered with its certificate."""
    tmp = tmp_path_factory.mktemp("wss")
    env = {"VIR_WSS_KEY": str(pki.gateway.sleutel_pad), "VIR_WSS_CERT": str(pki.gateway.cert_pad)}
    srv = start_server(tmp, None, extra_env=env)
    cli_env = {**os.environ, "VIR_DATA_DIR": str(tmp / "data")}
    profiel = ("instantie", "profiel", A)
    r = run_cli(*profiel, "--wss", env=cli_env)
    assert r.returncode == 2 and "--certificaat" in r.stderr  # no signatures required without a certificate
    r = run_cli(*profiel, "--certificaat", str(pki.ander.cert_pad), env=cli_env)
    assert r.returncode == 2 and "serialNumber" in r.stderr  # another organisation's certificate
    r = run_cli(*profiel, "--certificaat", str(pki.client.cert_pad), "--wss", env=cli_env)
    assert r.returncode == 0, r.stderr
    yield srv
    srv.stop()


def post(server: Server, envelope: bytes) -> requests.Response:
    return requests.post(server.endpoint, data=envelope, headers={"Content-Type": "text/xml"}, timeout=30)


def nu() -> datetime:
    return datetime.now(UTC)


def test_a_zeep_signed_request_is_accepted_and_the_answer_is_signed(
    ondertekenend: Server, pki: Pki, tmp_path: Path
) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu())
    r = post(ondertekenend, verzoek)
    assert r.status_code == 200, r.text
    antwoord = etree.fromstring(r.content)
    assert antwoord.findtext(f".//{{{WSA}}}RelatesTo") == etree.fromstring(verzoek).findtext(f".//{{{WSA}}}MessageID")
    # The answer's signature verifies with tools we did not write: xmlsec1 and zeep (python-xmlsec).
    bestand = tmp_path / "antwoord.xml"
    bestand.write_bytes(r.content)
    resultaat = _xmlsec1(bestand, pki.gateway.cert_pad, SOAP11)
    assert resultaat.returncode == 0, resultaat.stderr
    zeep_signature.verify_envelope(antwoord, str(pki.gateway.cert_pad))
    # …and a changed answer does not.
    een(antwoord, "//*[local-name()='versie']").text = "0.0.0-vervalst"
    bestand.write_bytes(etree.tostring(antwoord))
    assert _xmlsec1(bestand, pki.gateway.cert_pad, SOAP11).returncode != 0


def _wikkel(root: etree._Element) -> None:
    """Signature wrapping: the signed Body parked in a header, a new Body in its place."""
    oud = body(root)
    nieuw = copy.deepcopy(oud)
    del nieuw.attrib[f"{{{WSU}}}Id"]
    etree.SubElement(header(root), "{urn:aanvaller}Wrapper")[0:0] = [oud]
    root.append(nieuw)


def _wijzig_body(root: etree._Element) -> None:
    een(root, "//*[local-name()='applicatie']").text = "ander-ECD"


def _handtekening_weg(root: etree._Element) -> None:
    sig = een(root, "//ds:Signature")
    sig.getparent().remove(sig)


@pytest.mark.parametrize(
    ("naam", "maak", "code"),
    [
        ("body changed after signing", lambda p: bewerk(zeep_verzoek(p.client, nu=nu()), _wijzig_body),
         "VIR-WSS-HANDTEKENING-ONGELDIG"),
        ("signature wrapping", lambda p: bewerk(zeep_verzoek(p.client, nu=nu()), _wikkel), "VIR-WSS-ONVOLLEDIG"),
        ("expired timestamp", lambda p: zeep_verzoek(p.client, nu=nu() - timedelta(minutes=20)), "VIR-WSS-TIJDSTEMPEL"),
        ("unsigned", lambda p: zeep_verzoek(None, nu=nu()), "VIR-WSS-ONTBREEKT"),
        ("signature removed", lambda p: bewerk(zeep_verzoek(p.client, nu=nu()), _handtekening_weg),
         "VIR-WSS-ONTBREEKT"),
        ("signed with another certificate", lambda p: zeep_verzoek(p.ander, nu=nu()), "VIR-WSS-CERTIFICAAT"),
        ("SHA-1", lambda p: zeep_verzoek(p.client, nu=nu(), sha256=False), "VIR-WSS-ALGORITME"),
        ("no WS-Addressing", lambda p: zeep_verzoek(p.client, nu=nu(), wsa=False), "VIR-WSA-ONGELDIG"),
        ("stock zeep: addressing unsigned",
         lambda p: zeep_verzoek(p.client, nu=nu(), ondertekenaar=zeep_signature.BinarySignature),
         "VIR-WSS-ONVOLLEDIG"),
    ],
)  # fmt: skip
def test_tampered_requests_are_refused(ondertekenend: Server, pki: Pki, naam: str, maak: object, code: str) -> None:
    assert callable(maak)
    voor = snapshot(ondertekenend.db_url)
    r = post(ondertekenend, maak(pki))
    assert (r.status_code, fault_code_of(r)) == (500, code), naam
    assert snapshot(ondertekenend.db_url) == voor


def test_a_replayed_request_is_refused(ondertekenend: Server, pki: Pki) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu())
    assert post(ondertekenend, verzoek).status_code == 200
    r = post(ondertekenend, verzoek)
    assert (r.status_code, fault_code_of(r)) == (500, "VIR-WSA-HERHAALD")
    # A replay with a fresh, unsigned MessageID does not get past the signature either.

    def nieuwe_id(root: etree._Element) -> None:
        een(root, "//wsa:MessageID").text = f"urn:uuid:{uuid.uuid4()}"

    r = post(ondertekenend, bewerk(verzoek, nieuwe_id))
    assert fault_code_of(r) == "VIR-WSS-HANDTEKENING-ONGELDIG"


def _cli(server: Server, *args: str) -> None:
    data = Path(server.db_url.removeprefix("sqlite:///")).parent
    r = run_cli(*args, env={**os.environ, "VIR_DATA_DIR": str(data)})
    assert r.returncode == 0, r.stderr


def test_messages_to_peers_are_signed_and_peer_messages_verified(ondertekenend: Server, pki: Pki) -> None:
    """A peer with a registered certificate must sign; our own peer client signs with the configured key."""
    from federation.client import DeliveryError, PeerClient
    from federation.ondertekening import Ondertekenen

    _cli(ondertekenend, "federatie", "peer", "add", "--systeem", "ZVJ", "--url", "http://127.0.0.1:9/v1/federatie",
         "--oin", OIN_GATEWAY, "--certificaat", str(pki.gateway.cert_pad))  # fmt: skip
    url = f"{ondertekenend.url}/v1/federatie"
    # A node stores another system's melding only on a youth it holds a melding on itself (docs/federation.md).
    youth = bsn()
    client(ondertekenend).MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": youth}, meldingsbevoegde={"naam": "B"})
    inhoud = {
        "bron": {"systeem": "ZVJ", "meldingId": str(uuid.uuid4()), "versie": 1},
        "jongere": f"bsn:{youth}",
        "contactkaart": {"oin": "00000009888888888000", "naam": "Jeugdteam", "vestiging": None,
                         "meldingsbevoegde": {"naam": "P. Peer", "functie": None, "telefoon": None, "email": None},
                         "bronsysteem": "ECD"},
        "geplandeEinddatum": (datetime.now(UTC) + timedelta(days=300)).date().isoformat(),
    }  # fmt: skip
    getekend = PeerClient(url, OIN_GATEWAY, eigen_systeem="ZVJ", eigen_oin=OIN_GATEWAY, timeout=10,
                          plugins=[Ondertekenen(pki.gateway.sleutel_pem, pki.gateway.cert_pem)])  # fmt: skip
    verzonden = getekend.forward("doorgeven", inhoud)
    assert verzonden.verwerkt
    assert etree.fromstring(verzonden.verzoek).find(f".//{{{WSU}}}Timestamp") is not None
    ongetekend = PeerClient(url, OIN_GATEWAY, eigen_systeem="ZVJ", eigen_oin=OIN_GATEWAY, timeout=10)
    with pytest.raises(DeliveryError, match="VIR-WSS-ONTBREEKT"):
        ongetekend.forward("intrekken", {"bron": {**inhoud["bron"], "versie": 2}})
    vreemd = PeerClient(url, OIN_GATEWAY, eigen_systeem="ZVJ", eigen_oin=OIN_GATEWAY, timeout=10,
                        plugins=[Ondertekenen(pki.ander.sleutel_pem, pki.ander.cert_pem)])  # fmt: skip
    with pytest.raises(DeliveryError, match="VIR-WSS-CERTIFICAAT"):
        vreemd.forward("intrekken", {"bron": {**inhoud["bron"], "versie": 2}})


def test_pushed_signals_are_signed(ondertekenend: Server, pki: Pki, tmp_path: Path) -> None:
    """The worker signs what it pushes to a partner's endpoint; the partner can check it with xmlsec1."""
    import threading
    from wsgiref.simple_server import make_server

    from tests.test_verwijsindex import Ontvanger, _Stil

    ontvanger = Ontvanger()
    httpd = make_server("127.0.0.1", free_port(), ontvanger, handler_class=_Stil)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        _cli(ondertekenend, "instantie", "profiel", B, "--callback", f"http://127.0.0.1:{httpd.server_port}/s")
        j = {"bsn": bsn()}
        c = client(ondertekenend)
        c.MeldingAfgeven(stuurgegevens=sg(B), jongere=j, meldingsbevoegde={"naam": "B"})
        c.MeldingAfgeven(stuurgegevens=sg(C), jongere=j, meldingsbevoegde={"naam": "C"})
        data = Path(ondertekenend.db_url.removeprefix("sqlite:///")).parent
        env = {**os.environ, "VIR_DATA_DIR": str(data), "VIR_WSS_KEY": str(pki.gateway.sleutel_pad),
               "VIR_WSS_CERT": str(pki.gateway.cert_pad)}  # fmt: skip
        r = run_cli("worker", "--once", env=env)
        assert r.returncode == 0, r.stderr
    finally:
        httpd.shutdown()
        httpd.server_close()
        _cli(ondertekenend, "instantie", "profiel", B, "--geen-callback")
    assert ontvanger.berichten and ontvanger.ongeldig == []
    for i, bericht in enumerate(ontvanger.berichten):
        bestand = tmp_path / f"push-{i}.xml"
        bestand.write_bytes(bericht)
        assert _xmlsec1(bestand, pki.gateway.cert_pad, SOAP11).returncode == 0
        verifieer(bericht, pki.gateway.cert_pem, nu=datetime.now(UTC), gezien=lambda _: False)
