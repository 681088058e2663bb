"""Identity from client certificates, in both deployments: the gateway terminating mutual TLS itself,
and a real nginx (Debian package) terminating it and forwarding the verified certificate."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport

from gateway import pki
from tests.support import (
    KP,
    ROOT,
    WSDL,
    A,
    B,
    C,
    DatabaseBezet,
    Server,
    bsn,
    fault_code,
    fault_code_of,
    free_port,
    log_size,
    log_tail,
    ping_body,
    run_cli,
    sg,
    start_server,
    stokt,
)

REFUSED = (requests.exceptions.SSLError, requests.exceptions.ConnectionError)


@dataclass
class Pki:
    map: Path
    ca: Path

    def paar(self, naam: str) -> tuple[str, str]:
        return (str(self.map / f"{naam}.pem"), str(self.map / f"{naam}-key.pem"))

    def env(self) -> dict[str, str]:
        d = self.map
        return {"VIR_TLS_CA": str(d / "ca.pem"), "VIR_TLS_CRL": str(d / "crl.pem"),
                "VIR_LOG_KEY": str(d / "log-key.pem"), "VIR_LOG_CERT": str(d / "log.pem"),
                "VIR_VSN_SLEUTEL": str(d / "vsn.sleutel"),
                "VIR_FEDERATIE_SLEUTEL": str(d / "federatie.sleutel")}  # fmt: skip


@pytest.fixture(scope="module")
def ontwikkel_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    r = subprocess.run(
        [sys.executable, "-m", "vir", "pki", "maak", str(d), "--oin", A, "--oin", B, "--oin", C],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    pki.client(d, A, geldig=-dt.timedelta(days=2), bestand="verlopen")
    r = run_cli("pki", "intrekken", str(d), C)
    assert r.returncode == 0, r.stderr
    vreemd = tmp_path_factory.mktemp("vreemd")
    pki.maak(vreemd, [A])  # a certificate for A's OIN from a CA we do not trust
    for naam in ("", "-key"):
        shutil.copy(vreemd / f"{A}{naam}.pem", d / f"vreemd{naam}.pem")
    return Pki(d, d / "ca.pem")


def kp_client(url: str, p: Pki, paar: tuple[str, str]) -> Any:
    session = requests.Session()
    session.trust_env = False  # a REQUESTS_CA_BUNDLE in the environment would replace our CA
    session.cert = paar
    session.verify = str(p.ca)
    c = zeep.Client(str(WSDL), transport=Transport(session=session, timeout=10))
    return c.create_service(f"{{{KP}}}KetenpartnerSoap11Binding", f"{url}/v1/ketenpartner")


@pytest.fixture(scope="module")
def tls_server(ontwikkel_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    d = ontwikkel_pki.map
    env = {**ontwikkel_pki.env(), "VIR_TLS_CERT": str(d / "server.pem"), "VIR_TLS_KEY": str(d / "server-key.pem")}
    health = {"cert": ontwikkel_pki.paar(A), "verify": str(ontwikkel_pki.ca)}
    srv = start_server(tmp_path_factory.mktemp("tls"), None, extra_env=env, scheme="https", health=health)
    yield srv
    srv.stop()


def test_without_a_valid_client_certificate_only_the_handshake_fails(tls_server: Server, ontwikkel_pki: Pki) -> None:
    p = ontwikkel_pki
    for cert in (None, p.paar("vreemd"), p.paar("verlopen"), p.paar(C)):  # none, foreign CA, expired, revoked
        for path in ("/health", "/v1/ketenpartner?wsdl"):
            with pytest.raises(REFUSED):
                requests.get(f"{tls_server.url}{path}", cert=cert, verify=str(p.ca), timeout=10)
        with pytest.raises(REFUSED):
            requests.post(f"{tls_server.url}/v1/ketenpartner", data=b"<x/>", cert=cert, verify=str(p.ca), timeout=10)
    assert requests.get(f"{tls_server.url}/health", cert=p.paar(A), verify=str(p.ca), timeout=10).text == "ok\n"


def test_the_certificate_decides_who_is_calling(tls_server: Server, ontwikkel_pki: Pki) -> None:
    a = kp_client(tls_server.url, ontwikkel_pki, ontwikkel_pki.paar(A))
    b = kp_client(tls_server.url, ontwikkel_pki, ontwikkel_pki.paar(B))
    assert a.Ping(stuurgegevens=sg(A)).versie
    with pytest.raises(zeep.exceptions.Fault) as exc:
        a.Ping(stuurgegevens=sg(B))
    assert fault_code(exc.value) == "VIR-ZENDER-ONJUIST"

    j = {"bsn": bsn()}
    # Outside development mode only designated professionals file, also for the demo organisations
    # (their designated professional is "demo"), and reads name a designated professional.
    with pytest.raises(zeep.exceptions.Fault) as exc:
        a.MeldingAfgeven(stuurgegevens=sg(A), jongere=j, meldingsbevoegde={"naam": "A. Professional"})
    assert fault_code(exc.value) == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN"
    mb = {"naam": "A. Professional", "medewerkerId": "demo"}
    ma = a.MeldingAfgeven(stuurgegevens=sg(A), jongere=j, meldingsbevoegde=mb)
    mb_b = b.MeldingAfgeven(stuurgegevens={**sg(B), "gebruiker": "demo"}, jongere=j, meldingsbevoegde={"naam": "B"})
    # A sees B only as the contact card of its own match, and cannot touch B's melding.
    voor = log_size(tls_server.db_url)
    with pytest.raises(zeep.exceptions.Fault) as exc:
        a.MatchesOpvragen(stuurgegevens={**sg(A), "gebruiker": "medewerker-0815"})
    assert fault_code(exc.value) == "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN"
    [match] = a.MatchesOpvragen(stuurgegevens={**sg(A), "gebruiker": "demo"}).match
    assert match.meldingId == ma.meldingId and [p.instantie.oin for p in match.partij] == [B]
    # The read is in the access log: who, on whose certificate, and which match of which melding.
    [inzage] = [r for r in log_tail(tls_server.db_url, voor + 1) if r["soort"] == "inzage"]
    gelezen = json.loads(bytes(inzage["payload"]))
    assert (inzage["actor"], inzage["operatie"]) == (A, "MatchesOpvragen")
    assert (gelezen["gebruiker"], gelezen["geauthenticeerd"]) == ("demo", A)
    assert gelezen["gezien"] == [{"meldingId": ma.meldingId, "matchId": match.matchId, "soort": "clientmatch"}]
    assert j["bsn"] not in json.dumps(gelezen)
    for op in ("MatchesOpvragen", "MeldingBeeindigen"):
        kw: dict[str, Any] = {"reden": "onterecht"} if op == "MeldingBeeindigen" else {}
        with pytest.raises(zeep.exceptions.Fault) as exc:
            getattr(a, op)(stuurgegevens={**sg(A), "gebruiker": "demo"}, meldingId=mb_b.meldingId, **kw)
        assert fault_code(exc.value) == "VIR-MELDING-NIET-EIGEN"

    # A suspended instantie is refused although its certificate is fine.
    env = {**os.environ, "VIR_DATA_DIR": str(Path(tls_server.db_url.removeprefix("sqlite:///")).parent)}
    assert run_cli("instantie", "profiel", A, "--schorsen", env=env).returncode == 0
    with pytest.raises(zeep.exceptions.Fault) as exc:
        a.Ping(stuurgegevens=sg(A))
    assert fault_code(exc.value) == "VIR-INSTANTIE-ONBEKEND"
    assert run_cli("instantie", "profiel", A, "--activeren", env=env).returncode == 0
    a.MeldingBeeindigen(stuurgegevens=sg(A), meldingId=ma.meldingId, reden="onterecht")
    b.MeldingBeeindigen(stuurgegevens=sg(B), meldingId=mb_b.meldingId, reden="onterecht")


def test_a_kept_connection_serves_request_after_request_and_a_revocation_still_counts(
    tls_server: Server, ontwikkel_pki: Pki
) -> None:
    """A client that keeps its connection does the mutual-TLS handshake once, not for every request. What
    the handshake established is not taken on trust for the connection's lifetime: each request on it is
    checked against the revocation list as it is now."""
    p = ontwikkel_pki
    ctx = ssl.create_default_context(cafile=str(p.ca))
    ctx.check_hostname = False
    ctx.load_cert_chain(*p.paar(B))
    host, poort = urllib.parse.urlsplit(tls_server.url).netloc.split(":")
    conn = http.client.HTTPSConnection(host, int(poort), context=ctx, timeout=10)
    headers = {"Content-Type": "text/xml; charset=utf-8"}

    def ping() -> tuple[int, bytes, str | None]:
        conn.request("POST", "/v1/ketenpartner", body=ping_body(B), headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Connection")

    antwoorden = []
    for _ in range(5):
        antwoorden.append(ping())
        if len(antwoorden) == 1:
            sock = conn.sock
            assert isinstance(sock, ssl.SSLSocket)
        assert conn.sock is sock, "the gateway closed the connection after an answer"
    gezien = [(status, b"PingResponse" in body, wat) for status, body, wat in antwoorden]
    assert gezien == [(200, True, "keep-alive")] * 5

    crl = p.map / "crl.pem"
    voor = crl.read_bytes()
    try:
        pki.intrekken(p.map, B)
        status, body, _ = ping()
        assert conn.sock is sock  # the same connection: its handshake passed before the revocation
        code = etree.fromstring(body).findtext(".//{urn:nl:vir:gateway:gegevens:v1}code")
        assert (status, code) == (403, "VIR-CERTIFICAAT-ONGELDIG")
        # A new connection does not get past the handshake: the workers' TLS context follows the file.
        for _ in range(4):  # more than there are workers
            with pytest.raises(REFUSED):
                requests.get(f"{tls_server.url}/health", cert=p.paar(B), verify=str(p.ca), timeout=10)
    finally:
        crl.write_bytes(voor)
        conn.close()
    # B's next connection is heard again: its certificate is no longer revoked.
    b = kp_client(tls_server.url, p, p.paar(B))
    assert b.Ping(stuurgegevens=sg(B)).versie


def _ping_als_a(url: str, p: Pki, *, lees_s: float) -> None:
    """A's Ping over a new mutual-TLS connection, answered within ``lees_s`` seconds of reading."""
    r = requests.post(
        f"{url}/v1/ketenpartner",
        data=ping_body(A),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        cert=p.paar(A),
        verify=str(p.ca),
        timeout=(5, lees_s),
    )
    assert r.status_code == 200 and b"PingResponse" in r.content


def test_a_client_that_completes_the_handshake_and_sends_nothing_does_not_hold_up_a_worker(
    tls_server: Server, ontwikkel_pki: Pki
) -> None:
    """A browser opens connections ahead of need: the handshake done, no request yet. They wait in the workers'
    pollers, not in the thread that runs requests, so with more of them than there are workers the next
    client is still answered (within a read timeout shorter than the keepalive time after which the silent ones
    are closed; a worker that waited for them would never answer, or only after that)."""
    p = ontwikkel_pki
    ctx = ssl.create_default_context(cafile=str(p.ca))
    ctx.check_hostname = False
    ctx.load_cert_chain(*p.paar(A))
    host, poort = urllib.parse.urlsplit(tls_server.url).netloc.split(":")
    stil = []
    try:
        for _ in range(6):
            s = ctx.wrap_socket(socket.create_connection((host, int(poort)), timeout=10))
            stil.append(s)  # the handshake is done (wrap_socket of a connected socket does it)
        for _ in range(4):
            _ping_als_a(tls_server.url, p, lees_s=1.5)
    finally:
        for s in stil:
            s.close()


def test_a_client_that_stops_in_the_middle_of_its_request_is_let_go_over_tls(
    ontwikkel_pki: Pki, tmp_path: Path
) -> None:
    """A chain partner's client that stops halfway through its request over a kept TLS connection (in its
    headers, in its body) has its connection closed after ``VIR_READ_TIMEOUT_S`` of silence; the one worker goes
    on serving, without the worker timeout (60 s here) that ended it before."""
    p = ontwikkel_pki
    d = p.map
    env = {
        **p.env(),
        "VIR_TLS_CERT": str(d / "server.pem"),
        "VIR_TLS_KEY": str(d / "server-key.pem"),
        "VIR_READ_TIMEOUT_S": "1",
    }
    health = {"cert": p.paar(A), "verify": str(p.ca)}
    srv = start_server(tmp_path, None, workers=1, extra_env=env, scheme="https", health=health)
    ctx = ssl.create_default_context(cafile=str(p.ca))
    ctx.check_hostname = False
    ctx.load_cert_chain(*p.paar(A))
    host, poort = urllib.parse.urlsplit(srv.url).netloc.split(":")
    body = ping_body(A)
    kop = (
        f"POST /v1/ketenpartner HTTP/1.1\r\nHost: gateway\r\nContent-Type: text/xml; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    try:
        for eerste in (kop[:30], kop + body[:40]):
            with contextlib.closing(ctx.wrap_socket(socket.create_connection((host, int(poort)), timeout=8))) as s:
                s.sendall(kop + body)  # a whole request first: the connection is kept
                antwoord = b""
                while b"Envelope>" not in antwoord:  # the answer's header and body come in records of their own
                    antwoord += s.recv(65536)
                assert b"PingResponse" in antwoord
                stokt(s, eerste)
            _ping_als_a(srv.url, p, lees_s=8)
    finally:
        srv.stop()
    log = srv.log.read_text()
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log
    assert log.count("a client sent nothing for VIR_READ_TIMEOUT_S in the middle of its request") == 2


def test_a_stopping_gateway_finishes_the_request_it_has_begun_also_after_refused_handshakes(
    ontwikkel_pki: Pki, tmp_path: Path
) -> None:
    """SIGTERM lets a worker finish the request it is running (gunicorn's graceful timeout) and then stop
    cleanly, also a worker that refused connections at the handshake before."""
    d = ontwikkel_pki.map
    env = {**ontwikkel_pki.env(), "VIR_TLS_CERT": str(d / "server.pem"), "VIR_TLS_KEY": str(d / "server-key.pem")}
    health = {"cert": ontwikkel_pki.paar(A), "verify": str(ontwikkel_pki.ca)}
    srv = start_server(tmp_path, None, workers=1, extra_env=env, scheme="https", health=health)
    try:
        for _ in range(5):
            with pytest.raises(REFUSED):
                requests.get(
                    f"{srv.url}/health", cert=ontwikkel_pki.paar("vreemd"), verify=str(d / "ca.pem"), timeout=10
                )
        a = kp_client(srv.url, ontwikkel_pki, ontwikkel_pki.paar(A))
        uitkomst: list[Any] = []

        def afgeven() -> None:
            try:
                uitkomst.append(
                    a.MeldingAfgeven(
                        stuurgegevens={**sg(A), "gebruiker": "demo"},
                        jongere={"bsn": bsn()},
                        meldingsbevoegde={"naam": "A"},
                    ).meldingId
                )
            except Exception as exc:  # what the client saw is the outcome
                uitkomst.append(exc)

        with DatabaseBezet(srv.db_url):
            draad = threading.Thread(target=afgeven)
            draad.start()
            time.sleep(1.0)  # the filing waits for the database now
            srv.proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
        draad.join(30)
        assert len(uitkomst) == 1 and isinstance(uitkomst[0], str), uitkomst
        assert srv.proc.wait(30) == 0
    finally:
        srv.stop()


# --- nginx in front ---------------------------------------------------------------------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_conf(tmp: Path, p: Pki, poort: int, gateway_poort: int) -> Path:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(exist_ok=True)
    d = p.map
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
user root;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  upstream gateway {{
    server 127.0.0.1:{gateway_poort};
    keepalive 4;
    keepalive_timeout 20s;
  }}
  server {{
    listen 127.0.0.1:{poort} ssl;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server-key.pem;
    ssl_client_certificate {d}/ca.pem;
    ssl_verify_client on;
    ssl_crl {d}/crl.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    client_max_body_size 5m;
    location / {{
      proxy_pass http://gateway;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_bind 127.0.0.2;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
      proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
    }}
  }}
}}
""")
    return conf


@pytest.fixture(scope="module")
def achter_nginx(ontwikkel_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Server]]:
    tmp = tmp_path_factory.mktemp("nginx")
    # nginx keeps its connections to the gateway (nginx_conf), so the gateway keeps them too.
    env = {**ontwikkel_pki.env(), "VIR_PROXY_ADRESSEN": "127.0.0.2", "VIR_KEEPALIVE_S": "30"}
    srv = start_server(tmp / "gateway", None, extra_env=env)
    poort = free_port()
    conf = nginx_conf(tmp, ontwikkel_pki, poort, int(srv.url.rsplit(":", 1)[1]))
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    url = f"https://127.0.0.1:{poort}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/health", cert=ontwikkel_pki.paar(A), verify=str(ontwikkel_pki.ca), timeout=2)
            break
        except requests.exceptions.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                if proc.stderr:
                    proc.stderr.close()
                srv.stop()
                raise RuntimeError("nginx did not start (see its error.log in the test's directory)") from None
            time.sleep(0.1)
    yield url, srv
    proc.terminate()
    proc.wait(10)
    if proc.stderr:
        proc.stderr.close()
    srv.stop()


def _van_nginx(poort: int) -> set[int]:
    """The source ports of nginx's open connections (from 127.0.0.2) to the gateway's port."""
    uit = set()
    for regel in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        lokaal, ander, staat = regel.split()[1:4]
        if staat == "01" and lokaal == f"0100007F:{poort:04X}" and ander.startswith("0200007F:"):
            uit.add(int(ander.split(":")[1], 16))
    return uit


def test_nginx_forwards_the_verified_certificate(achter_nginx: tuple[str, Server], ontwikkel_pki: Pki) -> None:
    url, srv = achter_nginx
    p = ontwikkel_pki
    a = kp_client(url, p, p.paar(A))
    b = kp_client(url, p, p.paar(B))
    assert a.Ping(stuurgegevens=sg(A)).versie
    with pytest.raises(zeep.exceptions.Fault) as exc:
        a.Ping(stuurgegevens=sg(B))
    assert fault_code(exc.value) == "VIR-ZENDER-ONJUIST"
    # nginx keeps its connections to the gateway: each request still carries its own client's certificate.
    poort = int(srv.url.rsplit(":", 1)[1])
    voor = _van_nginx(poort)
    for _ in range(3):
        assert b.Ping(stuurgegevens=sg(B)).versie
        with pytest.raises(zeep.exceptions.Fault) as exc:
            b.Ping(stuurgegevens=sg(A))
        assert fault_code(exc.value) == "VIR-ZENDER-ONJUIST"
        assert a.Ping(stuurgegevens=sg(A)).versie
    kept = _van_nginx(poort)
    assert kept and len(kept - voor) <= 2, "nginx opened a connection to the gateway per request"
    # nginx refuses what has no valid certificate; the gateway never sees it.
    for cert in (None, p.paar("vreemd"), p.paar("verlopen"), p.paar(C)):
        try:
            r = requests.post(f"{url}/v1/ketenpartner", data=b"<x/>", cert=cert, verify=str(p.ca), timeout=10)
        except REFUSED:
            continue
        assert r.status_code == 400 and b"Envelope" not in r.content


def test_forwarded_certificates_only_from_the_proxy(achter_nginx: tuple[str, Server], ontwikkel_pki: Pki) -> None:
    _, srv = achter_nginx
    pem = urllib.parse.quote((ontwikkel_pki.map / f"{A}.pem").read_text())
    envelope = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body><kp:Ping>
<kp:stuurgegevens><g:berichtId>6f1c1f9e-5e8f-4b8e-9d3c-0a1b2c3d4e5f</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{A}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens></kp:Ping></soap:Body>
</soap:Envelope>""".encode()
    headers = {"Content-Type": "text/xml", "X-SSL-Client-Cert": pem, "X-SSL-Client-Verify": "SUCCESS"}
    r = requests.post(f"{srv.url}/v1/ketenpartner", data=envelope, headers=headers, timeout=10)
    assert (r.status_code, fault_code_of(r)) == (403, "VIR-PROXY-NIET-VERTROUWD")
    r = requests.get(f"{srv.url}/v1/ketenpartner?wsdl", headers=headers, timeout=10)
    assert r.status_code == 403


def test_the_gateway_checks_the_forwarded_certificate_again(
    achter_nginx: tuple[str, Server], ontwikkel_pki: Pki
) -> None:
    """A proxy that forwards what it should not have accepted (expired, revoked, foreign CA, no OIN
    verdict): the gateway checks issuer, validity and the CRL itself."""
    import http.client

    _, srv = achter_nginx
    host, poort = srv.url.removeprefix("http://").split(":")
    body = (ROOT / "docs" / "examples" / "melding-a.xml").read_bytes()

    def als_proxy(naam: str, verify: str = "SUCCESS") -> tuple[int, str | None]:
        pem = urllib.parse.quote((ontwikkel_pki.map / f"{naam}.pem").read_text())
        conn = http.client.HTTPConnection(host, int(poort), timeout=10, source_address=("127.0.0.2", 0))
        headers = {"Content-Type": "text/xml", "X-SSL-Client-Cert": pem, "X-SSL-Client-Verify": verify}
        conn.request("POST", "/v1/ketenpartner", body=body, headers=headers)
        r = conn.getresponse()
        inhoud = r.read()
        conn.close()
        code = etree.fromstring(inhoud).findtext(".//{urn:nl:vir:gateway:gegevens:v1}code")
        return r.status, code

    for naam in ("verlopen", C, "vreemd"):
        assert als_proxy(naam) == (403, "VIR-CERTIFICAAT-ONGELDIG"), naam
    assert als_proxy(A, verify="FAILED:certificate has expired") == (403, "VIR-CERTIFICAAT-ONGELDIG")
    assert als_proxy(A)[1] != "VIR-CERTIFICAAT-ONGELDIG"


def test_a_peer_calls_the_federation_service_with_its_certificate(tls_server: Server, ontwikkel_pki: Pki) -> None:
    """Federation over mutual TLS: the peer's gateway presents its client certificate and signs with its
    registered certificate (here B's OIN stands in for a peer gateway); a delivery claiming another sender is
    refused. The probes of impostors are in tests/test_federatie_toegang.py."""
    import uuid as _uuid

    from federation.client import DeliveryError, PeerClient
    from federation.ondertekening import Ondertekenen

    p = ontwikkel_pki
    env = {**os.environ, "VIR_DATA_DIR": str(Path(tls_server.db_url.removeprefix("sqlite:///")).parent), **p.env()}
    r = run_cli("federatie", "peer", "add", "--systeem", "ZVJ", "--url", "https://127.0.0.1:9/v1/federatie", "--oin", B,
                "--certificaat", p.paar(B)[0], env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    tls = {"cert": p.paar(B), "verify": str(p.ca)}
    plugins = [Ondertekenen(Path(p.paar(B)[1]).read_bytes(), Path(p.paar(B)[0]).read_bytes())]
    # A node stores another system's melding only on a youth it holds a melding on itself (docs/federation.md).
    youth = bsn()
    kp_client(tls_server.url, p, p.paar(A)).MeldingAfgeven(
        stuurgegevens=sg(A),
        jongere={"bsn": youth},
        meldingsbevoegde={"naam": "A. Professional", "medewerkerId": "demo"},
    )
    inhoud = {
        "bron": {"systeem": "ZVJ", "meldingId": str(_uuid.uuid4()), "versie": 1},
        "jongere": f"bsn:{youth}",
        "contactkaart": {"oin": "00000009777777777000", "naam": "Jeugdteam", "vestiging": None,
                         "meldingsbevoegde": {"naam": "P. Peer", "functie": None, "telefoon": None, "email": None},
                         "bronsysteem": "ECD"},
        "geplandeEinddatum": (dt.date.today() + dt.timedelta(days=300)).isoformat(),
    }  # fmt: skip
    url = f"{tls_server.url}/v1/federatie"
    peer = PeerClient(url, "00000001000000000000", eigen_systeem="ZVJ", eigen_oin=B, timeout=10, tls=tls,
                      plugins=plugins)  # fmt: skip
    assert peer.forward("doorgeven", inhoud).verwerkt
    ander = PeerClient(url, "00000001000000000000", eigen_systeem="ZVJ", eigen_oin=A, timeout=10, tls=tls,
                       plugins=plugins)  # fmt: skip
    with pytest.raises(DeliveryError, match="VIR-ZENDER-ONJUIST"):
        ander.forward("intrekken", {"bron": {**inhoud["bron"], "versie": 2}})
    zonder = PeerClient(url, "00000001000000000000", eigen_systeem="ZVJ", eigen_oin=B, timeout=10,
                        tls={"verify": str(p.ca)})  # fmt: skip
    with pytest.raises(DeliveryError, match="unreachable"):
        zonder.forward("intrekken", {"bron": {**inhoud["bron"], "versie": 2}})
