"""How fast ``vir-gateway log verify`` checks a log: entries per second, and the time for N entries.

    python bench/logverify.py [--entries 1000000] [--workers 2] [--keep DIR]

Builds a SQLite log of N entries through the real writer (``gateway.log.writer.append``, in batches),
with ~0.7 KB payloads like real requests, signs a checkpoint every 100,000 entries, then runs the same
verification as the CLI (signatures, every leaf, every payload digest, the tree against every
checkpoint and the head) and reports the rate. Targets (SPEC §4): ≥ 100,000 entries/s, 1,000,000 in ≤ 10 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

import gateway  # noqa: F401  (Spyne shim first)
from gateway.config import Settings
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel, tijdstempel
from gateway.log.verify import Hoofd, Resultaat, controleer_checkpoints, verify_database
from gateway.log.writer import append
from store.db import Database
from store.migrate import upgrade
from store.models import Checkpoint, LogHoofd

PAYLOAD = (Path(__file__).resolve().parent.parent / "docs" / "examples" / "melding-a.xml").read_bytes()


def build(db: Database, logboek: Logboek, n: int) -> float:
    start = time.perf_counter()
    batch = 10000
    for lo in range(0, n, batch):
        with db.transaction() as s:
            t = tijdstempel(logboek.clock())
            append(
                s,
                [
                    Logregel(
                        t,
                        "inkomend" if i % 2 == 0 else "uitgaand",
                        "MeldingAfgeven",
                        "00000001111111111000",
                        PAYLOAD.replace(b"4a01", f"{i:04x}"[-4:].encode()),
                        bericht_id=f"6f1c8a52-3e0b-4c1e-9a55-{i:012x}",
                    )
                    for i in range(lo, min(lo + batch, n))
                ],
            )
        if (lo + batch) % 100000 == 0 or lo + batch >= n:
            logboek.checkpoint(force=True)
        print(f"\rbuilding: {min(lo + batch, n)}/{n}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--keep", type=Path, help="build (or reuse) the log in this directory")
    args = p.parse_args(argv)

    directory = args.keep or Path(tempfile.mkdtemp(prefix="vir-logbench-"))
    settings = Settings(data_dir=directory)
    db = Database(settings.url)
    upgrade(db)
    logboek = Logboek(settings, db)
    with db.transaction(write=False) as s:
        have = s.execute(select(LogHoofd.grootte)).scalar_one()
    if have < args.entries:
        took = build(db, logboek, args.entries - have)
        print(f"built {args.entries - have} entries in {took:.1f} s")

    cert = logboek.cert_path.read_bytes()
    res = Resultaat()
    t0 = time.perf_counter()
    with db.transaction(write=False) as s:
        head = s.execute(select(LogHoofd)).scalar_one()
        cps = controleer_checkpoints(s.execute(select(Checkpoint.grootte, Checkpoint.xml)).tuples().all(), cert, res)
        hoofd = Hoofd(head.grootte, head.wortel, head.frontier)
        verify_database(db.url, cps, res, head=hoofd, workers=args.workers)
    took = time.perf_counter() - t0
    rate = res.regels / took
    print(
        f"verified {res.regels} entries and {res.checkpoints} checkpoints in {took:.2f} s with {args.workers} "
        f"worker(s): {rate:,.0f} entries/s   ({'OK' if res.ok else 'FAILED: ' + str(res.bevindingen[0])})"
    )
    print(
        f"target >= 100,000 entries/s: {'met' if rate >= 100_000 else 'MISSED'}; "
        f"1,000,000 entries in {1_000_000 / rate:.1f} s (target <= 10 s)"
    )
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
