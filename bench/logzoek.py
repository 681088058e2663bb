"""How long an operator's log search takes in a large log, by what it searches for.

    python bench/logzoek.py [--entries 1000000] [--searches 50] [--keep DIR]

Fills a SQLite log of N entries directly in the store, shaped as the gateway's traffic leaves it: each filing a
request entry (its berichtId) and an answer entry (a berichtId of its own, the request's as kruisverwijzing) at
the same moment, the three demo instanties taking turns, payloads of 1.2 kB; one filing in 500 refused (the
request and a fault entry with one of four fault codes, the request's berichtId as kruisverwijzing). The entries'
leaf hashes are not computed (a search does not read them; ``log verify`` would fail on this log). Then it runs
the searches of ``vir-gateway log search`` (``store.logboek.zoek``, which the console's search shares) the way an
operator does, a page of 50 each: by the berichtId of a random request (which finds its answer too), of a random
answer, of a random refused request; by each fault code; by an instantie; by a minute of the log (a filing every
10 ms: the rate of a back-load, not of everyday traffic). It prints each kind's median and slowest time, and how
many entries a search found.

It imports the store of ``PYTHONPATH`` or the installed one, so two trees can be compared on one log (``--keep``
builds it once: the tree that builds it brings its migrations).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from logproof import kept_log  # bench/, the directory of this script
from sqlalchemy import func, select

import gateway  # noqa: F401  (Spyne shim first)
from store.db import Database
from store.logboek import Zoekvraag, zoek
from store.models import LogregelRij

ACTOREN = ("00000001111111111000", "00000002222222222000", "00000003333333333000")
FOUTCODES = ("VIR-BSN-ONGELDIG", "VIR-SCHEMA-ONGELDIG", "VIR-MELDING-BESTAAT-AL", "VIR-INSTANTIE-GESCHORST")
WEIGERING = 500  # one filing in so many is refused
PAYLOAD = 1200


def bericht_id(soort: str, i: int) -> str:
    return f"{soort}0000000-0000-4000-8000-{i:012x}"


def tijd(i: int) -> str:
    """Filing i's moment: a filing every 10 ms from 2026-12-01 on."""
    s, cs = divmod(i, 100)
    m, s = divmod(s, 60)
    u, m = divmod(m, 60)
    d, u = divmod(u, 24)
    return f"2026-12-{1 + d:02d}T{u:02d}:{m:02d}:{s:02d}.{cs * 10000:06d}Z"


def fill(path: Path, n: int) -> float:
    """n entries: n // 2 filings, each a request entry and its answer or fault."""
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(1)
    payload = bytes(rng.getrandbits(8) for _ in range(PAYLOAD))
    leeg = b"\0" * 32
    sql = (
        "INSERT INTO logregel (volgnummer, tijdstip, soort, operatie, actor, bericht_id, kruisverwijzing, foutcode, "
        "payload_digest, payload_lengte, payload, leaf) VALUES (?, ?, ?, 'MeldingAfgeven', ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    rows: list[tuple[object, ...]] = []
    for i in range(n // 2):
        t, actor, vraag = tijd(i), ACTOREN[i % 3], bericht_id("a", i)
        rows.append((2 * i, t, "inkomend", actor, vraag, None, None, leeg, PAYLOAD, payload, leeg))
        if i % WEIGERING == WEIGERING - 1:
            code = FOUTCODES[(i // WEIGERING) % len(FOUTCODES)]
            rows.append((2 * i + 1, t, "fout", actor, None, vraag, code, leeg, PAYLOAD, payload, leeg))
        else:
            rows.append(
                (2 * i + 1, t, "uitgaand", actor, bericht_id("b", i), vraag, None, leeg, PAYLOAD, payload, leeg)
            )
        if len(rows) >= 100_000:
            conn.executemany(sql, rows)
            rows.clear()
            print(f"\rfilling: {2 * i + 2:,}/{n:,}", end="", file=sys.stderr, flush=True)
    conn.executemany(sql, rows)
    conn.commit()
    conn.close()
    print(file=sys.stderr)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--searches", type=int, default=50, help="searches of each kind by a random berichtId")
    p.add_argument("--keep", type=Path, help="build (or reuse) the log in this directory")
    args = p.parse_args(argv)
    if args.entries < 2 * WEIGERING:
        p.error(f"--entries must be at least {2 * WEIGERING}")

    gevuld = kept_log(args.keep, "vir-logzoek-", args.entries, _count, fill, "entries")
    if gevuld is None:
        return 2
    settings, db = gevuld
    size = sum(f.stat().st_size for f in settings.data_dir.glob("vir-gateway.sqlite3*")) / 2**30
    print(f"log of {args.entries:,} entries, {size:.2f} GiB; load average {os.getloadavg()[0]:.2f}")

    filings = args.entries // 2
    rng = random.Random(2)
    geweigerd = list(range(WEIGERING - 1, filings, WEIGERING))
    beantwoord = [
        i for i in rng.sample(range(filings), min(filings, 2 * args.searches)) if i % WEIGERING != WEIGERING - 1
    ]
    soorten: list[tuple[str, list[Zoekvraag]]] = [
        ("berichtId of a request", [Zoekvraag(bericht_id=bericht_id("a", rng.randrange(filings)))
                                    for _ in range(args.searches)]),
        ("berichtId of an answer", [Zoekvraag(bericht_id=bericht_id("b", i))
                                    for i in beantwoord[: args.searches]]),
        ("berichtId of a refused request", [Zoekvraag(bericht_id=bericht_id("a", rng.choice(geweigerd)))
                                            for _ in range(args.searches)]),
        ("fault code", [Zoekvraag(foutcode=c) for c in FOUTCODES]),
        ("instantie", [Zoekvraag(actor=a) for a in ACTOREN]),
        ("a minute (12,000 entries)", [Zoekvraag(van=tijd(m * 6000), tot=tijd((m + 1) * 6000))
                                       for m in range(0, max(1, filings // 6000), max(1, filings // 6000 // 10))]),
    ]  # fmt: skip
    print(f"\n{'search (a page of 50)':<32} {'searches':>8} {'p50 ms':>9} {'max ms':>9} {'found':>7}")
    for naam, vragen in soorten:
        tijden, gevonden = [], []
        for vraag in vragen:
            with db.transaction(write=False) as s:
                t0 = time.perf_counter()
                gevonden.append(len(zoek(s, vraag, limit=50)))
                tijden.append(time.perf_counter() - t0)
        print(
            f"{naam:<32} {len(tijden):>8} {1000 * statistics.median(tijden):>9.2f} {1000 * max(tijden):>9.2f} "
            f"{min(gevonden)}…{max(gevonden)}"
        )
    db.dispose()
    return 0


def _count(db: Database) -> int:
    with db.transaction(write=False) as s:
        return int(s.execute(select(func.count()).select_from(LogregelRij)).scalar_one())


if __name__ == "__main__":
    sys.exit(main())
