"""Served WSDLs carry the address the gateway is reached at (or VIR_PUBLIEKE_URL); nothing else changes."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
import requests

from gateway.adres import basis_url, met_adres
from tests.support import ROOT, Server, addresses, committed_address, start_server

WSDLS = {"/v1/ketenpartner?wsdl": "ketenpartner.wsdl", "/wsdl/ketenpartner.wsdl": "ketenpartner.wsdl"}
WSDLS["/wsdl/federatie.wsdl"] = "federatie.wsdl"
WSDLS["/v1/federatie?wsdl"] = "federatie.wsdl"


def test_a_server_on_any_port_serves_its_own_address(server: Server) -> None:
    for path, name in WSDLS.items():
        committed = (ROOT / "wsdl" / name).read_bytes()
        served = requests.get(server.url + path, timeout=10).content
        service = "/v1/" + name.removesuffix(".wsdl")
        assert addresses(served) == [server.url + service] * 2, path
        assert committed_address(served, committed) == committed, path
    # The push contract's address is the partner's callback: served as committed.
    signalen = (ROOT / "wsdl" / "signalen.wsdl").read_bytes()
    assert requests.get(server.url + "/wsdl/signalen.wsdl", timeout=10).content == signalen


def test_the_host_header_is_followed_and_a_hostile_one_ignored(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    committed = (ROOT / "wsdl" / "ketenpartner.wsdl").read_bytes()
    for host, expected in (
        ("vir.example.nl", "http://vir.example.nl/v1/ketenpartner"),
        ("[::1]:8443", "http://[::1]:8443/v1/ketenpartner"),
        ('evil"/><x a="', "http://localhost:8080/v1/ketenpartner"),
    ):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("GET", "/v1/ketenpartner?wsdl", skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        served = conn.getresponse().read()
        conn.close()
        assert addresses(served) == [expected] * 2, host
        assert committed_address(served, committed) == committed


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("publiek"),
        None,
        workers=1,
        extra_env={"VIR_PUBLIEKE_URL": "https://vir.example.nl/koppelvlak/"},
    )
    yield srv
    srv.stop()


def test_the_public_url_wins_over_the_request(behind_proxy: Server) -> None:
    for path, name in WSDLS.items():
        committed = (ROOT / "wsdl" / name).read_bytes()
        served = requests.get(behind_proxy.url + path, timeout=10).content
        service = "/v1/" + name.removesuffix(".wsdl")
        assert addresses(served) == [f"https://vir.example.nl/koppelvlak{service}"] * 2
        assert committed_address(served, committed) == committed


def test_a_malformed_public_url_is_refused() -> None:
    from gateway.config import from_env

    for url in ("vir.example.nl", 'https://vir.example.nl/"x', "https://vir.example.nl/?a=1", "ftp://x"):
        with pytest.raises(ValueError, match="VIR_PUBLIEKE_URL"):
            from_env({"VIR_PUBLIEKE_URL": url})


def test_without_a_usable_host_the_committed_address_stays() -> None:
    wsdl = (ROOT / "wsdl" / "ketenpartner.wsdl").read_bytes()
    assert met_adres(wsdl, basis_url({"wsgi.url_scheme": "http"}, None)) == wsdl
    assert basis_url({"wsgi.url_scheme": "https", "SERVER_NAME": "gw", "SERVER_PORT": "443"}, None) == "https://gw"
