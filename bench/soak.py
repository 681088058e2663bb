"""Memory under a steady load: the gateway's workers may not grow by more than 10 % over a 10-minute soak at
half the maximum throughput (SPEC §4).

    python bench/soak.py [--duration 600] [--rate N] [--workers 2] [--interval 30] [--database URL]

Starts the gateway as ``bench/endtoend.py`` does (a fresh SQLite database, or with ``--database`` a fresh
PostgreSQL database on that server). Without ``--rate`` it first measures the maximum throughput with wrk for
10 s and takes half of it. Then client threads file unique ``MeldingAfgeven`` requests at that rate (a third of
them make a match), every answer checked; after a warm-up of one interval the resident memory (RSS) of every
worker is read every ``--interval`` seconds. The report: each worker's RSS at the start and the end of the
measured time, the largest growth, and the target. A worker that restarted (gunicorn replaces one that died)
fails the run.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from endtoend import GATEWAY, BenchError, Options, Server, fresh_database, run_wrk

TARGET_GROWTH = 0.10
OINS = ("00000001111111111000", "00000001222222222000", "00000001333333333000")


def _bsns() -> itertools.count[int]:
    return itertools.count(20_000_000 + int(time.time()) % 1_000_000 * 50)


def _bsn(teller: itertools.count[int]) -> str:
    while True:
        digits = f"{next(teller):08d}"
        rest = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if rest < 10:
            return digits + str(rest)


def _body(oin: str, bsn: str) -> bytes:
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>'
        f"<kp:MeldingAfgeven><kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>"
        "<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>"
        f"<g:zender><g:oin>{oin}</g:oin><g:applicatie>soak</g:applicatie></g:zender>"
        "<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>"
        f"<kp:jongere><g:bsn>{bsn}</g:bsn></kp:jongere>"
        "<kp:meldingsbevoegde><g:naam>Soak Professional</g:naam></kp:meldingsbevoegde>"
        "</kp:MeldingAfgeven></soap:Body></soap:Envelope>"
    ).encode()


def _workers(arbiter: int) -> dict[int, int]:
    """RSS in KiB of every child of the gunicorn arbiter."""
    uit = {}
    for naam in Path("/proc").iterdir():
        if not naam.name.isdigit():
            continue
        try:
            stat = (naam / "stat").read_text()
            status = (naam / "status").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) != arbiter:
            continue
        for regel in status.splitlines():
            if regel.startswith("VmRSS:"):
                uit[int(naam.name)] = int(regel.split()[1])
    return uit


class Last:
    """Client threads filing at a fixed rate; counts answers and failures."""

    def __init__(self, url: str, rate: float, threads: int = 8) -> None:
        self.url, self.rate, self.threads = url, rate, threads
        self.ok = self.fout = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._teller = _bsns()
        self._volgende = time.monotonic()
        self._groep = itertools.count()
        self._wachtrij: list[bytes] = []

    def _werk(self) -> bytes:
        with self._lock:
            if not self._wachtrij:
                g = next(self._groep)
                x, y, z = (OINS[(g + i) % 3] for i in range(3))
                enkel, paar = _bsn(self._teller), _bsn(self._teller)
                self._wachtrij = [_body(z, paar), _body(y, paar), _body(x, enkel)]
            # The fixed rate: each request has its moment.
            self._volgende = max(self._volgende + 1 / self.rate, time.monotonic() - 1)
            moment = self._volgende
            body = self._wachtrij.pop()
        time.sleep(max(0.0, moment - time.monotonic()))
        return body

    def _draad(self) -> None:
        sessie = requests.Session()
        while not self.stop.is_set():
            body = self._werk()
            try:
                r = sessie.post(self.url, data=body, headers={"Content-Type": "text/xml"}, timeout=30)
                goed = r.status_code == 200 and b"MeldingAfgevenResponse" in r.content
            except requests.RequestException:
                goed = False
            with self._lock:
                if goed:
                    self.ok += 1
                else:
                    self.fout += 1

    def start(self) -> list[threading.Thread]:
        draden = [threading.Thread(target=self._draad, daemon=True) for _ in range(self.threads)]
        for d in draden:
            d.start()
        return draden


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=int, default=600, help="measured seconds (default 600)")
    p.add_argument("--rate", type=float, help="filings per second (default: half the maximum, measured first)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--interval", type=int, default=30, help="seconds between RSS readings (and of the warm-up)")
    p.add_argument("--database", metavar="URL", help="PostgreSQL server for a fresh database (default: SQLite)")
    args = p.parse_args()
    wrk = shutil.which("wrk")
    if args.rate is None and wrk is None:
        print("wrk not on PATH: give --rate", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="vir-soak-") as tmp,
        fresh_database(args.database) as url,
        Server(GATEWAY, Path(tmp), args.workers, url) as server,
    ):
        rate = args.rate
        if rate is None:
            assert wrk is not None
            opts = Options(10, 0, 32, 2, (args.workers,), 10)
            maximum = run_wrk(wrk, server, opts, 0, 10, 1).requests_per_s
            rate = maximum / 2
            print(f"maximum {maximum:.0f} filings/s (wrk, 10 s); soaking at {rate:.0f}/s", flush=True)
        last = Last(server.url, rate)
        draden = last.start()
        try:
            time.sleep(args.interval)  # warm-up: imports, caches, connection pools
            begin = _workers(server.proc.pid if server.proc else 0)
            print(f"after warm-up: {', '.join(f'{pid}: {kib / 1024:.1f} MiB' for pid, kib in begin.items())}")
            gezien = dict(begin)
            einde = time.monotonic() + args.duration
            while time.monotonic() < einde:
                time.sleep(min(args.interval, max(0.0, einde - time.monotonic())))
                nu = _workers(server.proc.pid if server.proc else 0)
                if set(nu) != set(begin):
                    raise BenchError(f"the workers changed ({sorted(begin)} -> {sorted(nu)}): one died")
                gezien = nu
                print(
                    f"  {time.monotonic() - einde + args.duration:5.0f} s: "
                    + ", ".join(f"{kib / 1024:.1f}" for kib in nu.values())
                    + f" MiB; {last.ok} answered, {last.fout} failed",
                    flush=True,
                )
        except BenchError as exc:
            print(f"soak failed: {exc}", file=sys.stderr)
            return 1
        finally:
            last.stop.set()
            for d in draden:
                d.join(35)
    groei = max((gezien[pid] - kib) / kib for pid, kib in begin.items())
    print(f"{last.ok} filings answered at {rate:.0f}/s, {last.fout} failed")
    print(
        f"largest RSS growth of a worker over {args.duration} s: {100 * groei:.1f} %   "
        f"target <= {100 * TARGET_GROWTH:.0f} %: {'met' if groei <= TARGET_GROWTH else 'MISSED'}"
    )
    return 1 if last.fout else 0


if __name__ == "__main__":
    sys.exit(main())
