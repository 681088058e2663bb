"""A gateway killed with SIGKILL in the middle of a load loses nothing it acknowledged.

Client threads file meldingen (unique berichtIds; a third of the youths get a second instantie's melding, so
matches and signals are part of the work). Once ``ERKEND`` answers are in, the gateway (gunicorn's arbiter and
its workers) is frozen and killed, then started again on the same database. Every request that got no answer
is sent again with the same berichtId and body, and a sample of the answered ones too. Then: every request
is filed exactly once, every acknowledged meldingId is the one stored, a retry of an answered request gets
the same answer, and ``log verify`` passes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from lxml import etree
from sqlalchemy import create_engine, text

from tests.support import NS, A, B, C, Server, bsn, melding_body, run_cli, start_server

pytestmark = pytest.mark.slow

ERKEND = int(os.environ.get("VIR_TEST_CRASH_ERKEND", "150"))
"""Acknowledged filings before the kill (counted, not timed)."""
DRADEN = 6


@dataclass
class Verzoek:
    bericht_id: str
    oin: str
    body: bytes
    melding_id: str | None = None  # from the answer, when one came
    verstuurd: bool = False  # sent before the kill


def _verzoeken(groepen: int) -> list[Verzoek]:
    """Groups of three: one youth with one melding, one with two (the second makes a match)."""
    uit = []
    oins = (A, B, C)
    for g in range(groepen):
        x, y, z = oins[g % 3], oins[(g + 1) % 3], oins[(g + 2) % 3]
        enkel, paar = bsn(), bsn()
        for oin, nummer in ((x, enkel), (y, paar), (z, paar)):
            bericht_id = str(uuid.uuid4())
            uit.append(Verzoek(bericht_id, oin, melding_body(bericht_id, oin, nummer)))
    return uit


def _stuur(server: Server, v: Verzoek, timeout: float = 30) -> str | None:
    """The meldingId of the answer; None when there was none (no connection, no complete answer)."""
    try:
        r = requests.post(server.endpoint, data=v.body, headers={"Content-Type": "text/xml"}, timeout=timeout)
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return None
    return etree.fromstring(r.content).findtext(".//kp:meldingId", namespaces=NS)


def _kinderen(pid: int) -> list[int]:
    uit = []
    for naam in os.listdir("/proc"):
        if naam.isdigit():
            try:
                stat = Path(f"/proc/{naam}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                uit.append(int(naam))
    return uit


def _doden(server: Server) -> None:
    """SIGKILL for the arbiter and its workers at once (frozen first, so none finishes a request in between)."""
    pids = [server.proc.pid, *_kinderen(server.proc.pid)]
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    server.proc.wait(15)


def test_kill_9_mid_load_loses_nothing_acknowledged(db_url: str | None, tmp_path: Path) -> None:
    verzoeken = _verzoeken(ERKEND)  # three times what is needed before the kill
    server = start_server(tmp_path, db_url)
    erkend = threading.Semaphore(0)
    volgende = iter(verzoeken)
    slot = threading.Lock()
    gedood = threading.Event()

    def klant() -> None:
        while not gedood.is_set():
            with slot:
                v = next(volgende, None)
            if v is None:
                return
            v.verstuurd = True
            v.melding_id = _stuur(server, v)
            if v.melding_id is not None:
                erkend.release()

    draden = [threading.Thread(target=klant) for _ in range(DRADEN)]
    try:
        for d in draden:
            d.start()
        for _ in range(ERKEND):
            assert erkend.acquire(timeout=120), "the gateway stopped answering before the kill"
        _doden(server)
        gedood.set()
        for d in draden:
            d.join(60)
        beantwoord = {v.bericht_id: v.melding_id for v in verzoeken if v.melding_id is not None}
        assert len(beantwoord) >= ERKEND
        # Killed mid-load: requests were in flight, without an answer (committed or not, the client cannot tell).
        assert any(v.verstuurd and v.melding_id is None for v in verzoeken)
        # Started again on the same database; everything without an answer is sent again, unchanged.
        server = start_server(tmp_path, db_url)
        for v in verzoeken:
            if v.melding_id is None:
                v.melding_id = _stuur(server, v)
                assert v.melding_id is not None, "a retry after the restart was not answered"
        for v in verzoeken[:: max(1, len(verzoeken) // 20)]:
            assert _stuur(server, v) == v.melding_id, "a retry of an answered request got another answer"
    finally:
        gedood.set()
        server.stop()

    engine = create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            opgeslagen: dict[str, int] = dict(conn.execute(text("SELECT melding_id, instantie_id FROM melding")).all())
            berichten = conn.execute(text("SELECT count(*), count(DISTINCT bericht_id) FROM bericht")).one()
    finally:
        engine.dispose()
    # Every request filed exactly once (each is a new (instantie, youth) pair), and every answer names a
    # stored melding: the acknowledged ones before the kill among them.
    assert len(opgeslagen) == len(verzoeken)
    assert {v.melding_id for v in verzoeken} == set(opgeslagen)
    assert set(beantwoord.values()) <= set(opgeslagen)
    assert tuple(berichten) == (len(verzoeken), len(verzoeken))

    env = {**os.environ, "VIR_DATA_DIR": str(tmp_path / "data"), "VIR_OPERATOR": "test"}
    if db_url:
        env["VIR_DATABASE_URL"] = db_url
    verify = run_cli("log", "verify", "--workers", "1", env=env, cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
