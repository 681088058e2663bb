"""What operators and clients get from a running gateway: SOAP 1.2 faults with one Reason, oversized
bodies answered, /metrics, /health, /ready and the process log without personal data."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from tests.support import SOAP12, A, B, G, Server, bsn, client, free_port, post, sg, start_server

PING = """<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="{env}" xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1"
  xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body><kp:Ping><kp:stuurgegevens>
<g:berichtId>{id}</g:berichtId><g:tijdstip>2026-01-01T10:00:00Z</g:tijdstip>
<g:zender><g:oin>{oin}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>{extra}</kp:Ping></soap:Body>
</soap:Envelope>"""


def ping(env: str = "http://schemas.xmlsoap.org/soap/envelope/", oin: str = A, extra: str = "") -> bytes:
    return PING.format(env=env, id=uuid.uuid4(), oin=oin, extra=extra).encode()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A gateway of its own (two gunicorn workers, SQLite), so that its process log holds only our requests."""
    srv = start_server(tmp_path_factory.mktemp("bediening"), None)
    yield srv
    srv.stop()


def test_a_soap12_fault_has_one_reason_text(gateway: Server) -> None:
    r = post(gateway, ping(SOAP12, oin="00000009999999999000"), "application/soap+xml; charset=utf-8")
    doc = etree.fromstring(r.content)
    texts = doc.findall(f".//{{{SOAP12}}}Reason/{{{SOAP12}}}Text")
    assert len(texts) == 1 and texts[0].text is not None
    assert texts[0].text.startswith("VIR-INSTANTIE-ONBEKEND: ")
    talen = [m.get("taal") for m in doc.iterfind(f".//{{{G}}}fout/{{{G}}}melding")]
    assert talen == ["nl", "en"]


def _te_groot(gateway: Server, size: int, chunked: bool = False) -> tuple[int, str | None]:
    """POST ``size`` bytes with http.client, which sends the whole body without waiting for 100 Continue."""
    host, port = gateway.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    blok = b"<!--" + b"x" * (1024 * 1024 - 7) + b"-->"
    body = ping().replace(b"<kp:Ping>", b"<kp:Ping>" + blok * (size // len(blok)))

    def stukken() -> Iterator[bytes]:
        for i in range(0, len(body), 1 << 20):
            yield body[i : i + (1 << 20)]

    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if chunked:
        conn.request("POST", "/v1/ketenpartner", body=stukken(), headers=headers, encode_chunked=True)
    else:
        conn.request("POST", "/v1/ketenpartner", body=body, headers=headers)
    resp = conn.getresponse()
    antwoord = resp.read()
    conn.close()
    doc = etree.fromstring(antwoord)
    code = doc.find(f".//{{{G}}}fout/{{{G}}}code")
    return resp.status, code.text if code is not None else None


@pytest.mark.slow
def test_a_60_mb_body_is_answered_and_the_server_keeps_serving(gateway: Server) -> None:
    assert _te_groot(gateway, 60 * 1000 * 1000) == (500, "VIR-BERICHT-TE-GROOT")
    assert _te_groot(gateway, 6 * 1024 * 1024, chunked=True) == (500, "VIR-BERICHT-TE-GROOT")
    assert client(gateway).Ping(stuurgegevens=sg(A)).versie


def test_beyond_the_discard_cap_the_connection_is_closed(tmp_path: Path) -> None:
    srv = start_server(tmp_path, None, workers=1, extra_env={"VIR_MAX_AFVOER_BYTES": str(8 * 1024 * 1024)})
    try:
        host, port = srv.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                b"POST /v1/ketenpartner HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                b"Content-Length: 100000000\r\n\r\n" + b"x" * 65536
            )
            antwoord = b""
            while chunk := sock.recv(65536):
                antwoord += chunk
        # The answer came, and then the end of the connection, although 99.9 MB were never sent: the
        # gateway did not wait for them (else recv would time out).
        head, _, body = antwoord.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 500") and b"Connection: close" in head
        assert b"VIR-BERICHT-TE-GROOT" in body
        assert client(srv).Ping(stuurgegevens=sg(A)).versie
    finally:
        srv.stop()


def _melding(gateway: Server, oin: str, youth: str) -> None:
    client(gateway).MeldingAfgeven(
        stuurgegevens=sg(oin),
        jongere={"bsn": youth},
        meldingsbevoegde={"naam": "Jansen-Vermeulen", "telefoon": "0501234567"},
        geplandeEinddatum=date.today() + timedelta(days=200),
    )


def samples(gateway: Server) -> dict[str, list[tuple[dict[str, str], float]]]:
    r = requests.get(gateway.url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    uit: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            uit.setdefault(s.name, []).append((s.labels, s.value))
    return uit


def test_metrics_count_a_filing_across_workers(gateway: Server) -> None:
    youth = bsn()
    _melding(gateway, A, youth)
    _melding(gateway, B, youth)
    # Both workers may have served; any scrape adds up all of them (several scrapes, any worker).
    for _ in range(4):
        s = samples(gateway)
        filed = [v for lbl, v in s["vir_requests_total"] if lbl["operation"] == "MeldingAfgeven" and not lbl["fault"]]
        assert sum(filed) >= 2
        assert any(lbl["operation"] == "MeldingAfgeven" for lbl, _ in s["vir_request_duration_seconds_count"])
        assert s["vir_store_up"] == [({}, 1.0)]
        assert s["vir_log_entries"][0][1] >= 2
    for name, values in s.items():
        for labels, _ in values:
            assert youth not in json.dumps(labels), name


def test_metrics_count_faults_by_code_and_unknown_operations_stay_unknown(gateway: Server) -> None:
    post(gateway, ping(oin="00000009999999999000"))
    verzonnen = ping().replace(b"kp:Ping", b"kp:Verzonnen" + uuid.uuid4().hex.encode())
    post(gateway, verzonnen)
    s = samples(gateway)
    codes = {(lbl["operation"], lbl["fault"]) for lbl, _ in s["vir_requests_total"]}
    assert ("Ping", "VIR-INSTANTIE-ONBEKEND") in codes
    assert ("onbekend", "VIR-OPERATIE-ONBEKEND") in codes
    assert all(op.startswith(("onbekend", "Ping", "Melding", "Matches", "Signalen")) for op, _ in codes)


def test_health_is_alive_and_ready_checks_database_schema_and_key(gateway: Server) -> None:
    assert requests.get(gateway.url + "/health", timeout=10).text == "ok\n"
    r = requests.get(gateway.url + "/ready", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"ready": True, "database": "ok", "schema": "ok", "signing_key": "ok"}


def test_process_log_has_one_json_line_per_request_and_no_personal_data(gateway: Server) -> None:
    youth = bsn()
    name = f"Zwaantje{uuid.uuid4().hex[:6]}"
    c = client(gateway)
    c.MeldingAfgeven(
        stuurgegevens=sg(A),
        jongere={"bsn": youth},
        meldingsbevoegde={"naam": name, "telefoon": "0501234567"},
        geplandeEinddatum=date.today() + timedelta(days=200),
    )
    marker = str(uuid.uuid4())
    c.Ping(stuurgegevens=sg(A, marker))
    log = gateway.log.read_text()
    assert youth not in log and name not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    ping_line = next(line for line in lines if line.get("message_id") == marker)
    assert ping_line["service"] == "ketenpartner" and ping_line["operation"] == "Ping"
    assert ping_line["fault"] is None and ping_line["status"] == 200 and ping_line["sender_oin"] == A
    assert set(ping_line) == {
        "time",
        "service",
        "operation",
        "fault",
        "status",
        "duration_ms",
        "correlation_id",
        "sender_oin",
        "message_id",
    }
    filed = [line for line in lines if line["operation"] == "MeldingAfgeven"]
    assert filed and all(line["correlation_id"] for line in filed)


def _postgres_bin() -> Path:
    """Where initdb and pg_ctl are: Debian keeps them out of PATH, per major version."""
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
        if (Path(out.strip()) / "initdb").exists():
            return Path(out.strip())
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("PostgreSQL's initdb was not found (Debian: postgresql)")
    return found[-1].parent


class Cluster:
    """A PostgreSQL cluster of its own (initdb in a temporary directory), which the test can stop and
    start: the shared test server must keep running for everyone else."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        # As root, PostgreSQL runs as its own user; its directory must be reachable for that user.
        self.als = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.dir = Path(tempfile.mkdtemp(prefix="vir-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.port = free_port()
        if self.als:
            shutil.chown(self.dir, "postgres")
        self._pg(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        self.start()
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE vir"))
        engine.dispose()

    def _pg(self, args: list[str]) -> None:
        subprocess.run([*self.als, str(self.bin / args[0]), *args[1:]], capture_output=True, check=True, timeout=120)

    def url(self, database: str = "vir") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        opties = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg(["pg_ctl", "-D", str(self.data), "-o", opties, "-l", str(self.dir / "log"), "-w", "start"])

    def stop(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.remove()


def test_ready_follows_the_database(cluster: Cluster, tmp_path: Path) -> None:
    """The database server stops: /ready says so (and /health does not care); it starts again: ready."""
    srv = start_server(tmp_path, cluster.url(), workers=1)
    try:
        assert requests.get(srv.url + "/ready", timeout=10).status_code == 200
        assert client(srv).Ping(stuurgegevens=sg(A)).versie
        cluster.stop()
        r = requests.get(srv.url + "/ready", timeout=30)
        assert r.status_code == 503
        assert r.json()["database"] == "unreachable" and r.json()["ready"] is False
        assert requests.get(srv.url + "/health", timeout=10).status_code == 200
        assert samples(srv)["vir_store_up"] == [({}, 0.0)]
        cluster.start()
        assert requests.get(srv.url + "/ready", timeout=30).json()["ready"] is True
        assert client(srv).Ping(stuurgegevens=sg(A)).versie
        # A database behind the code's migrations (a restore from an old backup) is not ready either.
        engine = create_engine(cluster.url())
        with engine.begin() as conn:
            nieuwste = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        r = requests.get(srv.url + "/ready", timeout=30)
        assert r.status_code == 503 and r.json()["schema"].startswith(f"revision 0001, expected {nieuwste}")
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": nieuwste})
        engine.dispose()
        assert requests.get(srv.url + "/ready", timeout=30).status_code == 200
    finally:
        srv.stop()
