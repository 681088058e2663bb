"""Witnesses across a federation of real gateway processes and workers (the four-node demo, docs/getuigen.md):
within a minute every node's ``log getuigen`` names the three others as witnesses of its checkpoints; a chain
partner's receipt is proved against a checkpoint that carries other systems' cosignatures, each verified with
``xmlsec1``; and a node whose log is rolled back and re-extended is reported by its peers as a split view."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import create_engine, text

from federation.demo import Knooppunt
from gateway.log import merkle
from gateway.log.checkpoint import verify
from gateway.log.getuige import verifieer_cosignatuur
from gateway.log.regel import Logregel
from gateway.log.writer import append
from store.db import Database
from tests.support import bsn, federatie, log_size
from tests.test_federation import cli, db_url, file, free_ports, service, stuur
from tests.test_getuigen import xmlsec1
from tests.test_log_verantwoording import _roll_back


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[list[Knooppunt]]:
    """The demo's four nodes, with a checkpoint and a round of witnessing every 2 s (the demo: every 10 s)."""
    nodes = federatie(tmp_path, free_ports(4))
    for n in nodes:
        n.extra_env.update({"VIR_CHECKPOINT_SECONDEN": "2", "VIR_GETUIGEN_SECONDEN": "2"})
    try:
        for n in nodes:
            n.start()
        yield nodes
    finally:
        for n in nodes:
            n.stop()


def getuigen(node: Knooppunt) -> tuple[int, dict[str, list[str]], list[str]]:
    """``log getuigen`` of a node: exit code, per peer its columns, and the split-view lines."""
    r = cli(node, "log", "getuigen")
    assert r.returncode in (0, 1), r.stderr
    regels = r.stdout.splitlines()[1:]
    per_peer = {r.split()[0]: r.split()[1:] for r in regels if not r.startswith("SPLIT VIEW")}
    return r.returncode, per_peer, [r for r in regels if r.startswith("SPLIT VIEW")]


def cert(node: Knooppunt) -> Path:
    return node.map / "keys" / "log-signing-cert.pem"


def wacht(tot: Any, seconden: float, wat: str) -> float:
    start = time.monotonic()
    while not tot():
        assert time.monotonic() - start < seconden, f"{wat} not within {seconden} s"
        time.sleep(0.5)
    return time.monotonic() - start


def query(node: Knooppunt, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(db_url(node))
    try:
        with engine.connect() as c:
            return list(c.execute(text(sql), params))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_every_node_is_witnessed_by_the_others_and_a_rolled_back_log_is_a_split_view(
    mesh: list[Knooppunt], tmp_path: Path
) -> None:
    a = mesh[0]
    for n in mesh:  # a chain partner's filing: the logs grow, checkpoints are signed
        file(n, 0, bsn())

    def alle_getuigd() -> bool:
        for n in mesh:
            _, per_peer, _ = getuigen(n)
            if sorted(p for p, kolommen in per_peer.items() if kolommen[0] != "-") != sorted(
                m.systeem for m in mesh if m is not n
            ):
                return False
        return True

    binnen = wacht(alle_getuigd, 60, "every node witnessed by the three others")
    print(f"every node witnessed by its three peers after {binnen:.1f} s")
    # Every peer cosigned later checkpoints too, each after checking a consistency proof from the last one.
    wacht(
        lambda: all(
            query(n, "SELECT count(*) FROM getuigd_checkpoint WHERE peer = :p", p=a.systeem)[0][0] >= 2
            for n in mesh[1:]
        ),
        60,
        "a second checkpoint of A cosigned by every peer",
    )

    # A chain partner's receipt, proved against a checkpoint other systems cosigned.
    svc = service(a)
    r = file(a, 1, bsn(), svc=svc)
    ob = r.stuurgegevens.ontvangstbewijs
    bewijs = {"volgnummer": ob.volgnummer, "leafHash": ob.leafHash}

    def bewezen() -> Any:
        antwoord = svc.OntvangstbewijsOpvragen(stuurgegevens=stuur(a, a.instanties()[1]), ontvangstbewijs=bewijs)
        return antwoord if antwoord.status == "bewezen" and antwoord.cosignatuur else None

    wacht(bewezen, 60, "a cosigned checkpoint covering the receipt")
    antwoord = bewezen()
    cp = etree.tostring(_element(antwoord.checkpoint))
    assert xmlsec1(cp, cert(a), tmp_path).returncode == 0
    data = verify(cp, cert(a).read_bytes())
    assert merkle.verify_inclusion(ob.leafHash, ob.volgnummer, data.grootte, list(antwoord.auditpad), data.wortel)
    peers = {n.oin: n for n in mesh[1:]}
    for c in antwoord.cosignatuur:
        xml = etree.tostring(_element(c))
        cos = verifieer_cosignatuur(xml, cert(peers[_getuige(xml)]).read_bytes())
        assert (cos.uitgever, cos.grootte, cos.wortel) == (a.oin, data.grootte, data.wortel)
        assert xmlsec1(xml, cert(peers[cos.getuige]), tmp_path).returncode == 0
        assert xmlsec1(xml, cert(a), tmp_path).returncode != 0  # not A's own signature

    # A's log is rolled back (behind the newest checkpoint every peer cosigned: a cut after it would leave a
    # history no witness can tell from the true one) and re-extended while A is down: its peers refuse it and
    # report the split view.
    a.stop()
    grootte = log_size(db_url(a))
    gecosigneerd = query(a, "SELECT min(g) FROM (SELECT max(grootte) AS g FROM cosignatuur GROUP BY peer)")[0][0]
    assert gecosigneerd > 1
    _roll_back(db_url(a), gecosigneerd // 2)
    db = Database(db_url(a))
    with db.transaction() as s:
        append(s, [Logregel("2026-12-02T00:00:00.000000Z", "beheer", "x", "insider", b"<x/>") for _ in range(grootte)])
    db.dispose()
    assert cli(a, "log", "checkpoint").returncode == 0
    a.start()
    wacht(lambda: all(getuigen(n)[0] == 1 for n in mesh[1:]), 60, "the split view of A reported by its peers")
    for n in mesh[1:]:
        code, per_peer, gesplitst = getuigen(n)
        assert code == 1 and all(r.startswith(f"SPLIT VIEW {a.systeem} ") for r in gesplitst), gesplitst
        assert "split view" in " ".join(per_peer[a.systeem])
        assert query(n, "SELECT count(*) FROM logregel WHERE operatie = 'federatie:gesplitst zicht'")[0][0] >= 1
        assert f"split view: peer {a.systeem}" in (n.map / "node.log").read_text()
    assert "reports a split view of our log" in (a.map / "node.log").read_text()
    # Only A presents a split view: no node reports one of the others.
    for n in mesh[1:]:
        assert not any(r.startswith(f"SPLIT VIEW {m.systeem} ") for m in mesh[1:] for r in getuigen(n)[2])


def _element(wrapper: Any) -> Any:
    """The document inside a zeep xs:any wrapper."""
    inhoud = wrapper._value_1 if hasattr(wrapper, "_value_1") else wrapper
    return inhoud[0] if isinstance(inhoud, list) else inhoud


def _getuige(xml: bytes) -> str:
    return str(etree.fromstring(xml).findtext("{urn:nl:vir:gateway:log:v1}getuige"))
