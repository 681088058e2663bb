"""A local federation anyone can start: four gateway nodes on loopback, configured as MULTISIGNAAL,
Zorg voor Jeugd (ZVJ), MO-platform (MOP) and VIS2, each with its own database, worker and instanties,
coupled as a mesh (or through a national hub node, LVI). The tests start the same ``Knooppunt``s.

    vir-gateway federatie demo [--basispoort 8101] [--hub]

Each node keeps its database, keys and log under ``$VIR_DATA_DIR/federatie-mesh/<system>`` (or
``federatie-hub``), so a restart picks up where it stopped; the demo prints how to remove it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import requests

SYSTEMEN = ("MULTISIGNAAL", "ZVJ", "MOP", "VIS2")


def instantie_oin(nummer: int, i: int) -> str:
    """The OIN of demo instantie i (0-based) of node number ``nummer``: unique across the federation."""
    return f"{nummer:08d}{i + 1:03d}000000000"


class Proces(Protocol):
    """A started process: what ``subprocess.Popen`` offers and a node uses."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def nieuw_proces(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    out: Path,
    *,
    append: bool = False,
    new_session: bool = False,
) -> Proces:
    """``vir-gateway ARGV`` as a new interpreter, with ``env`` as its environment, output to ``out``."""
    with out.open("ab" if append else "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "vir", *argv],
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=new_session,
        )


Starter = Callable[..., Proces]


@dataclass
class Knooppunt:
    """One node: a gateway (gunicorn) and its federation worker(s), as processes."""

    systeem: str
    nummer: int
    poort: int
    map: Path
    database_url: str | None = None
    hub: bool = False
    workers: int = 1
    # The keys every node of this federation shares (gateway/sleutels.py): VIR_FEDERATIE_SLEUTEL, VIR_VSN_SLEUTEL.
    sleutels: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    # How its processes start (``nieuw_proces``, with the arguments it takes); the tests fork them instead.
    starter: Starter = nieuw_proces
    procs: list[Proces] = field(default_factory=list)

    @property
    def oin(self) -> str:
        return f"{self.nummer:08d}000000000000"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.poort}"

    def instanties(self) -> list[str]:
        return [instantie_oin(self.nummer, i) for i in range(3)]

    def env(self) -> dict[str, str]:
        e = {
            **os.environ,
            "VIR_SYSTEEM": self.systeem,
            "VIR_GATEWAY_OIN": self.oin,
            "VIR_DATA_DIR": str(self.map),
            "VIR_FEDERATIE_MAX_WACHTTIJD": "2",
            "VIR_FEDERATIE_TIMEOUT": "5",
            **self.sleutels,
            **self.extra_env,
        }
        e.pop("VIR_DATABASE_URL", None)
        if self.database_url:
            e["VIR_DATABASE_URL"] = self.database_url
        if self.hub:
            e["VIR_FEDERATIE_HUB"] = "1"
        return e

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vir", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.map / 'vir-gateway.sqlite3').resolve()}"

    def checkpoint_certificaat(self) -> str:
        """The certificate of this node's development checkpoint key (made now if the node never ran), which
        its peers register to witness its log (docs/getuigen.md)."""
        from gateway.log.checkpoint import ensure_development_keys

        _, cert, _ = ensure_development_keys(self.map / "keys", f"vir-gateway {self.oin}")
        return cert.read_text()

    def inrichten(self, peers: list[Knooppunt]) -> None:
        """Register this node's instanties and its peers with their checkpoint certificates (idempotent)."""
        from store.db import Database
        from store.getuigen import Getuigen
        from store.migrate import upgrade
        from store.repository import Repository

        self.map.mkdir(parents=True, exist_ok=True)
        db = Database(self.db_url)
        try:
            upgrade(db)
            with db.transaction() as s:
                repo = Repository(s)
                for i, oin in enumerate(self.instanties()):
                    if repo.instantie(oin) is None:
                        repo.add_instantie(
                            oin, f"{self.systeem} instantie {i + 1}", self.systeem.title(), datetime.now(UTC)
                        )
                for p in peers:  # a restart on other ports moves them
                    repo.zet_peer(p.systeem, f"{p.url}/v1/federatie", p.oin, None, hub=p.hub)
                    Getuigen(s).zet_checkpoint_certificaat(p.systeem, p.checkpoint_certificaat())
        finally:
            db.dispose()

    def start(self) -> None:
        env = self.env()
        commands = [["serve", "--port", str(self.poort), "--workers", "2"]]
        commands += [["worker"]] * self.workers
        for command in commands:
            self.procs.append(
                self.starter(command, env, self.map, self.map / "node.log", append=True, new_session=True)
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet, or busy starting
            if self.procs[0].poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"node {self.systeem} did not start; see {self.map / 'node.log'}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, sig)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs.clear()


def federatie(
    basis: Path,
    basispoort: int,
    *,
    hub: bool = False,
    database_urls: list[str] | None = None,
    workers: int = 1,
    starter: Starter = nieuw_proces,
) -> list[Knooppunt]:
    """Four nodes (and a hub, LVI, when ``hub``), set up but not started. They share a federation key and a
    national key, made under ``basis`` on first use (development keys, like the rest of the demo)."""
    from gateway.sleutels import maak_sleutelbestand

    namen = (*SYSTEMEN, "LVI") if hub else SYSTEMEN
    sleutels = {
        "VIR_FEDERATIE_SLEUTEL": str(maak_sleutelbestand(basis / "federatie.sleutel")),
        "VIR_VSN_SLEUTEL": str(maak_sleutelbestand(basis / "vsn.sleutel")),
    }
    nodes = [
        Knooppunt(
            s,
            i + 2,
            basispoort + i,
            basis / s.lower(),
            database_urls[i] if database_urls else None,
            hub=(s == "LVI"),
            workers=workers,
            sleutels=sleutels,
            starter=starter,
        )
        for i, s in enumerate(namen)
    ]
    for n in nodes:
        if hub:
            peers = [p for p in nodes if p is not n] if n.hub else [p for p in nodes if p.hub]
        else:
            peers = [p for p in nodes if p is not n]
        n.inrichten(peers)
    return nodes


def run(basispoort: int, hub: bool, data_dir: Path) -> int:
    """Set up (or pick up again) and start the nodes under ``data_dir``, one directory per node, until Ctrl-C."""
    # Ctrl-C stops the nodes, also when the demo was started from a script in the background (where a shell
    # has it ignore SIGINT), and so does SIGTERM.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    topologie = "hub" if hub else "mesh"
    basis = (data_dir / f"federatie-{topologie}").resolve()
    nodes = federatie(basis, basispoort, hub=hub)
    try:
        for n in nodes:
            n.start()
        print(f"local federation ({topologie}) running")
        for n in nodes:
            print(f"  {n.systeem:<13} OIN {n.oin}  {n.url}/v1/ketenpartner{'  (the hub)' if n.hub else ''}")
            print(f"  {'':<13} instanties {', '.join(n.instanties())}")
            print(f"  {'':<13} data {n.map}")
        print("Address a node's chain-partner service with its OIN as stuurgegevens/ontvanger and one of its")
        print("instanties as zender; file the same BSN in two nodes and both get a match naming the other system.")
        print(f"Ctrl-C stops all nodes. Their data stays for the next start; to clean up: rm -r {basis}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for n in nodes:
            n.stop()
    print(f"stopped; to clean up: rm -r {basis}", flush=True)
    return 0
