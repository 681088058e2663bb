"""One gateway as the witness of a peer's log (``CheckpointGetuigen``, docs/getuigen.md), called with the real
peer client built from the committed federatie WSDL. The peer's log is made here, so that every case can be
set up exactly: the first checkpoint is cosigned, a newer one only with a consistency proof from the last one
cosigned, an older one or a proof from elsewhere gets the size to prove from, and a fork is a split view
that is refused, recorded and shown by ``vir-gateway log getuigen``. Cosignatures verify with ``xmlsec1``."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from federation.client import DeliveryError, PeerClient
from gateway.log import merkle
from gateway.log.checkpoint import CheckpointData, Signer, ensure_development_keys
from gateway.log.getuige import verifieer_cosignatuur
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import GATEWAY_OIN, A, Server, log_size, log_tail, run_cli, start_server

PEER, ZONDER_SLEUTEL, ONBEKEND = "00000007444444444000", "00000007555555555000", "00000007666666666000"
LEAVES = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(40)]
FORK = LEAVES[:12] + [merkle.leaf_hash(f"rewritten {i}".encode()) for i in range(12, 40)]


@dataclass
class Getuige:
    srv: Server
    env: dict[str, str]
    cert: Path  # the witness's checkpoint certificate
    peer: Signer  # the peer's checkpoint key
    peer_cert: Path
    vreemd: Signer  # a key nobody registered


def _signer(map_: Path, naam: str) -> tuple[Signer, Path]:
    key, cert, _ = ensure_development_keys(map_, naam)
    return Signer.from_files(key, cert), cert


@pytest.fixture(scope="module", params=BACKENDS)
def getuige(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Getuige]:
    url = create_pg_database() if request.param == "postgresql" else None
    tmp = tmp_path_factory.mktemp("getuige")
    srv = start_server(tmp, url)
    env = {**os.environ, "VIR_DATA_DIR": str(tmp / "data"), "VIR_DATABASE_URL": srv.db_url, "VIR_OPERATOR": "t"}
    peer, peer_cert = _signer(tmp / "peer", f"vir-gateway {PEER}")
    vreemd, _ = _signer(tmp / "vreemd", "vir-gateway vreemd")
    for systeem, oin, extra in (
        ("ZVJ", PEER, ["--checkpoint-certificaat", str(peer_cert)]),
        ("MOP", ZONDER_SLEUTEL, []),
    ):
        r = run_cli("federatie", "peer", "add", "--systeem", systeem, "--url", "http://127.0.0.1:9/v1/federatie",
                    "--oin", oin, *extra, env=env)  # fmt: skip
        assert r.returncode == 0, r.stderr
    try:
        yield Getuige(srv, env, tmp / "data" / "keys" / "log-signing-cert.pem", peer, peer_cert, vreemd)
    finally:
        srv.stop()
        if url:
            drop_pg_database(url)


def checkpoint(g: Getuige, n: int, leaves: list[bytes] = LEAVES, *, signer: Signer | None = None,
               uitgever: str = PEER) -> bytes:  # fmt: skip
    data = CheckpointData(uitgever, n, merkle.root(leaves[:n]), "2026-12-02T10:00:00.000000Z")
    return (signer or g.peer).sign(data)


def vraag(g: Getuige, xml: bytes, vorige: int = 0, bewijs: list[bytes] | None = None, *, oin: str = PEER,
          systeem: str = "ZVJ") -> Any:  # fmt: skip
    client = PeerClient(f"{g.srv.url}/v1/federatie", GATEWAY_OIN, eigen_systeem=systeem, eigen_oin=oin, timeout=10)
    return client.checkpoint_getuigen(xml, vorige, bewijs or [], str(uuid.uuid4()))


def geweigerd(g: Getuige, code: str, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(DeliveryError) as exc:
        vraag(g, *args, **kwargs)
    assert str(exc.value) == f"fault {code}"


def xmlsec1(document: bytes, cert: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    f = tmp / f"{uuid.uuid4()}.xml"
    f.write_bytes(document)
    return subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", str(cert), str(f)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def rows(g: Getuige, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(g.srv.db_url)
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(text(sql))]
    finally:
        engine.dispose()


def test_a_checkpoint_is_cosigned_only_with_a_consistency_proof(getuige: Getuige, tmp_path: Path) -> None:
    g = getuige
    # The first checkpoint of a log is cosigned as it is (trust on first use); the cosignature states its size
    # and root, and verifies with the witness's certificate (xmlsec1 too), not with another.
    eerste = vraag(g, checkpoint(g, 10))
    assert eerste.getuigd and eerste.bekendeGrootte is None
    cos = verifieer_cosignatuur(eerste.cosignatuur, g.cert.read_bytes())
    assert (cos.uitgever, cos.grootte, cos.wortel, cos.getuige) == (PEER, 10, merkle.root(LEAVES[:10]), GATEWAY_OIN)
    assert xmlsec1(eerste.cosignatuur, g.cert, tmp_path).returncode == 0
    assert xmlsec1(eerste.cosignatuur, g.peer_cert, tmp_path).returncode != 0
    # Asked again: the same cosignature.
    assert vraag(g, checkpoint(g, 10)).cosignatuur == eerste.cosignatuur
    # A newer one without a proof from 10: the witness names the size to prove from (and cosigns nothing).
    zonder = vraag(g, checkpoint(g, 20))
    assert (zonder.getuigd, zonder.bekendeGrootte, zonder.cosignatuur) == (False, 10, None)
    met = vraag(g, checkpoint(g, 20), 10, merkle.consistency_proof(LEAVES, 10, 20))
    assert met.getuigd and verifieer_cosignatuur(met.cosignatuur, g.cert.read_bytes()).grootte == 20
    # An older checkpoint that was never cosigned (a delivery overtaken by a newer one): prove from 20.
    ouder = vraag(g, checkpoint(g, 15))
    assert (ouder.getuigd, ouder.bekendeGrootte) == (False, 20)
    assert rows(g, "SELECT grootte FROM getuigd_checkpoint WHERE peer = 'ZVJ' ORDER BY grootte") == [(10,), (20,)]
    r = run_cli("log", "getuigen", env=g.env)
    assert r.returncode == 0, r.stdout + r.stderr
    regels = {regel.split()[0]: regel for regel in r.stdout.splitlines()[1:]}
    assert regels["ZVJ"].split()[1:4] == ["-", "20", "at"]
    assert "no checkpoint certificate registered" in regels["MOP"]


def test_a_split_view_is_refused_recorded_and_shown(getuige: Getuige, tmp_path: Path) -> None:
    g = getuige
    vraag(g, checkpoint(g, 10))  # as in the test before, when run alone
    vraag(g, checkpoint(g, 20), 10, merkle.consistency_proof(LEAVES, 10, 20))
    voor = rows(g, "SELECT grootte, wortel FROM getuigd_checkpoint WHERE peer = 'ZVJ' ORDER BY grootte")
    log_voor = log_size(g.srv.db_url)
    # The log was cut back to 12 entries and re-extended otherwise: its proof from 20 cannot hold.
    geweigerd(g, "VIR-CHECKPOINT-GESPLITST", checkpoint(g, 30, FORK), 20, merkle.consistency_proof(FORK, 20, 30))
    # Two checkpoints of one size with different roots.
    geweigerd(g, "VIR-CHECKPOINT-GESPLITST", checkpoint(g, 20, FORK))
    # Refused: nothing cosigned, nothing of the witness's memory changed …
    assert rows(g, "SELECT grootte, wortel FROM getuigd_checkpoint WHERE peer = 'ZVJ' ORDER BY grootte") == voor
    # … but recorded with both checkpoints, and in the signed log: the refusal and the split view itself.
    gesplitst = rows(g, "SELECT peer, bekend_grootte, nieuw_grootte, nieuw_checkpoint, volgnummer FROM gesplitst_zicht")
    assert [(p, b, n) for p, b, n, _, _ in gesplitst[-2:]] == [("ZVJ", 20, 30), ("ZVJ", 20, 20)]
    assert bytes(gesplitst[-2][3]) == checkpoint(g, 30, FORK)
    nieuw = log_tail(g.srv.db_url, log_voor)
    zichten = [e for e in nieuw if e["operatie"] == "federatie:gesplitst zicht"]
    assert [e["foutcode"] for e in zichten] == ["VIR-CHECKPOINT-GESPLITST"] * 2
    assert {e["volgnummer"] for e in zichten} == {v for *_, v in gesplitst[-2:]}
    assert [e["foutcode"] for e in nieuw if e["soort"] == "fout" and e["operatie"].endswith("CheckpointGetuigen")] == [
        "VIR-CHECKPOINT-GESPLITST"
    ] * 2
    # The operator sees it: a line per split view, and exit 1 (the real command once).
    r = subprocess.run([sys.executable, "-m", "vir", "log", "getuigen"], env=g.env, capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    gemeld = [regel for regel in r.stdout.splitlines() if regel.startswith("SPLIT VIEW ZVJ")]
    assert len(gemeld) == len(gesplitst) and "no consistency from the cosigned checkpoint of size 20" in gemeld[-2]
    assert "(cosigned checkpoint 20, presented 20" in gemeld[-1]
    # Nothing of it names a youth: the log entry holds sizes, roots and signatures.
    assert base64.b64encode(checkpoint(g, 30, FORK)).decode() in bytes(zichten[0]["payload"]).decode()


def test_a_checkpoint_not_signed_by_the_peer_is_refused(getuige: Getuige, tmp_path: Path) -> None:
    g = getuige
    voor = rows(g, "SELECT count(*) FROM getuigd_checkpoint")
    geweigerd(g, "VIR-CHECKPOINT-ONGELDIG", checkpoint(g, 10, signer=g.vreemd))
    geweigerd(g, "VIR-CHECKPOINT-ONGELDIG", checkpoint(g, 10, uitgever=ONBEKEND))  # the peer's key, another log
    geweigerd(g, "VIR-CHECKPOINT-SLEUTEL-ONBEKEND", checkpoint(g, 10), oin=ZONDER_SLEUTEL, systeem="MOP")
    assert rows(g, "SELECT count(*) FROM getuigd_checkpoint") == voor
    # The operator cannot register something that is not a certificate as one.
    niet = tmp_path / "niet-een-certificaat.pem"
    niet.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    r = run_cli("federatie", "peer", "add", "--systeem", "MOP", "--url", "http://127.0.0.1:9/v1/federatie",
                "--oin", ZONDER_SLEUTEL, "--checkpoint-certificaat", str(niet), env=g.env)  # fmt: skip
    assert r.returncode == 2 and "not a readable PEM certificate" in r.stderr
    geweigerd(g, "VIR-CHECKPOINT-SLEUTEL-ONBEKEND", checkpoint(g, 10), oin=ZONDER_SLEUTEL, systeem="MOP")


def test_only_peers_may_ask_for_a_cosignature(getuige: Getuige) -> None:
    g = getuige
    voor = rows(g, "SELECT count(*) FROM getuigd_checkpoint")
    n = log_size(g.srv.db_url)
    geweigerd(g, "VIR-FEDERATIE-KETENPARTNER", checkpoint(g, 10), oin=A)  # a chain partner
    geweigerd(g, "VIR-PEER-ONBEKEND", checkpoint(g, 10), oin=ONBEKEND, systeem="ONBEKEND")  # an unregistered system
    assert rows(g, "SELECT count(*) FROM getuigd_checkpoint") == voor
    fouten = [e["foutcode"] for e in log_tail(g.srv.db_url, n) if e["soort"] == "fout"]
    assert fouten == ["VIR-FEDERATIE-KETENPARTNER", "VIR-PEER-ONBEKEND"]
