"""Federation with real gateway processes and workers on loopback: four nodes configured as
MULTISIGNAAL, ZVJ, MOP and VIS2 (a mesh, or through a national hub), each with its own database."""

from __future__ import annotations

import http.server
import os
import random
import socket
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zeep
from sqlalchemy import create_engine, text

from federation.demo import Knooppunt
from tests.support import bsn, federatie, run_cli, sg

KP = "{urn:nl:vir:gateway:ketenpartner:v1}KetenpartnerSoap11Binding"
MELDINGEN = int(os.environ.get("VIR_TEST_FEDERATIE_MELDINGEN", "300"))
# A killed peer comes back once every delivery waiting for it has failed this many times.
DOWN_RETRIES = int(os.environ.get("VIR_TEST_FEDERATIE_DOWN_RETRIES", "2"))


def free_ports(n: int) -> int:
    """A base port with n free ports after it (best effort; the nodes need fixed ports to restart). Below the
    ephemeral range, where no client connection takes one as its own port meanwhile."""
    for _ in range(50):
        base = random.randint(20000, 32000 - n)
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)  # closed below, also when bind fails
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


def service(node: Knooppunt) -> Any:
    return zeep.Client(str(Path(__file__).parent.parent / "wsdl" / "ketenpartner.wsdl")).create_service(
        KP, f"{node.url}/v1/ketenpartner"
    )


def stuur(node: Knooppunt, oin: str) -> dict[str, Any]:
    d = sg(oin)
    d["ontvanger"]["oin"] = node.oin
    return d


def file(node: Knooppunt, instantie: int, youth: str, naam: str = "X", svc: Any = None) -> Any:
    oin = node.instanties()[instantie]
    return (svc or service(node)).MeldingAfgeven(
        stuurgegevens=stuur(node, oin), jongere={"bsn": youth}, meldingsbevoegde={"naam": naam}
    )


def matches(node: Knooppunt, instantie: int, melding_id: str) -> list[Any]:
    oin = node.instanties()[instantie]
    return list(service(node).MatchesOpvragen(stuurgegevens=stuur(node, oin), meldingId=melding_id).match)


def signals(node: Knooppunt, instantie: int) -> list[Any]:
    oin = node.instanties()[instantie]
    return list(service(node).SignalenOphalen(stuurgegevens=stuur(node, oin), vanafVolgnummer=0, maximaal=1000).signaal)


def cli(node: Knooppunt, *args: str) -> subprocess.CompletedProcess[str]:
    """``vir-gateway ARGS`` for this node, in this process (``Knooppunt.cli`` starts the real one)."""
    return run_cli(*args, env=node.env())


def db_url(node: Knooppunt) -> str:
    return node.database_url or f"sqlite:///{node.map / 'vir-gateway.sqlite3'}"


def outbox_pending(node: Knooppunt) -> int:
    engine = create_engine(db_url(node))
    try:
        with engine.connect() as c:
            return int(
                c.execute(
                    text("SELECT count(*) FROM federatie_uitgaand WHERE status IN ('wachtend', 'bezig')")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def retried_at_least(nodes: list[Knooppunt], peer: str) -> int | None:
    """The fewest attempts of any delivery still waiting for ``peer`` on these nodes (None: none waits)."""
    fewest: list[int] = []
    for n in nodes:
        engine = create_engine(db_url(n))
        try:
            with engine.connect() as c:
                least = c.execute(
                    text(
                        "SELECT min(pogingen) FROM federatie_uitgaand "
                        "WHERE peer = :p AND status IN ('wachtend', 'bezig')"
                    ),
                    {"p": peer},
                ).scalar_one()
        finally:
            engine.dispose()
        if least is not None:
            fewest.append(int(least))
    return min(fewest) if fewest else None


def converge(nodes: list[Knooppunt], timeout: float = 120) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if all(outbox_pending(n) == 0 for n in nodes):
            return time.monotonic() - start
        time.sleep(0.3)
    raise AssertionError(f"no convergence in {timeout} s: {[outbox_pending(n) for n in nodes]}")


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[list[Knooppunt]]:
    nodes = federatie(tmp_path, free_ports(4))
    try:
        for n in nodes:
            n.start()
        yield nodes
    finally:
        for n in nodes:
            n.stop()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[list[Knooppunt]]:
    nodes = federatie(tmp_path, free_ports(5), hub=True)
    try:
        for n in nodes:
            n.start()
        yield nodes
    finally:
        for n in nodes:
            n.stop()


def _cross_node_story(nodes: list[Knooppunt]) -> None:
    a, c = nodes[0], nodes[2]
    youth = bsn()
    ma = file(a, 0, youth, "Anna")
    converge(nodes)
    mc = file(c, 1, youth, "Carla")
    converge(nodes)
    # Both chain partners have the match, naming the other system, and got a nieuweMatch signal.
    ka = matches(a, 0, ma.meldingId)
    kc = matches(c, 1, mc.meldingId)
    assert [(p.meldingsbevoegde.naam, p.bronsysteem.split("/")[0]) for p in ka[0].partij] == [("Carla", c.systeem)]
    assert [(p.meldingsbevoegde.naam, p.bronsysteem.split("/")[0]) for p in kc[0].partij] == [("Anna", a.systeem)]
    assert [s.soort for s in signals(a, 0) if s.meldingId == ma.meldingId] == ["nieuweMatch"]
    # A transfer to a colleague in C updates the card in A.
    service(c).MeldingWijzigen(
        stuurgegevens=stuur(c, c.instanties()[1]), meldingId=mc.meldingId, meldingsbevoegde={"naam": "Daan"}
    )
    converge(nodes)
    assert [p.meldingsbevoegde.naam for p in matches(a, 0, ma.meldingId)[0].partij] == ["Daan"]
    assert [s.soort for s in signals(a, 0) if s.meldingId == ma.meldingId][-1] == "gewijzigdeMatch"
    # Withdrawing C's melding ends the match on both sides.
    service(c).MeldingBeeindigen(stuurgegevens=stuur(c, c.instanties()[1]), meldingId=mc.meldingId, reden="onterecht")
    converge(nodes)
    assert matches(a, 0, ma.meldingId) == []
    last = [s for s in signals(a, 0) if s.meldingId == ma.meldingId][-1]
    assert (last.soort, last.match.status) == ("beeindigdeMatch", "beeindigd")
    # Need-to-know: the youth's key is known where a melding on it was filed (and on a hub); C's withdrawn
    # melding is gone everywhere, and a node with nothing on the youth never held anything of it.
    for n in nodes:
        engine = create_engine(db_url(n))
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT m.bron_systeem, m.status FROM melding m JOIN jongere j ON j.id = m.jongere_id "
                    "WHERE j.sleutel = :k OR j.pseudoniem = (SELECT pseudoniem FROM jongere WHERE sleutel = :k)"
                ),
                {"k": f"bsn:{youth}"},
            ).all()
            hub_rows = conn.execute(text("SELECT count(*) FROM melding WHERE bron_systeem = :s"), {"s": a.systeem})
            hub_count = hub_rows.scalar()
        engine.dispose()
        if n is a:
            assert [tuple(r) for r in rows] == [(None, "actief")], n.systeem
        elif n.hub:
            assert hub_count == 1, n.systeem
        else:
            assert rows == [], n.systeem


@pytest.mark.slow
def test_mesh_cross_node_match_transfer_and_withdrawal(mesh: list[Knooppunt]) -> None:
    _cross_node_story(mesh)


@pytest.mark.slow
def test_hub_topology(hub: list[Knooppunt]) -> None:
    regional = [n for n in hub if not n.hub]
    _cross_node_story(hub)
    # The regional nodes only know the hub as peer; everything went through it. (The first asks the
    # real command, as an operator would.)
    assert regional[0].cli("federatie", "peer", "list").stdout.split()[0] == "LVI"
    for n in regional[1:]:
        assert cli(n, "federatie", "peer", "list").stdout.split()[0] == "LVI"


class _BadPeer(http.server.BaseHTTPRequestHandler):
    mode = "garbage"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.mode == "timeout":
            time.sleep(8)
        body = {
            "garbage": b"this is not xml",
            "fault": b'<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
            b"<s:Fault><faultcode>s:Server</faultcode><faultstring>down</faultstring></s:Fault></s:Body>"
            b"</s:Envelope>",
        }.get(self.mode, b"")
        self.send_response(500 if self.mode == "fault" else 200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["garbage", "timeout", "fault"])
def test_a_bad_peer_is_retried_and_never_blocks_chain_partners(tmp_path: Path, mode: str) -> None:
    handler = type("Bad", (_BadPeer,), {"mode": mode})
    bad = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=bad.serve_forever, daemon=True).start()
    node = federatie(tmp_path, free_ports(4))[0]
    node.extra_env = {"VIR_FEDERATIE_TIMEOUT": "2"}
    cli(
        node,
        "federatie",
        "peer",
        "add",
        "--systeem",
        "KAPOT",
        "--url",
        f"http://127.0.0.1:{bad.server_port}/v1/federatie",
        "--oin",
        "00000099000000000000",
    )
    node.start()
    try:
        svc = service(node)
        took = []
        for _ in range(5):
            t = time.monotonic()
            file(node, 0, bsn(), svc=svc)
            took.append(time.monotonic() - t)
        assert max(took) < 1.5, took  # the chain partner never waits for a peer
        deadline = time.monotonic() + 30
        engine = create_engine(db_url(node))
        while time.monotonic() < deadline:
            with engine.connect() as c:
                rows = c.execute(
                    text("SELECT pogingen, status, laatste_fout FROM federatie_uitgaand WHERE peer = 'KAPOT'")
                ).all()
            if rows and min(r.pogingen for r in rows) >= 2:
                break
            time.sleep(0.5)
        engine.dispose()
        assert rows and all(r.status in ("wachtend", "bezig") for r in rows)
        assert min(r.pogingen for r in rows) >= 2, rows
        expected = {"garbage": "unusable answer", "timeout": "timeout", "fault": "fault"}[mode]
        assert any(expected in (r.laatste_fout or "") for r in rows), rows
    finally:
        node.stop()
        bad.shutdown()
        bad.server_close()


def _run_with_outage(nodes: list[Knooppunt], victim: Knooppunt) -> None:
    """MELDINGEN meldingen over the nodes, the victim killed in the middle and started again once the
    other nodes have tried every delivery waiting for it DOWN_RETRIES times."""
    rng = random.Random(11)
    youths = [bsn() for _ in range(MELDINGEN // 2)]
    plan: list[tuple[Knooppunt, int, str]] = []
    for y in youths:
        for n, i in rng.sample([(n, i) for n in nodes for i in range(3)], 2):
            plan.append((n, i, y))
    rng.shuffle(plan)
    done: list[tuple[Knooppunt, int, str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    half = len(plan) // 2

    def submit(part: list[tuple[Knooppunt, int, str]]) -> None:
        clients: dict[str, Any] = {}
        for n, i, y in part:
            if n is victim and not n.procs:
                continue  # its chain partners cannot reach it while it is down
            try:
                r = file(n, i, y, svc=clients.setdefault(n.systeem, service(n)))
                with lock:
                    done.append((n, i, y, r.meldingId))
            except BaseException as e:
                if n is victim:
                    continue
                errors.append(e)

    first, second = plan[:half], plan[half:]
    threads = [threading.Thread(target=submit, args=(first[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    victim.stop(9)  # SIGKILL: no goodbye
    threads = [threading.Thread(target=submit, args=(second[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    others = [n for n in nodes if n is not victim]
    deadline = time.monotonic() + 180
    while (tried := retried_at_least(others, victim.systeem)) is None or tried < DOWN_RETRIES:
        assert tried is not None, "nothing waits for the node that is down: the outage tests nothing"
        assert time.monotonic() < deadline, f"deliveries to {victim.systeem} retried only {tried} times in 180 s"
        time.sleep(0.2)
    victim.start()
    assert not errors, errors[:3]
    converge(nodes, timeout=180)

    # Every youth with meldingen of two instanties has exactly one match, with all its meldingen, on every node
    # with a melding of its own on that youth, and none on any other node (need-to-know).
    per_youth: dict[str, set[str]] = defaultdict(set)
    filed_at: dict[str, set[str]] = defaultdict(set)
    for n, i, y, _ in done:
        per_youth[y].add(n.instanties()[i])
        filed_at[y].add(n.systeem)
    expected = {y: oins for y, oins in per_youth.items() if len(oins) >= 2}
    for n in nodes:
        engine = create_engine(db_url(n))
        with engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT j.sleutel, count(DISTINCT ma.id) AS matches, count(DISTINCT m.id) AS meldingen "
                    "FROM jongere j JOIN melding m ON m.jongere_id = j.id AND m.status = 'actief' "
                    "LEFT JOIN match ma ON ma.jongere_id = j.id AND ma.status = 'actief' GROUP BY j.sleutel"
                )
            ).all()
            seen = {r.sleutel.removeprefix("bsn:"): (r.matches, r.meldingen) for r in rows}
            for y, oins in expected.items():
                should = (1, len(oins)) if n.systeem in filed_at[y] else None
                assert seen.get(y) == should, (n.systeem, y, seen.get(y), should)
            assert not set(seen) - {y for y, systems in filed_at.items() if n.systeem in systems}, n.systeem
            # Notifications: one nieuweMatch per local melding in a match, never the same signal twice.
            sig = c.execute(text("SELECT instantie_id, melding_id, soort, inhoud FROM signaal ORDER BY id")).all()
        engine.dispose()
        nieuw: dict[str, int] = defaultdict(int)
        last: dict[str, tuple[str, str]] = {}
        for s in sig:
            if s.soort == "nieuweMatch":
                nieuw[s.melding_id] += 1
            assert last.get(s.melding_id) != (s.soort, s.inhoud), f"duplicate signal on {n.systeem}"
            last[s.melding_id] = (s.soort, s.inhoud)
        local = [(m, y) for (k, _i, y, m) in done if k is n and y in expected]
        for melding_id, _y in local:
            assert nieuw[melding_id] == 1, (n.systeem, melding_id, nieuw[melding_id])


@pytest.mark.slow
def test_a_peer_killed_mid_run_loses_and_duplicates_nothing(mesh: list[Knooppunt]) -> None:
    _run_with_outage(mesh, mesh[1])


@pytest.mark.slow
def test_the_same_with_two_workers_per_node_on_postgresql(tmp_path: Path) -> None:
    from tests.conftest import create_pg_database, drop_pg_database

    urls = [create_pg_database() for _ in range(4)]
    nodes = federatie(tmp_path, free_ports(4), database_urls=urls, workers=2)
    try:
        for n in nodes:
            n.start()
        _run_with_outage(nodes, nodes[3])
    finally:
        for n in nodes:
            n.stop()
        for u in urls:
            drop_pg_database(u)


@pytest.mark.slow
def test_receipt_is_idempotent_and_never_goes_back_a_version(tmp_path: Path) -> None:
    """A peer's MeldingDoorgeven straight to a node, through zeep from the committed federatie WSDL."""
    nodes = federatie(tmp_path, free_ports(4))
    node, peer = nodes[0], nodes[1]
    node.start()
    try:
        fed = zeep.Client(str(Path(__file__).parent.parent / "wsdl" / "federatie.wsdl")).create_service(
            "{urn:nl:vir:gateway:federatie:v1}FederatieSoap11Binding", f"{node.url}/v1/federatie"
        )
        youth = bsn()
        local = file(node, 0, youth, "Anna")
        melding_id = "0e8f8a4e-7e52-4a49-9c77-0f1d5c3e0c11"

        def send(versie: int, naam: str, afzender: str = peer.systeem) -> Any:
            return fed.MeldingDoorgeven(
                stuurgegevens=stuur(node, peer.oin),
                afzender=afzender,
                bron={"systeem": peer.systeem, "meldingId": melding_id, "versie": versie},
                jongere=f"bsn:{youth}",
                contactkaart={
                    "instantie": {"oin": peer.instanties()[0], "naam": "ZVJ instantie 1"},
                    "meldingsbevoegde": {"naam": naam},
                    "bronsysteem": "ECD",
                },
                geplandeEinddatum="2027-01-01",
            )

        first = send(1, "Bert")
        assert first.verwerkt is True
        assert [k.meldingsbevoegde.naam for k in first.lokaleMatch] == ["Anna"]
        assert send(1, "Bert").verwerkt is False  # the same version again changes nothing
        assert send(3, "Carla").verwerkt is True
        assert send(2, "Daan").verwerkt is False  # an older version never overwrites a newer one
        assert [p.meldingsbevoegde.naam for p in matches(node, 0, local.meldingId)[0].partij] == ["Carla"]
        nieuw = [s for s in signals(node, 0) if s.meldingId == local.meldingId]
        assert [s.soort for s in nieuw] == ["nieuweMatch", "gewijzigdeMatch"]
        # An unknown system is refused with its own fault code.
        with pytest.raises(zeep.exceptions.Fault) as exc:
            send(4, "Eva", afzender="ONBEKEND")
        assert exc.value.detail.findtext(".//{urn:nl:vir:gateway:gegevens:v1}code") == "VIR-SYSTEEM-ONBEKEND"
        # A withdrawal ends the match; a late, older upsert cannot bring it back.
        fed.MeldingIntrekken(
            stuurgegevens=stuur(node, peer.oin),
            afzender=peer.systeem,
            bron={"systeem": peer.systeem, "meldingId": melding_id, "versie": 4},
        )
        assert matches(node, 0, local.meldingId) == []
        assert send(3, "Carla").verwerkt is False
        assert matches(node, 0, local.meldingId) == []
    finally:
        node.stop()


@pytest.mark.slow
def test_dead_deliveries_can_be_listed_and_replayed(tmp_path: Path) -> None:
    handler = type("Bad", (_BadPeer,), {"mode": "garbage"})
    bad = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=bad.serve_forever, daemon=True).start()
    node = federatie(tmp_path, free_ports(4))[0]
    node.extra_env = {"VIR_FEDERATIE_MAX_POGINGEN": "2", "VIR_FEDERATIE_MAX_WACHTTIJD": "0.2"}
    cli(
        node,
        "federatie",
        "peer",
        "add",
        "--systeem",
        "KAPOT",
        "--url",
        f"http://127.0.0.1:{bad.server_port}/v1/federatie",
        "--oin",
        "00000099000000000000",
    )
    node.start()
    try:
        file(node, 0, bsn())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            dead = cli(node, "federatie", "dead", "list")
            if "KAPOT" in dead.stdout:
                break
            time.sleep(0.5)
        assert dead.returncode == 0 and "KAPOT" in dead.stdout and "unusable answer" in dead.stdout, dead.stdout
        replay = cli(node, "federatie", "dead", "replay")
        assert replay.returncode == 0 and "queued again" in replay.stdout
        assert int(replay.stdout.split()[0]) >= 1
    finally:
        node.stop()
        bad.shutdown()
        bad.server_close()
