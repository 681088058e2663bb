"""Client certificates behind a proxy, with real certificates from two development CAs: every CRL in
VIR_TLS_CRL counts, each only when its CA signed it and while it is current, the file is read again when it
changes, and the OIN is taken from a serialNumber only in PKIoverheid form."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from gateway import pki
from gateway.config import Settings
from gateway.errors import TransportError
from gateway.identiteit import Identificatie
from tests.support import A, B, C, Server, start_server

PROXY = "127.0.0.2"
GEEN_OIN = {
    "21 cijfers": "1" + A,
    "19 cijfers": A[1:],
    "voorvoegsel": "OIN:" + A,
    "spatie": A + " ",
}


@dataclass
class Cas:
    een: Path  # CA 1: A, B and the odd serialNumbers
    twee: Path  # CA 2: C
    vreemd: Path  # a CA that is not trusted, with the same name as the others
    bundel: Path
    crl: Path

    def schrijf_crl(self, *crls: bytes) -> None:
        """Replace the CRL file as an operator should: a new file renamed over the old one."""
        nieuw = self.crl.with_suffix(".nieuw")
        nieuw.write_bytes(b"".join(crls))
        nieuw.replace(self.crl)

    def environ(self, naam: str) -> dict[str, str]:
        map_ = self.twee if naam == C else self.een
        pem = (map_ / f"{naam}.pem").read_text()
        return {
            "REMOTE_ADDR": PROXY,
            "HTTP_X_SSL_CLIENT_CERT": urllib.parse.quote(pem),
            "HTTP_X_SSL_CLIENT_VERIFY": "SUCCESS",
        }


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> Cas:
    d = tmp_path_factory.mktemp("cas")
    pki.maak(d / "een", [A, B])
    pki.maak(d / "twee", [C])
    pki.maak(d / "vreemd", [A])
    for naam, serienummer in GEEN_OIN.items():
        pki.client(d / "een", A, bestand=naam, serienummer=serienummer)
    bundel = d / "bundel.pem"
    bundel.write_bytes((d / "een" / "ca.pem").read_bytes() + (d / "twee" / "ca.pem").read_bytes())
    return Cas(d / "een", d / "twee", d / "vreemd", bundel, d / "crl.pem")


def _identificatie(cas: Cas) -> Identificatie:
    return Identificatie(Settings(development=False, proxy_adressen=(PROXY,), tls_ca=cas.bundel, tls_crl=cas.crl))


def _uitkomst(ident: Identificatie, cas: Cas, naam: str) -> str | None:
    try:
        return ident.oin(cas.environ(naam))
    except TransportError as exc:
        return exc.code


def test_every_crl_in_the_file_counts(cas: Cas) -> None:
    """B is revoked in the second CRL of the file, behind a CRL of the other CA."""
    cas.schrijf_crl(pki.crl(cas.twee, []), pki.crl(cas.een, [B]))
    ident = _identificatie(cas)
    assert _uitkomst(ident, cas, A) == A
    assert _uitkomst(ident, cas, B) == "VIR-CERTIFICAAT-ONGELDIG"
    assert _uitkomst(ident, cas, C) == C


def test_a_crl_counts_only_signed_and_current(cas: Cas) -> None:
    ident = _identificatie(cas)
    # Signed by an untrusted CA that bears the same name: ignored, so CA 1's certificates have no status.
    cas.schrijf_crl(pki.crl(cas.vreemd, []), pki.crl(cas.twee, []))
    assert _uitkomst(ident, cas, A) == "VIR-CERTIFICAAT-STATUS-ONBEKEND"
    assert _uitkomst(ident, cas, C) == C
    # CA 1's CRL is past its nextUpdate: a stale list may miss a revocation.
    cas.schrijf_crl(pki.crl(cas.een, [], geldig=-dt.timedelta(hours=1)), pki.crl(cas.twee, []))
    assert _uitkomst(ident, cas, A) == "VIR-CERTIFICAAT-STATUS-ONBEKEND"
    assert _uitkomst(ident, cas, C) == C
    # Of two CRLs of one CA, the newer one counts.
    oud = pki.crl(cas.een, [B], nu=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    cas.schrijf_crl(pki.crl(cas.een, []), oud, pki.crl(cas.twee, []))
    assert _uitkomst(ident, cas, B) == B
    # A file that cannot be read: nobody's status is known.
    cas.schrijf_crl(b"-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n")
    assert _uitkomst(ident, cas, A) == "VIR-CERTIFICAAT-STATUS-ONBEKEND"


def test_the_oin_only_in_pkioverheid_form(cas: Cas) -> None:
    cas.schrijf_crl(pki.crl(cas.een, []), pki.crl(cas.twee, []))
    ident = _identificatie(cas)
    for naam in GEEN_OIN:
        assert _uitkomst(ident, cas, naam) == "VIR-CERTIFICAAT-OIN-ONGELDIG", naam
    assert _uitkomst(ident, cas, A) == A


# --- a real gateway behind the proxy address ------------------------------------------------------


@pytest.fixture(scope="module")
def achter_proxy(cas: Cas, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cas.schrijf_crl(pki.crl(cas.twee, []), pki.crl(cas.een, []))
    env = {
        "VIR_PROXY_ADRESSEN": PROXY,
        "VIR_TLS_CA": str(cas.bundel),
        "VIR_TLS_CRL": str(cas.crl),
        "VIR_LOG_KEY": str(cas.een / "log-key.pem"),
        "VIR_LOG_CERT": str(cas.een / "log.pem"),
        "VIR_VSN_SLEUTEL": str(cas.een / "vsn.sleutel"),
    }
    srv = start_server(tmp_path_factory.mktemp("proxy"), None, extra_env={**os.environ, **env})
    yield srv
    srv.stop()


def _ping(srv: Server, cas: Cas, naam: str) -> tuple[int, str | None]:
    host, poort = srv.url.removeprefix("http://").split(":")
    body = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body><kp:Ping>
<kp:stuurgegevens><g:berichtId>6f1c1f9e-5e8f-4b8e-9d3c-0a1b2c3d4e5f</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{A}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens></kp:Ping></soap:Body>
</soap:Envelope>""".encode()
    conn = http.client.HTTPConnection(host, int(poort), timeout=10, source_address=(PROXY, 0))
    conn.request("POST", "/v1/ketenpartner", body=body, headers={"Content-Type": "text/xml", **{
        k.removeprefix("HTTP_").replace("_", "-"): v for k, v in cas.environ(naam).items() if k.startswith("HTTP_")
    }})  # fmt: skip
    r = conn.getresponse()
    inhoud = r.read()
    conn.close()
    return r.status, etree.fromstring(inhoud).findtext(".//{urn:nl:vir:gateway:gegevens:v1}code")


def test_a_new_crl_counts_without_a_restart(achter_proxy: Server, cas: Cas) -> None:
    assert _ping(achter_proxy, cas, A) == (200, None)
    assert _ping(achter_proxy, cas, "21 cijfers") == (403, "VIR-CERTIFICAAT-OIN-ONGELDIG")
    cas.schrijf_crl(pki.crl(cas.twee, []), pki.crl(cas.een, [A]))
    assert _ping(achter_proxy, cas, A) == (403, "VIR-CERTIFICAAT-ONGELDIG")
    cas.schrijf_crl(pki.crl(cas.twee, []), pki.crl(cas.een, []))
    assert _ping(achter_proxy, cas, A) == (200, None)
