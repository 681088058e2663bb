"""What a filing costs the gateway over mutual TLS, with a connection per request and with kept connections.

    python bench/tls.py [--filings 2000] [--clients 4] [--workers 2] [--rounds 2]

Makes a development PKI in a temporary directory (``vir-gateway pki maak``: a CA, the gateway's server
certificate, one client certificate per demo instantie), starts the gateway with TLS at the gateway (not in
development mode: requests name the demo instanties' designated professional) on a fresh SQLite database, and has
``--clients`` client processes file ``--filings`` unique ``MeldingAfgeven`` requests in all, each answer checked
(HTTP 200 with a meldingId). Three ways, one after the other, each on a fresh gateway, in ``--rounds`` rounds:

- ``per request``: ``VIR_KEEPALIVE_S=0``, gunicorn's sync workers; every request a new TCP connection and a full
  mutual-TLS handshake (as every client had before kept connections);
- ``kept, client closes``: the gateway's default with TLS (``VIR_KEEPALIVE_S=2``, ``gateway.server.Werker``), the
  clients still asking ``Connection: close`` (a client that does not keep its connection);
- ``kept``: the default, the clients keeping their connections (one per client and instantie).

Reported: filings per second, and the CPU time of the gateway's worker processes per filing (user + system, from
``/proc``), which is what a filing costs the gateway whatever the clients cost on the same cores. Compare the
ways within one run; the machine moves the absolute figures.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from endtoend import proc_cpu
from soak import OINS, _body, _bsn, _bsns

GATEWAY = "00000001000000000000"


@dataclass(frozen=True)
class Wijze:
    naam: str
    keepalive: str
    houden: bool  # the clients keep their connections


WIJZEN = (
    Wijze("per request", "0", False),
    Wijze("kept, client closes", "2", False),
    Wijze("kept", "2", True),
)


def _pki(map_: Path) -> None:
    oins = [a for oin in OINS for a in ("--oin", oin)]
    subprocess.run([sys.executable, "-m", "vir", "pki", "maak", str(map_), *oins], check=True, capture_output=True)


def _env(map_: Path, data: Path, keepalive: str) -> dict[str, str]:
    return {
        **os.environ,
        "VIR_DATA_DIR": str(data),
        "VIR_TLS_CERT": str(map_ / "server.pem"),
        "VIR_TLS_KEY": str(map_ / "server-key.pem"),
        "VIR_TLS_CA": str(map_ / "ca.pem"),
        "VIR_TLS_CRL": str(map_ / "crl.pem"),
        "VIR_LOG_KEY": str(map_ / "log-key.pem"),
        "VIR_LOG_CERT": str(map_ / "log.pem"),
        "VIR_VSN_SLEUTEL": str(map_ / "vsn.sleutel"),
        "VIR_FEDERATIE_SLEUTEL": str(map_ / "federatie.sleutel"),
        "VIR_KEEPALIVE_S": keepalive,
    }


def _cpu(arbiter: int) -> float:
    """CPU seconds (user + system) of the arbiter's children, its workers, so far."""
    return proc_cpu(lambda ppid, _pgid, _comm: ppid == arbiter)


@dataclass(frozen=True)
class Klant:
    """What one client process needs (picklable)."""

    poort: int
    map: Path
    houden: bool
    verzoeken: tuple[tuple[str, bytes], ...]


def _klant(k: Klant) -> int:
    """File the requests one after the other; the number answered with a meldingId."""
    contexten = {}
    for oin in OINS:
        ctx = ssl.create_default_context(cafile=str(k.map / "ca.pem"))
        ctx.check_hostname = False
        ctx.load_cert_chain(str(k.map / f"{oin}.pem"), str(k.map / f"{oin}-key.pem"))
        contexten[oin] = ctx
    open_: dict[str, http.client.HTTPSConnection] = {}
    kop = {"Content-Type": "text/xml; charset=utf-8"} | ({} if k.houden else {"Connection": "close"})
    goed = 0
    for oin, body in k.verzoeken:
        conn = open_.get(oin)
        if conn is None:
            conn = http.client.HTTPSConnection("127.0.0.1", k.poort, context=contexten[oin], timeout=30)
            if k.houden:
                open_[oin] = conn
        conn.request("POST", "/v1/ketenpartner", body=body, headers=kop)
        r = conn.getresponse()
        antwoord = r.read()
        if r.status != 200 or b"meldingId" not in antwoord:
            raise RuntimeError(f"HTTP {r.status}: {antwoord[:400]!r}")
        goed += 1
        if not k.houden:
            conn.close()
    for conn in open_.values():
        conn.close()
    return goed


def _verzoeken(n: int) -> list[tuple[str, bytes]]:
    """A third of the youths get a second instantie's melding (a match), as in ``bench/meldingen.lua``."""
    teller = _bsns()
    uit: list[tuple[str, bytes]] = []
    while len(uit) < n:
        x, y, z = (OINS[(len(uit) // 3 + i) % 3] for i in range(3))
        enkel, paar = _bsn(teller), _bsn(teller)
        for oin, nummer in ((x, enkel), (y, paar), (z, paar)):
            namens = b"</g:ontvanger><g:gebruiker>demo</g:gebruiker></kp:stuurgegevens>"
            uit.append((oin, _body(oin, nummer).replace(b"</g:ontvanger></kp:stuurgegevens>", namens, 1)))
    return uit[:n]


def meet(wijze: Wijze, map_: Path, tmp: Path, args: argparse.Namespace) -> tuple[float, float]:
    """(filings/s, worker CPU ms per filing) of one way on a fresh gateway."""
    poortbestand = tmp / "poort"
    poortbestand.unlink(missing_ok=True)
    log = (tmp / "gateway.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vir", "serve", "--demo", "--port", "0", "--port-file", str(poortbestand),
         "--workers", str(args.workers)],
        env=_env(map_, tmp / f"data-{time.monotonic_ns()}", wijze.keepalive),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        einde = time.monotonic() + 120
        while not (poortbestand.exists() and poortbestand.read_text()):
            if proc.poll() is not None or time.monotonic() > einde:
                raise RuntimeError(f"the gateway did not start: see {tmp / 'gateway.log'}")
            time.sleep(0.1)
        poort = int(poortbestand.read_text())
        verzoeken = _verzoeken(args.filings + 30 * args.clients)
        opwarmen, gemeten = verzoeken[: 30 * args.clients], verzoeken[30 * args.clients :]
        with multiprocessing.Pool(args.clients) as pool:
            n = args.clients
            pool.map(_klant, [Klant(poort, map_, True, tuple(opwarmen[i::n])) for i in range(n)])
            klanten = [Klant(poort, map_, wijze.houden, tuple(gemeten[i::n])) for i in range(n)]
            cpu, begin = _cpu(proc.pid), time.perf_counter()
            goed = sum(pool.map(_klant, klanten))
            duur, cpu = time.perf_counter() - begin, _cpu(proc.pid) - cpu
        assert goed == len(gemeten)
        return goed / duur, 1000 * cpu / goed
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--filings", type=int, default=2000, help="measured filings per way (default 2000)")
    p.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    p.add_argument("--workers", type=int, default=2, help="gateway worker processes (default 2)")
    p.add_argument("--rounds", type=int, default=2, help="rounds over the three ways (default 2)")
    args = p.parse_args()
    if min(args.filings, args.clients, args.workers, args.rounds) < 1:
        p.error("every number must be positive")
    print(f"vir-gateway over mutual TLS: {args.filings} filings per way, {args.clients} clients, "
          f"{args.workers} workers, {os.cpu_count()} CPUs")  # fmt: skip
    uitkomst: dict[str, list[tuple[float, float]]] = {w.naam: [] for w in WIJZEN}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _pki(tmp / "pki")
        for ronde in range(args.rounds):
            for wijze in WIJZEN:
                snelheid, cpu = meet(wijze, tmp / "pki", tmp, args)
                uitkomst[wijze.naam].append((snelheid, cpu))
                print(f"  round {ronde + 1}, {wijze.naam:<20} {snelheid:8.1f} filings/s  {cpu:6.2f} ms CPU per filing",
                      flush=True)  # fmt: skip
    print(f"\n{'way':<22}{'filings/s':>12}{'CPU ms/filing':>16}{'CPU vs per request':>20}")
    basis = sum(c for _, c in uitkomst[WIJZEN[0].naam]) / args.rounds
    for wijze in WIJZEN:
        snelheid = sum(s for s, _ in uitkomst[wijze.naam]) / args.rounds
        cpu = sum(c for _, c in uitkomst[wijze.naam]) / args.rounds
        print(f"{wijze.naam:<22}{snelheid:>12.1f}{cpu:>16.2f}{cpu / basis:>19.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
