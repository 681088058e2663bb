"""The worker ``serve`` runs (``gateway.server.Werker``): connections a client keeps, for as long as
``VIR_KEEPALIVE_S`` says; a client that sends nothing does not hold up the one thread that runs requests; and a
request that hangs ends its worker (``VIR_WORKER_TIMEOUT_S``), after which its retry is answered once and the
log verifies. The TLS side (a kept connection over mutual TLS, a revocation on it) is in ``tests/test_tls.py``."""

from __future__ import annotations

import http.client
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import create_engine, text

from gateway.config import from_env
from tests.support import NS, A, DatabaseBezet, Server, bsn, melding_body, ping_body, run_cli, start_server, stokt

KOP = {"Content-Type": "text/xml; charset=utf-8"}


def _verbinding(server: Server) -> http.client.HTTPConnection:
    host, poort = server.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(poort), timeout=10)


def _ping_op(conn: http.client.HTTPConnection) -> tuple[int, str | None]:
    conn.request("POST", "/v1/ketenpartner", body=ping_body(A), headers=KOP)
    r = conn.getresponse()
    body = r.read()
    assert b"PingResponse" in body, body[:300]
    return r.status, r.getheader("Connection")


def test_a_client_keeps_its_connection_for_the_keepalive_time(tmp_path: Path) -> None:
    srv = start_server(tmp_path, None, workers=1, extra_env={"VIR_KEEPALIVE_S": "1"})
    try:
        conn = _verbinding(srv)
        assert _ping_op(conn) == (200, "keep-alive")
        sock = conn.sock
        assert sock is not None
        assert _ping_op(conn) == (200, "keep-alive")
        assert conn.sock is sock  # the second request came over the first one's connection
        # Idle past VIR_KEEPALIVE_S, the gateway closes it: the client reads the end of the connection, not a
        # timeout (10 s).
        sock.settimeout(10)
        assert sock.recv(1) == b""
        conn.close()
        # A request that asks for it gets its connection closed with the answer.
        conn = _verbinding(srv)
        conn.request("POST", "/v1/ketenpartner", body=ping_body(A), headers={**KOP, "Connection": "close"})
        r = conn.getresponse()
        assert (r.status, r.getheader("Connection"), b"PingResponse" in r.read()) == (200, "close", True)
        assert conn.sock is None
    finally:
        srv.stop()


def test_keepalive_is_on_where_the_gateway_terminates_tls_and_off_elsewhere(tmp_path: Path) -> None:
    """A handshake costs more than a filing, so with TLS at the gateway clients keep their connections by
    default; on loopback or behind a proxy a connection costs little, and one per request lets the kernel give
    each request to whichever worker is free."""
    assert from_env({}).keepalive == 0
    assert from_env({"VIR_PROXY_ADRESSEN": "10.0.0.1"}).keepalive == 0
    tls = {"VIR_TLS_CERT": str(tmp_path / "s.pem"), "VIR_TLS_KEY": str(tmp_path / "k.pem")}
    assert from_env(tls).keepalive == 2
    assert from_env({**tls, "VIR_KEEPALIVE_S": "0"}).keepalive == 0
    assert from_env({"VIR_KEEPALIVE_S": "30"}).keepalive == 30
    for fout in ("-1", "301"):
        with pytest.raises(ValueError, match="VIR_KEEPALIVE_S"):
            from_env({"VIR_KEEPALIVE_S": fout})
    for fout in ("0", "1"):
        with pytest.raises(ValueError, match="VIR_WORKER_TIMEOUT_S"):
            from_env({"VIR_WORKER_TIMEOUT_S": fout})
    assert from_env({"VIR_WORKER_TIMEOUT_S": "2"}).worker_timeout == 2
    # The read timeout: 10 s by default, 1 or more, and below the worker timeout, which it must come before.
    assert from_env({}).stilte == 10
    assert from_env({"VIR_READ_TIMEOUT_S": "30"}).stilte == 30
    assert from_env({"VIR_READ_TIMEOUT_S": "30", "VIR_WORKER_TIMEOUT_S": "20"}).stilte == 19
    assert from_env({"VIR_WORKER_TIMEOUT_S": "2"}).stilte == 1
    with pytest.raises(ValueError, match="VIR_READ_TIMEOUT_S"):
        from_env({"VIR_READ_TIMEOUT_S": "0"})


def test_a_client_that_sends_nothing_does_not_hold_up_the_worker(tmp_path: Path) -> None:
    """Connections that say nothing (a browser opens some ahead of need) wait in the worker's poller, not in the
    thread that runs requests: with more of them than the gateway has workers, requests are still answered
    (the read timeout below is far shorter than the keepalive time after which the silent ones are closed)."""
    server = start_server(tmp_path, None, extra_env={"VIR_KEEPALIVE_S": "20"})
    host, poort = server.url.removeprefix("http://").split(":")
    stil = [socket.create_connection((host, int(poort)), timeout=10) for _ in range(6)]
    try:
        for _ in range(4):
            r = requests.post(server.endpoint, data=ping_body(A), headers=KOP, timeout=(5, 4))
            assert r.status_code == 200
    finally:
        for s in stil:
            s.close()
        server.stop()


HALVE_MELDING = (
    b"POST /v1/ketenpartner HTTP/1.1\r\nHost: gateway\r\nContent-Type: text/xml; charset=utf-8\r\n"
    b"Content-Length: 2000\r\n\r\n<soap:Envelope"
)


@pytest.mark.parametrize("keepalive", ["0", "2"])  # sync workers, and the gateway's own
def test_a_client_that_stops_in_the_middle_of_its_request_is_let_go_and_the_worker_serves_on(
    keepalive: str, tmp_path: Path
) -> None:
    """A client that stops sending in its request line, its headers or its body (a crashed client, a
    hostile one) has its connection closed after ``VIR_READ_TIMEOUT_S`` of silence, and the one worker goes on
    serving: before, it held the worker until the worker timeout (here 60 s) ended it, and every connection the
    worker held. Nothing of the unfinished request is stored. The timeout counts from each read: a client that
    sends its body in pieces, each within it, is answered however long the whole takes."""
    srv = start_server(tmp_path, None, workers=1, extra_env={"VIR_READ_TIMEOUT_S": "1", "VIR_KEEPALIVE_S": keepalive})
    host, poort = srv.url.removeprefix("http://").split(":")
    try:
        # Silent from the start (the gateway's own worker leaves that to its poller, closed after the keepalive
        # time), stopped in the headers, stopped in the body.
        stil = [b""] if keepalive == "0" else []
        begin = [*stil, b"POST /v1/ketenpartner HTTP/1.1\r\nHost: gate", HALVE_MELDING]
        for eerste in begin:
            stokt(socket.create_connection((host, int(poort)), timeout=8), eerste)
            r = requests.post(srv.endpoint, data=ping_body(A), headers=KOP, timeout=(5, 8))
            assert r.status_code == 200 and b"PingResponse" in r.content

        # Slow but steady: the body in six pieces, 0.5 s apart (3 s in all, three times the read timeout).
        body = melding_body(str(uuid.uuid4()), A, bsn())
        s = socket.create_connection((host, int(poort)), timeout=15)
        try:
            kop = (
                f"POST /v1/ketenpartner HTTP/1.1\r\nHost: gateway\r\nContent-Type: text/xml; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            s.sendall(kop)
            stuk = -(-len(body) // 6)
            for i in range(0, len(body), stuk):
                time.sleep(0.5)
                s.sendall(body[i : i + stuk])
            antwoord = b""
            while deel := s.recv(65536):
                antwoord += deel
        finally:
            s.close()
        assert antwoord.startswith(b"HTTP/1.1 200") and b"MeldingAfgevenResponse" in antwoord, antwoord[:300]
    finally:
        srv.stop()
    log = srv.log.read_text()
    assert "WORKER TIMEOUT" not in log
    assert log.count("a client sent nothing for VIR_READ_TIMEOUT_S in the middle of its request") == len(begin)
    assert "Traceback" not in log
    engine = create_engine(srv.db_url)
    try:
        with engine.connect() as conn:  # the slow filing, and nothing of the unfinished one
            assert conn.execute(text("SELECT count(*) FROM melding")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM bericht")).scalar_one() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("keepalive", ["0", "2"])  # sync workers, and the gateway's own
def test_a_request_that_hangs_ends_its_worker_and_its_retry_is_answered_once(
    db_url: str | None, keepalive: str, tmp_path: Path
) -> None:
    env = {"VIR_WORKER_TIMEOUT_S": "2", "VIR_KEEPALIVE_S": keepalive}
    srv = start_server(tmp_path, db_url, workers=1, extra_env=env)
    bericht_id, nummer = str(uuid.uuid4()), bsn()
    body = melding_body(bericht_id, A, nummer)
    try:
        # The filing waits for the database far longer than VIR_WORKER_TIMEOUT_S: the arbiter ends the worker,
        # and the client sees its connection end without an answer, or (a sync worker that could still write
        # one) gunicorn's HTTP 500; not its own 60 s timeout.
        with DatabaseBezet(srv.db_url):
            try:
                status: int | None = requests.post(srv.endpoint, data=body, headers=KOP, timeout=(5, 60)).status_code
            except requests.ConnectionError:
                status = None
        assert status in (None, 500)
        assert "WORKER TIMEOUT" in srv.log.read_text()
        # A new worker serves; the retry under the same berichtId is filed, and answered the same way again.
        antwoorden = []
        for _ in range(2):
            r = requests.post(srv.endpoint, data=body, headers=KOP, timeout=30)
            assert r.status_code == 200, r.text[:300]
            antwoorden.append(etree.fromstring(r.content).findtext(".//kp:meldingId", namespaces=NS))
        assert antwoorden[0] is not None and antwoorden[0] == antwoorden[1]
    finally:
        srv.stop()

    engine = create_engine(srv.db_url)
    try:
        with engine.connect() as conn:
            meldingen = conn.execute(text("SELECT melding_id FROM melding")).scalars().all()
            berichten = conn.execute(text("SELECT count(*) FROM bericht")).scalar_one()
    finally:
        engine.dispose()
    assert (meldingen, berichten) == ([antwoorden[0]], 1)
    env = {**os.environ, "VIR_DATA_DIR": str(tmp_path / "data"), "VIR_OPERATOR": "test"}
    if db_url:
        env["VIR_DATABASE_URL"] = db_url
    verify = run_cli("log", "verify", "--workers", "1", env=env, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
