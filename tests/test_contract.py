"""The committed contract is what the server serves, and it loads cleanly in a real client."""

from __future__ import annotations

import warnings

import requests
import zeep
from lxml import etree

from gateway.contract import served_files
from tests.support import KP, ROOT, Server, client, committed_address, sg


def test_served_documents_equal_committed_files(server: Server) -> None:
    committed = {f"/wsdl/{p.name}": p for p in (ROOT / "wsdl").glob("*.wsdl")}
    committed |= {f"/schemas/xsd/{p.name}": p for p in (ROOT / "schemas" / "xsd").glob("*.xsd")}
    assert set(served_files()) == set(committed)
    for path, file in committed.items():
        r = requests.get(server.url + path, timeout=10)
        assert r.status_code == 200, path
        # Our services' WSDLs carry the server's own address (tests/test_adres.py); nothing else differs.
        assert committed_address(r.content, file.read_bytes()) == file.read_bytes(), path
    r = requests.get(server.endpoint + "?wsdl", timeout=10)
    wsdl = (ROOT / "wsdl" / "ketenpartner.wsdl").read_bytes()
    assert committed_address(r.content, wsdl) == wsdl


def test_no_generated_contract_is_published(server: Server) -> None:
    for query in ("xsd", "wsdl=1", "singleWsdl"):
        r = requests.get(f"{server.endpoint}?{query}", timeout=10)
        assert r.status_code == 404, query


def test_zeep_loads_the_committed_wsdl_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = zeep.Client(str(ROOT / "wsdl" / "ketenpartner.wsdl"))
    ops = set(c.wsdl.bindings[f"{{{KP}}}KetenpartnerSoap11Binding"]._operations)
    assert ops == {
        "MeldingAfgeven",
        "MeldingenAfgeven",
        "EigenMeldingenOpvragen",
        "MeldingWijzigen",
        "MeldingBeeindigen",
        "MatchesOpvragen",
        "RegievoerderVastleggen",
        "AfstemmingVastleggen",
        "CasusGebeurtenis",
        "SignalenOphalen",
        "SignalenBevestigen",
        "BerichtValideren",
        "OntvangstbewijsOpvragen",
        "Ping",
        # organisation profiles and designated professionals
        "ProfielenOpvragen",
        "MeldingsbevoegdeAanwijzen",
    }


def test_wsdl_from_the_server_resolves_its_imports(server: Server) -> None:
    """A partner that only knows our URL: the XSD imports resolve relative to it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = zeep.Client(server.endpoint + "?wsdl")
    svc = c.create_service(f"{{{KP}}}KetenpartnerSoap11Binding", server.endpoint)
    assert svc.Ping(stuurgegevens=sg("00000001111111111000")).versie


def test_ping_over_both_soap_versions(server: Server) -> None:
    for soap12 in (False, True):
        r = client(server, soap12).Ping(stuurgegevens=sg("00000001111111111000"))
        assert r.versie


def test_signalen_wsdl_loads_and_pushes_the_signal_type() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = zeep.Client(str(ROOT / "wsdl" / "signalen.wsdl"))
    binding = c.wsdl.bindings["{urn:nl:vir:gateway:signalen:v1}SignalenSoap11Binding"]
    assert set(binding._operations) == {"SignalenAfleveren"}


def test_wsdl_is_wellformed_and_document_literal() -> None:
    doc = etree.parse(str(ROOT / "wsdl" / "ketenpartner.wsdl"))
    styles = doc.xpath("//*[local-name()='binding' and @style]/@style")
    uses = set(doc.xpath("//*[local-name()='body']/@use"))
    assert set(styles) == {"document"} and uses == {"literal"}


def test_ws_addressing_is_answered_and_related(server: Server) -> None:
    """A request with WS-Addressing headers (zeep's plugin) gets RelatesTo its MessageID and the response Action."""
    from zeep.plugins import HistoryPlugin
    from zeep.wsa import WsAddressingPlugin

    wsa = "http://www.w3.org/2005/08/addressing"
    history = HistoryPlugin()
    for soap12 in (False, True):
        c = zeep.Client(str(ROOT / "wsdl" / "ketenpartner.wsdl"), plugins=[WsAddressingPlugin(), history])
        binding = "KetenpartnerSoap12Binding" if soap12 else "KetenpartnerSoap11Binding"
        svc = c.create_service(f"{{{KP}}}{binding}", server.endpoint)
        assert svc.Ping(stuurgegevens=sg("00000001111111111000")).versie
        sent, got = history.last_sent["envelope"], history.last_received["envelope"]
        message_id = sent.findtext(f".//{{{wsa}}}MessageID")
        assert message_id and got.findtext(f".//{{{wsa}}}RelatesTo") == message_id
        assert got.findtext(f".//{{{wsa}}}Action") == f"{sent.findtext(f'.//{{{wsa}}}Action')}Response"
        assert got.findtext(f".//{{{wsa}}}MessageID") not in (None, message_id)
    # Without WS-Addressing the answer has none.
    r = client(server).Ping(stuurgegevens=sg("00000001111111111000"))
    assert r.versie
