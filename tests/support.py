"""Helpers for tests: a real gateway process on port 0, BSNs, envelopes, and database snapshots."""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import zeep
from lxml import etree
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import Pool

from tests import zygote

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
_cli_lock = threading.Lock()
_cli_pools: set[Pool] | None = None  # while run_cli runs: the pools its command connected through


@event.listens_for(Engine, "engine_connect")
def _note_pool(conn: Connection) -> None:
    if _cli_pools is not None:
        _cli_pools.add(conn.engine.pool)


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
    proc: zygote.Process | subprocess.Popen[bytes]
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
    argv = ["serve", "--demo", "--port", "0", "--port-file", str(port_file), "--workers", str(workers), *args]
    proc = zygote.start(argv, env, tmp, log)
    # A generous bound: on a busy shared machine three interpreters importing everything take a while.
    deadline = time.monotonic() + 120
    try:
        while not port_file.exists() or not port_file.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start:\n{log.read_text()}")
            time.sleep(0.05)
        url = f"{scheme}://127.0.0.1:{port_file.read_text()}"
        while True:
            try:
                if requests.get(f"{url}/health", timeout=5, **(health or {})).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or too busy starting to answer
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway not healthy:\n{log.read_text()}")
            time.sleep(0.05)
    except BaseException:
        Server("", "", proc, log).stop()  # never leave a half-started gateway behind
        raise
    resolved = db_url or f"sqlite:///{tmp / 'data' / 'vir-gateway.sqlite3'}"
    return Server(url, resolved, proc, log)


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``vir-gateway ARGS`` in this process, as ``subprocess.run(…, capture_output=True, text=True)`` would
    run it: ``env`` replaces the environment and ``cwd`` the working directory for the call, stdout and
    stderr are captured, and a usage error is exit code 2. Starting an interpreter costs more than most
    commands take; ``tests/test_cli.py`` and one test per command run the real process.

    A command leaves its engine for the process exit to close; here its pools are closed after the call,
    or the garbage collector would meet open connections (a ResourceWarning from Python 3.13)."""
    from vir.cli import main

    global _cli_pools
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    with _cli_lock:
        _cli_pools = set()
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        saved_handlers, saved_level = root.handlers[:], root.level
        try:
            if env is not None:
                os.environ.clear()
                os.environ.update(env)
            if cwd is not None:
                os.chdir(cwd)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(list(args))
                except SystemExit as exc:  # argparse: usage errors and --help
                    code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
            pools, _cli_pools = _cli_pools, None
            for pool in pools:
                pool.dispose()
    return subprocess.CompletedProcess(["vir-gateway", *args], code, out.getvalue(), err.getvalue())


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


class DatabaseBezet:
    """Another writer holds the database, so that a filing waits for it (SQLite: a write transaction of its
    own; PostgreSQL: a lock on the table every filing writes to first)."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._los: Any = None

    def __enter__(self) -> DatabaseBezet:
        if self.db_url.startswith("sqlite"):
            conn = sqlite3.connect(self.db_url.removeprefix("sqlite:///"), isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            self._los = conn
        else:
            engine = create_engine(self.db_url)
            conn = engine.connect()
            conn.execute(text("LOCK TABLE bericht IN EXCLUSIVE MODE"))
            self._los = (engine, conn)
        return self

    def __exit__(self, *_: object) -> None:
        if isinstance(self._los, sqlite3.Connection):
            self._los.rollback()
            self._los.close()
        else:
            engine, conn = self._los
            conn.rollback()
            conn.close()
            engine.dispose()


def melding_body(bericht_id: str, oin: str, nummer: str) -> bytes:
    """A MeldingAfgeven envelope as a record system sends it (SOAP 1.1)."""
    return f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>
<kp:MeldingAfgeven><kp:stuurgegevens><g:berichtId>{bericht_id}</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{oin}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>
<kp:jongere><g:bsn>{nummer}</g:bsn></kp:jongere>
<kp:meldingsbevoegde><g:naam>Anna de Vries</g:naam><g:telefoon>050-1234567</g:telefoon></kp:meldingsbevoegde>
</kp:MeldingAfgeven></soap:Body></soap:Envelope>""".encode()


def ping_body(oin: str) -> bytes:
    """A Ping envelope from ``oin`` with a new berichtId (SOAP 1.1)."""
    return f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body><kp:Ping>
<kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>
<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip><g:zender><g:oin>{oin}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens></kp:Ping></soap:Body>
</soap:Envelope>""".encode()


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


def tree_size(db_url: str) -> int:
    """Entries in the log's tree (the head's size): on PostgreSQL the sequencer takes new entries in later."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT grootte FROM loghoofd WHERE id = 1")).scalar_one())
    finally:
        engine.dispose()


def log_size(db_url: str) -> int:
    """Entries in the log so far: one more than the highest number stored (on PostgreSQL the newest entries
    may not be in the tree yet, so the head's size can be smaller)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT coalesce(max(volgnummer) + 1, 0) FROM logregel")).scalar_one())
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


_ADDRESS = re.compile(rb'(<soap(?:12)?:address\s+location=")([^"]*)(")')


def addresses(wsdl: bytes) -> list[str]:
    """The ``location`` of every soap:address and soap12:address, in document order."""
    doc = etree.fromstring(wsdl)
    return [str(a) for a in doc.xpath("//*[local-name()='address']/@location")]


def committed_address(served: bytes, committed: bytes) -> bytes:
    """``served`` with its addresses put back to those of ``committed`` (byte for byte otherwise)."""
    originals = iter(m.group(2) for m in _ADDRESS.finditer(committed))
    return _ADDRESS.sub(lambda m: m.group(1) + next(originals) + m.group(3), served)


def federatie(basis: Path, basispoort: int, **kwargs: Any) -> list[Any]:
    """``federation.demo.federatie``: the demo's nodes, their gateways and workers forked from the zygote."""
    from federation import demo

    return demo.federatie(basis, basispoort, starter=zygote.start, **kwargs)


def stokt(s: socket.socket, begin: bytes) -> None:
    """Send the start of a request on ``s`` and stop: the gateway must close the connection (the client reads its
    end) well within the client's own timeout, which ``s`` must have longer than 6 s. Closes ``s``."""
    try:
        s.sendall(begin)
        t = time.monotonic()
        assert s.recv(1000) == b""
        assert time.monotonic() - t < 6
    finally:
        s.close()
