"""The gateway's own cost per request, in process: no HTTP, no gunicorn, no client on the same cores.

    python bench/inproces.py batch [--n 12] [--database URL] [--profile]
    python bench/inproces.py single [--n 1500] [--database URL] [--profile]
    python bench/inproces.py echo [--n 3000] [--profile]
    python bench/inproces.py batch --aanwijzing     (filers must be designated, as outside development mode)
    python bench/inproces.py single --lock          (also the time the SQLite writer lock is held)
    PYTHONHASHSEED=0 valgrind --tool=callgrind --instr-atstart=no python bench/inproces.py batch --n 6 --callgrind

Builds the gateway's WSGI application on a fresh store (SQLite in a temporary directory, or a fresh database
on the PostgreSQL server of ``--database``, created and dropped), registers the two demo instanties the other
benchmarks use, and posts the requests through the WSGI interface one after the other, as gunicorn would:
``batch`` sends N ``MeldingenAfgeven`` of 1,000 meldingen (``bench/batch.py``'s envelopes: a third of the
youths get the second instantie's melding in later batches), ``single`` sends N ``MeldingAfgeven`` in
``bench/meldingen.lua``'s mix (of every three, two youths new to the index and one second instantie on a youth:
a match). ``echo`` posts N envelopes of the single filing's size to the bare Spyne echo service
(``bench/echo_app.py``, ``meldingen.lua``'s echo body): the floor ``bench/endtoend.py`` compares with, here
without HTTP, so the two ratios below are the gateway's own cost against Spyne's, free of what the machine's
network stack and scheduler cost per request. The first request is not timed. Every answer must be HTTP 200.
``--profile`` prints cProfile's 40 most expensive calls (cumulative). ``--aanwijzing``: both instanties' profiles
require designated filers, as every profile does outside development mode unless it says otherwise (the other
benchmarks run the gateway in its demo, development mode), and every request names the one designated
professional as ``stuurgegevens/gebruiker``.

The ratios end to end (``bench/endtoend.py``, ``bench/batch.py``) put the same HTTP and gunicorn cost on both
sides; that cost moves with the machine (the echo went from about 2,000 to 550 requests/s between two machines
of the same kind while a batch slowed by a third), so the in-process ratio is the one to compare across days.

Use it to compare two trees in the same minutes (run it in each checkout); the machine's load moves the
absolute figures, not the difference between trees measured one after the other.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import echo_app
from batch import A, B, bsns, envelope
from endtoend import fresh_database
from schaal import wsgi_post

from gateway.config import Settings
from store import db as db_module
from store.db import Database
from store.migrate import upgrade
from store.profielen import Profielen
from store.repository import Repository
from vir.app import create_app


def _melding(oin: str, bsn: str) -> bytes:
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>'
        f"<kp:MeldingAfgeven><kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>"
        "<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>"
        f"<g:zender><g:oin>{oin}</g:oin><g:applicatie>bench</g:applicatie></g:zender>"
        "<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>"
        f"<kp:jongere><g:bsn>{bsn}</g:bsn></kp:jongere>"
        "<kp:meldingsbevoegde><g:naam>Bench Professional</g:naam><g:telefoon>050-1234567</g:telefoon>"
        "</kp:meldingsbevoegde></kp:MeldingAfgeven></soap:Body></soap:Envelope>"
    ).encode()


def _verzoeken(soort: str, n: int) -> list[bytes]:
    if soort == "batch":
        per = 1000
        jongeren = bsns((n + 1) * per, 1)
        uit: list[bytes] = []
        eigen: list[list[str]] = []  # A's batches, in order
        for i in range(n + 1):
            if i % 3 == 2:  # B files on the youths of A's batch before the last: matches
                uit.append(envelope(B, eigen[-2], i * per))
            else:
                eigen.append(jongeren[len(eigen) * per : (len(eigen) + 1) * per])
                uit.append(envelope(A, eigen[-1], i * per))
        return uit
    jongeren = bsns(n + 1, 2)
    return [_melding(B if i % 3 == 2 else A, jongeren[2 * (i // 3) + (0 if i % 3 == 0 else 1)]) for i in range(n + 1)]


def _echo(n: int) -> list[bytes]:
    """Echo envelopes exactly as long as the single filing's (as ``meldingen.lua`` pads them)."""
    lengte = len(_melding(A, "000000000"))
    kop = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:e="urn:nl:vir:gateway:bench:echo:v1"><soap:Body><e:echo><e:s>'
    )
    staart = "</e:s></e:echo></soap:Body></soap:Envelope>"
    uit = []
    for _ in range(n + 1):
        s = f"berichtId={uuid.uuid4()};"
        uit.append((kop + s + "x" * (lengte - len(kop) - len(staart) - len(s)) + staart).encode())
    return uit


def _post(app: object, body: bytes) -> None:
    status, antwoord = wsgi_post(app, body)
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {antwoord[:600]!r}")


def _callgrind(aan: bool) -> None:
    """Switch callgrind's instrumentation of this process (``--callgrind``: run under ``valgrind --tool=callgrind
    --instr-atstart=no``, so only the timed requests are counted)."""
    subprocess.run(
        ["callgrind_control", "-i", "on" if aan else "off", str(os.getpid())], check=True, capture_output=True
    )


class _Schrijfslot:
    """The seconds the SQLite writer lock (``store/db.py``) is held while ``aan``: every write transaction of every
    worker holds it, so with two workers it bounds what they file together (``bench/README.md``)."""

    def __init__(self) -> None:
        self.seconden = 0.0
        self.aan = False
        origineel = db_module._WriterLock.held
        slot = self

        @contextlib.contextmanager
        def held(lock: object) -> Iterator[None]:
            with origineel(lock):  # type: ignore[arg-type]
                begin = time.perf_counter()
                try:
                    yield
                finally:
                    if slot.aan:
                        slot.seconden += time.perf_counter() - begin

        db_module._WriterLock.held = held  # type: ignore[method-assign,assignment]


_SLOT: _Schrijfslot | None = None


def _tijd(app: object, verzoeken: list[bytes], profiel: bool, callgrind: bool = False) -> float:
    """Post the requests after the first; the seconds they took (cProfile's top 40 printed with ``profiel``).
    After the first, what the application built is frozen out of the garbage collector's sight, as a gunicorn
    worker does (``gateway/server.py``)."""
    _post(app, verzoeken[0])
    gc.freeze()
    if _SLOT is not None:
        _SLOT.aan = True
    p = cProfile.Profile() if profiel else None
    if callgrind:
        _callgrind(True)
    begin = time.perf_counter()
    if p is not None:
        p.enable()
    for body in verzoeken[1:]:
        _post(app, body)
    if p is not None:
        p.disable()
    duur = time.perf_counter() - begin
    if callgrind:
        _callgrind(False)
    if p is not None:
        pstats.Stats(p).sort_stats("cumulative").print_stats(40)
    return duur


_BEVOEGDE = "bench-1"


def _meet(
    soort: str, n: int, url: str, data: Path, profiel: bool, callgrind: bool = False, aanwijzing: bool = False
) -> float:
    if soort == "echo":
        return _tijd(echo_app.create_app(), _echo(n), profiel, callgrind)
    db = Database(url)
    try:
        upgrade(db)
        with db.transaction() as s:
            repo = Repository(s)
            for oin in (A, B):
                instantie = repo.add_instantie(oin, f"Instantie {oin[-6:]}", None, datetime.now(UTC))
                if aanwijzing:
                    s.flush()
                    profielen = Profielen(s)
                    profielen.inhoud_voor_wijziging(instantie.id).aanwijzing = True
                    profielen.aanwijzen(
                        instantie.id, _BEVOEGDE, "Bench Professional", None, None, None, datetime.now(UTC)
                    )
        verzoeken = _verzoeken(soort, n)
        if aanwijzing:
            kop = b"</g:ontvanger></kp:stuurgegevens>"
            namens = f"</g:ontvanger><g:gebruiker>{_BEVOEGDE}</g:gebruiker></kp:stuurgegevens>".encode()
            verzoeken = [v.replace(kop, namens, 1) for v in verzoeken]
        with contextlib.redirect_stderr(io.StringIO()):  # the gateway's access lines
            app = create_app(Settings(data_dir=data, database_url=url), db)
            return _tijd(app, verzoeken, profiel, callgrind)
    finally:
        db.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("soort", choices=["batch", "single", "echo"])
    p.add_argument("--n", type=int, help="requests timed (default: 12 batches, 1500 single filings, 3000 echoes)")
    p.add_argument("--database", help="a PostgreSQL URL: a fresh database on that server (default: SQLite)")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--aanwijzing", action="store_true", help="filers must be designated (the production default)")
    p.add_argument(
        "--callgrind",
        action="store_true",
        help="count only the timed requests' instructions: run under valgrind --tool=callgrind --instr-atstart=no",
    )
    p.add_argument("--lock", action="store_true", help="also the time the SQLite writer lock is held (SQLite only)")
    args = p.parse_args()
    n = args.n or {"batch": 12, "single": 1500, "echo": 3000}[args.soort]
    global _SLOT
    if args.lock:
        _SLOT = _Schrijfslot()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database) as pg:
        url = pg or f"sqlite:///{Path(tmp) / 'vir.sqlite3'}"
        duur = _meet(args.soort, n, url, Path(tmp), args.profile, args.callgrind, args.aanwijzing)
    eenheid = {"batch": "batch of 1,000", "single": "filing", "echo": "echo"}[args.soort]
    print(f"{n} {args.soort} requests in {duur:.2f} s: {duur / n * 1000:.2f} ms per {eenheid}")
    if _SLOT is not None:
        print(
            f"the writer lock held {_SLOT.seconden / n * 1000:.2f} ms per {eenheid} "
            f"({_SLOT.seconden / duur * 100:.0f} % of the time)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
