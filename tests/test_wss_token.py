"""The answer-signing (WS-Security) key in a PKCS#11 token: SoftHSM2 holds the gateway's key, a real gateway
answers a signed request with it, and ``xmlsec1`` and ``verifieer`` accept the answer with the certificate
alone. A wrong PIN gives the documented fault and exit code, without traceback or PIN."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from lxml import etree

from gateway.wss import WssFout, verifieer
from tests.support import A, Server, fault_code_of, run_cli, start_server
from tests.test_log_token import _token
from tests.test_wss import WSA, Pki, Sleutelpaar, _xmlsec1, zeep_verzoek
from tests.test_wss import pki as pki

KIT = ("--ontvanger", "00000001000000000000", "--systeem", "ZVJ", "--oin", "00000001000000000001")
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def _gateway(
    tmp: Path, pki: Pki, paar: Sleutelpaar, variabele: str, pin: str | None = None
) -> tuple[Server, dict[str, str]]:
    """A gateway whose answer-signing key is ``paar``'s key in a fresh token, named by ``variabele``:
    ``VIR_WSS_KEY``, or ``VIR_LOG_KEY`` (the default the answers fall back to); instantie A must sign."""
    hsm = _token(tmp / "hsm", "", key_pem=paar.sleutel_pem, cert_pem=paar.cert_pem)
    uri = hsm["VIR_LOG_KEY"] if pin is None else hsm["VIR_LOG_KEY"].split("&pin-source")[0] + f"&pin-value={pin}"
    if variabele == "VIR_WSS_KEY":
        env = {"SOFTHSM2_CONF": hsm["SOFTHSM2_CONF"], "VIR_WSS_KEY": uri, "VIR_WSS_CERT": hsm["VIR_LOG_CERT"]}
    else:
        env = {"SOFTHSM2_CONF": hsm["SOFTHSM2_CONF"], "VIR_LOG_KEY": uri, "VIR_LOG_CERT": hsm["VIR_LOG_CERT"]}
    srv = start_server(tmp / "gw", None, extra_env=env)
    cli_env = {**os.environ, "VIR_DATA_DIR": str(tmp / "gw" / "data")}
    r = run_cli("instantie", "profiel", A, "--certificaat", str(pki.client.cert_pad), "--wss", env=cli_env)
    assert r.returncode == 0, r.stderr
    return srv, env


def _post(srv: Server, envelope: bytes) -> requests.Response:
    return requests.post(srv.endpoint, data=envelope, headers={"Content-Type": "text/xml"}, timeout=60)


@pytest.mark.parametrize(("soort", "variabele"), [("rsa", "VIR_WSS_KEY"), ("ecdsa", "VIR_LOG_KEY")])
def test_a_token_key_signs_answers_that_xmlsec1_and_verifieer_accept(
    pki: Pki, tmp_path: Path, soort: str, variabele: str
) -> None:
    paar = pki.gateway if soort == "rsa" else pki.gateway_ec
    srv, _ = _gateway(tmp_path, pki, paar, variabele)
    try:
        verzoek = zeep_verzoek(pki.client, nu=datetime.now(UTC))
        r = _post(srv, verzoek)
        assert r.status_code == 200, r.text
        antwoord = etree.fromstring(r.content)
        verzoek_id = etree.fromstring(verzoek).findtext(f".//{{{WSA}}}MessageID")
        assert antwoord.findtext(f".//{{{WSA}}}RelatesTo") == verzoek_id
        methode = antwoord.find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureMethod")
        assert methode is not None and methode.get("Algorithm", "").endswith(f"{soort}-sha256")
        bestand = tmp_path / "antwoord.xml"
        bestand.write_bytes(r.content)
        uitkomst = _xmlsec1(bestand, paar.cert_pad, SOAP11)
        assert uitkomst.returncode == 0, uitkomst.stderr
        v = verifieer(r.content, paar.cert_pem, nu=datetime.now(UTC), gezien=lambda _: False)
        assert v.relates_to == verzoek_id
        # The other test key's certificate does not verify it: the token signed with this key.
        ander = pki.gateway_ec if soort == "rsa" else pki.gateway
        with pytest.raises(WssFout):
            verifieer(r.content, ander.cert_pem, nu=datetime.now(UTC), gezien=lambda _: False)
    finally:
        srv.stop()


def test_a_wrong_pin_is_a_fault_and_an_exit_code_without_traceback_or_pin(pki: Pki, tmp_path: Path) -> None:
    srv, env = _gateway(tmp_path, pki, pki.gateway, "VIR_WSS_KEY", pin="9876")
    try:
        r = _post(srv, zeep_verzoek(pki.client, nu=datetime.now(UTC)))
        assert r.status_code == 500 and fault_code_of(r) == "VIR-INTERN", r.text
        assert b"9876" not in r.content
    finally:
        srv.stop()
    log = srv.log.read_text()
    assert "PinIncorrect" in log and "9876" not in log, log[-2000:]
    # The conformance kit signs with the same key: it stops at once with exit code 3 and one line.
    kit = _kit(env)
    assert kit.returncode == 3, kit.stdout + kit.stderr
    assert "PKCS#11" in kit.stderr and "Traceback" not in kit.stderr and "9876" not in kit.stderr, kit.stderr
    assert len(kit.stderr.strip().splitlines()) == 1, kit.stderr
    # The right PIN, but a certificate that is not the token key's: refused before anything is signed.
    goed = {**env, "VIR_WSS_KEY": env["VIR_WSS_KEY"].split("&pin-value")[0] + "&pin-value=1234"}
    kit = _kit({**goed, "VIR_WSS_CERT": str(pki.ander.cert_pad)})
    assert kit.returncode == 3 and "does not belong to the certificate" in kit.stderr, kit.stdout + kit.stderr


def _kit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The conformance kit against a closed port, signing with the token key. Its own process: a PKCS#11
    library reads its token configuration once per process."""
    return subprocess.run(
        [sys.executable, "-m", "vir", "conformance", "federatie", "http://127.0.0.1:9/v1/federatie", *KIT],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
