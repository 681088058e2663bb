"""Helpers for tests: a real gateway process on port 0, BSNs, envelopes, and database snapshots."""

from __future__ import annotations

import io
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import zeep
from lxml import etree
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
WSDL = ROOT / "wsdl" / "ketenpartner.wsdl"
XSD = ROOT / "schemas" / "xsd" / "ketenpartner-v1.xsd"
GATEWAY_OIN = "00000001000000000000"
A, B, C = "00000001111111111000", "00000001222222222000", "00000001333333333000"
KP = "urn:nl:vir:gateway:ketenpartner:v1"
G = "urn:nl:vir:gateway:gegevens:v1"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = {"kp": KP, "g": G, "s11": SOAP11, "s12": SOAP12}
TABLES = ("instantie", "jongere", "melding", "match", "signaal", "bericht", "afstemming", "telling")

_bsn_rng = random.Random(os.getpid() ^ time.time_ns())
# BSNs are handed out from a counter (with a random start per run) so that no two calls in a run ever
# give the same one: random draws collide (birthday bound) once a load test files tens of thousands.
_bsn_next = itertools.count(_bsn_rng.randrange(10_000_000, 80_000_000))
_bsn_lock = threading.Lock()
_counter = itertools.count()


def bsn() -> str:
    """A fresh BSN that passes the eleven-test, unique within the test run."""
    with _bsn_lock:
        while True:
            digits = [int(c) for c in f"{next(_bsn_next):08d}"]
            total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
            last = total % 11
            if last < 10:
                return "".join(map(str, digits)) + str(last)


def invalid_bsn() -> str:
    good = bsn()
    return good[:8] + str((int(good[8]) + 1) % 10)


@dataclass
class Server:
    url: str
    db_url: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def endpoint(self) -> str:
        return f"{self.url}/v1/ketenpartner"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(
    tmp: Path,
    db_url: str | None,
    *,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    scheme: str = "http",
    health: dict[str, Any] | None = None,
) -> Server:
    """``scheme``/``health``: for a TLS gateway, https and the requests options (client certificate,
    CA) that the health check needs."""
    tmp.mkdir(parents=True, exist_ok=True)
    port_file = tmp / f"port-{next(_counter)}"
    log = tmp / f"server-{next(_counter)}.log"
    env = {**os.environ, "VIR_DATA_DIR": str(tmp / "data"), **(extra_env or {})}
    if db_url:
        env["VIR_DATABASE_URL"] = db_url
    cmd = [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--demo",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--workers",
        str(workers),
        *args,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"gateway did not start:\n{log.read_text()}")
        time.sleep(0.05)
    url = f"{scheme}://127.0.0.1:{port_file.read_text()}"
    while True:
        try:
            if requests.get(f"{url}/health", timeout=2, **(health or {})).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):  # workers still booting on a busy machine
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"gateway not healthy:\n{log.read_text()}")
        time.sleep(0.05)
    resolved = db_url or f"sqlite:///{tmp / 'data' / 'vir-gateway.sqlite3'}"
    return Server(url, resolved, proc, log)


def free_port() -> int:
    """A port that nothing listens on right now, for an endpoint that starts later. It lies below the
    ephemeral range: a client connecting to a closed ephemeral port can be given that same port as
    its own source port and connect to itself (TCP simultaneous open)."""
    for _ in range(100):
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def client(server: Server, soap12: bool = False) -> Any:
    """A zeep service proxy built from the committed WSDL, pointed at the server."""
    c = zeep.Client(str(WSDL))
    binding = "KetenpartnerSoap12Binding" if soap12 else "KetenpartnerSoap11Binding"
    return c.create_service(f"{{{KP}}}{binding}", server.endpoint)


def sg(oin: str, bericht_id: str | None = None, ontvanger: str = GATEWAY_OIN) -> dict[str, Any]:
    return {
        "berichtId": bericht_id or str(uuid.uuid4()),
        "tijdstip": datetime.now(UTC),
        "zender": {"oin": oin, "applicatie": "test-ECD"},
        "ontvanger": {"oin": ontvanger},
    }


def fault_code(exc: zeep.exceptions.Fault) -> str:
    assert exc.detail is not None, "a fault must carry a detail"
    code = exc.detail.find(f"{{{G}}}fout/{{{G}}}code")
    assert code is not None, etree.tostring(exc.detail)
    return str(code.text)


def snapshot(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a rejected request changed nothing."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in TABLES}
    finally:
        engine.dispose()


def post(server: Server, body: bytes, content_type: str = "text/xml; charset=utf-8") -> requests.Response:
    return requests.post(server.endpoint, data=body, headers={"Content-Type": content_type}, timeout=30)


def fault_code_of(response: requests.Response) -> str | None:
    doc = etree.fromstring(response.content)
    code = doc.find(f".//{{{G}}}fout/{{{G}}}code")
    return code.text if code is not None else None


def log_tail(db_url: str, after: int) -> list[dict[str, Any]]:
    """The log entries with volgnummer >= after, as dicts."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT volgnummer, soort, operatie, actor, foutcode, bericht_id, kruisverwijzing, payload "
                    "FROM logregel WHERE volgnummer >= :a ORDER BY volgnummer"
                ),
                {"a": after},
            )
            return [dict(r._mapping) for r in rows]
    finally:
        engine.dispose()


def log_size(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT grootte FROM loghoofd WHERE id = 1")).scalar_one())
    finally:
        engine.dispose()


def wsgi_post(app: Any, body: bytes, content_type: str = "text/xml; charset=utf-8") -> tuple[str, bytes]:
    """One POST to the chain-partner path through the WSGI interface, as gunicorn would make it."""
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "PATH_INFO": "/v1/ketenpartner",
        "QUERY_STRING": "",
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    out = b"".join(app(environ, lambda s, h, *a: status.append(s)))
    return status[0], out
