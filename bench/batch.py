"""Bulk back-load benchmark: N meldingen through ``MeldingenAfgeven`` in batches, on SQLite.

    python bench/batch.py [--meldingen 100000] [--batch 1000] [--clients 2] [--workers 2]

Starts ``vir-gateway serve --demo`` on a fresh SQLite database in a temporary directory, and sends
the meldingen as raw SOAP 1.1 envelopes (built once, before the clock starts) from ``--clients``
threads, each batch a separate request, as a record system back-loading its caseload would. A third
of the youths get meldingen of two instanties, so matches and signals are part of the work. Every
answer is checked: HTTP 200 and ``afgegeven`` equal to the batch size. The targets (SPEC §4): 100,000
meldingen in at most 60 s, and meldingen filed at least three times as fast as the bare Spyne echo service
answers requests, measured in the same run on the same server stack (``bench/endtoend.py``'s echo and wrk
load, ``--echo-duration`` seconds before and again after the batch, the ratio taken to their mean;
skipped without wrk).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from endtoend import ECHO, BenchError, Options, RequestsFailed, measure

A, B = "00000001111111111000", "00000001222222222000"


def bsns(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out = []
    while len(out) < n:
        d = [rng.randint(0, 9) for _ in range(8)]
        rest = (sum(x * w for x, w in zip(d, range(9, 1, -1), strict=True))) % 11
        if rest == 10:
            continue
        b = "".join(map(str, d)) + str(rest)
        if b not in seen and b != "000000000":
            seen.add(b)
            out.append(b)
    return out


def envelope(oin: str, youths: list[str], start: int) -> bytes:
    items = "".join(
        f"<kp:item><kp:referentie>r{start + i}</kp:referentie><kp:jongere><g:bsn>{b}</g:bsn></kp:jongere>"
        f"<kp:meldingsbevoegde><g:naam>Bench Professional</g:naam></kp:meldingsbevoegde></kp:item>"
        for i, b in enumerate(youths)
    )
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>'
        f"<kp:MeldingenAfgeven><kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>"
        "<g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>"
        f"<g:zender><g:oin>{oin}</g:oin><g:applicatie>bench</g:applicatie></g:zender>"
        "<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens>"
        f"{items}</kp:MeldingenAfgeven></soap:Body></soap:Envelope>"
    ).encode()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--meldingen", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--echo-duration", type=int, default=10, help="seconds of the echo's measurement (0: none)")
    args = p.parse_args()

    # Two thirds of the meldingen by A on distinct youths, one third by B on youths A also has: matches.
    n_b = args.meldingen // 3
    youths = bsns(args.meldingen - n_b, 1)
    work = [(A, youths[i : i + args.batch], i) for i in range(0, len(youths), args.batch)]
    work += [(B, youths[i : min(i + args.batch, n_b)], len(youths) + i) for i in range(0, n_b, args.batch)]
    bodies = [(len(y), envelope(oin, y, s)) for oin, y, s in work]

    wrk = shutil.which("wrk")
    if args.echo_duration <= 0 or wrk is None:
        print("no echo measured (--echo-duration 0, or wrk not on PATH): no bulk ratio")
        echo_voor = None
    else:
        # The echo before and after the batch: the machine's load drifts over a minute, and the mean of both
        # brackets the batch.
        echo_voor = _echo(wrk, args.echo_duration, args.workers)
        if echo_voor is None:
            return 2

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        env = {"VIR_DATA_DIR": tmp, "PATH": "/usr/bin:/bin"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "vir", "serve", "--demo", "--port", "0", "--port-file", str(port_file),
             "--workers", str(args.workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not port_file.exists() or not port_file.read_text():
                if proc.poll() is not None:
                    print("the gateway did not start", file=sys.stderr)
                    return 2
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}/v1/ketenpartner"
            time.sleep(1.0)
            session = requests.Session()

            def send(item: tuple[int, bytes]) -> int:
                size, body = item
                r = session.post(url, data=body, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=600)
                m = re.search(rb"<[^>]*afgegeven>(\d+)<", r.content)
                if r.status_code != 200 or m is None or int(m.group(1)) != size:
                    raise RuntimeError(f"batch failed: HTTP {r.status_code} {r.content[:300]!r}")
                return size

            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                done = sum(pool.map(send, bodies))
            elapsed = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(30)
    rate = done / elapsed
    print(f"{done} meldingen in {len(bodies)} batches of up to {args.batch}: {elapsed:.1f} s ({rate:.0f}/s)")
    print(f"target: {args.meldingen} in <= 60 s: {'met' if elapsed <= 60 else 'missed'}")
    if echo_voor is None:
        return 0
    assert wrk is not None
    echo_na = _echo(wrk, args.echo_duration, args.workers)
    if echo_na is None:
        return 2
    echo = (echo_voor + echo_na) / 2
    bulk = rate / echo
    print(
        f"echo, same run and stack: {echo:.0f} requests/s, the mean of {echo_voor:.0f} before and {echo_na:.0f} "
        f"after ({args.workers} workers, 32 connections)"
    )
    print(f"bulk ratio (meldingen/s / echo requests/s): {bulk:.2f}   target >= 3: {'met' if bulk >= 3 else 'MISSED'}")
    return 0


def _echo(wrk: str, duur: int, workers: int) -> float | None:
    """The bare Spyne echo's request rate on the same server stack (``bench/endtoend.py``), or None."""
    try:
        return measure(wrk, ECHO, Options(duur, 2, 32, 2, (workers,), 10), workers).requests_per_s
    except (BenchError, RequestsFailed) as exc:
        print(f"the echo could not be measured: {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
