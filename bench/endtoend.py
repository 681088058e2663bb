"""End-to-end benchmark: ``MeldingAfgeven`` over HTTP against a bare Spyne echo service.

    python bench/endtoend.py [--duration S] [--warmup S] [--connections C] [--threads T] [--workers W]
                             [--keepalive S] [--timeout S] [--json FILE] [--check]

Both services run on the same server stack (``gateway.server``: gunicorn, same settings, same number of
sync workers, or with ``--keepalive`` the gateway's own worker, which keeps connections) and are loaded by
``wrk`` with ``bench/meldingen.lua`` at the same concurrency for the same time, one after the other: first
the echo service (``bench/echo_app.py``), then the gateway (``vir-gateway serve --demo`` on a fresh SQLite
database in a temporary directory). Every request is a unique, valid message; every answer is checked (HTTP
200 with the expected response element).

Around each measured run it reads the CPU time of the service's processes, of wrk and of PostgreSQL's
processes (``/proc``), and prints it per request: the ratio of the two is the ceiling of the rate ratio when
both keep the cores busy.

The ratio gateway req/s / echo req/s says how much of the bare framework's throughput the gateway keeps
once it adds what it is for (schema validation, the business rules, a database transaction and its
answer). The specification asks for a ratio >= 0.5 and a gateway p99 <= 50 ms at 32 connections.

Exit status: 0 done (targets are reported, and enforced only with ``--check``), 1 requests failed,
2 wrong usage, wrk missing or a server that did not start, 3 a target missed under ``--check``.
Nothing is installed; ``wrk`` must be on PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, astuple, dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "meldingen.lua"
ECHO_APP = HERE / "echo_app.py"

TARGET_RATIO = 0.5
"""Gateway throughput must be at least this fraction of the echo service's."""
TARGET_P99_FACTOR = 3.0
"""Gateway p99 latency at 32 connections must not exceed this multiple of the echo's p99 in the same run."""
TARGET_SERIAL = 0.05
"""Share of a filing's time spent holding the log head, a lock every filing needs (SPEC §4, PostgreSQL)."""

HOST = "127.0.0.1"
RUNS_PER_SERVER = 2
"""wrk invocations per server: the warm-up (run 0) and the measurement (run 1); they use disjoint BSNs."""
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class BenchError(Exception):
    """The benchmark could not run (exit status 2)."""


class RequestsFailed(Exception):
    """Requests failed during a run (exit status 1); the message carries the evidence."""


@dataclass(frozen=True)
class Service:
    """One service under test: how to start it and where to send what."""

    name: str
    mode: str
    """The MODE argument of meldingen.lua."""
    path: str
    probe: str
    """GET path that answers (with any status) once a worker is up."""
    env: tuple[tuple[str, str], ...] = ()
    """Extra environment of the server."""

    def command(self, port_file: Path, workers: int) -> list[str]:
        """The command line that starts this service on a free loopback port."""
        common = ["--host", HOST, "--port", "0", "--port-file", str(port_file), "--workers", str(workers)]
        if self.mode == "echo":
            return [sys.executable, str(ECHO_APP), *common]
        return [sys.executable, "-m", "vir", "serve", "--demo", *common]


ECHO = Service("echo", "echo", "/echo", "/echo")
GATEWAY = Service("gateway", "gateway", "/v1/ketenpartner", "/health")
# The same gateway with its message-log writer switched off: only to measure what the log costs.
GATEWAY_ZONDER_LOG = Service("nolog", "gateway", "/v1/ketenpartner", "/health", (("VIR_BENCH_ZONDER_LOG", "1"),))


@dataclass(frozen=True)
class Lock:
    """What the gateway's /metrics said about the log head over one measured run, summed over its workers."""

    filings: int
    filing_s: float
    """Sum of the filings' own times (``vir_request_duration_seconds``, MeldingAfgeven)."""
    held: int
    held_s: float
    """Sum of the times a transaction held the log head (``vir_log_head_held_seconds``)."""
    wait_s: float
    """Sum of the times transactions waited for it (``vir_log_head_wait_seconds``)."""

    @property
    def serial_fraction(self) -> float:
        return self.held_s / self.filing_s if self.filing_s else 0.0

    def minus(self, before: Lock) -> Lock:
        return Lock(
            self.filings - before.filings,
            self.filing_s - before.filing_s,
            self.held - before.held,
            self.held_s - before.held_s,
            self.wait_s - before.wait_s,
        )


_METRIC = re.compile(r"^([a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+)$")


TIK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cpu:
    """CPU seconds (user + system) spent during a measured run: by the service's processes (arbiter and
    workers, every process of its process group), by wrk, and by the database server's processes (PostgreSQL's
    backends; 0 for SQLite, which runs inside the workers); and the seconds the run lasted."""

    service_s: float
    wrk_s: float
    database_s: float
    wall_s: float

    @property
    def total_s(self) -> float:
        return self.service_s + self.wrk_s + self.database_s

    def minus(self, before: Cpu) -> Cpu:
        return Cpu(*(a - b for a, b in zip(astuple(self), astuple(before), strict=True)))


def proc_cpu(keep: Callable[[int, int, str], bool]) -> float:
    """CPU seconds (user + system) so far of every process ``keep(ppid, pgid, comm)`` accepts, read from ``/proc``
    (0 where there is none)."""
    totaal = 0
    proc = Path("/proc")
    if not proc.is_dir():
        return 0.0
    for naam in proc.iterdir():
        if not naam.name.isdigit():
            continue
        try:
            stat = (naam / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        velden = stat.rpartition(")")[2].split()
        if keep(int(velden[1]), int(velden[2]), comm):
            totaal += int(velden[11]) + int(velden[12])
    return totaal / TIK


def read_cpu(servers: list[Server], database: bool) -> Cpu:
    """The CPU so far of the servers' process groups, of this script's finished children (wrk), and of the
    database server's processes."""
    groepen = {s.proc.pid for s in servers if s.proc is not None}
    kinderen = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Cpu(
        service_s=proc_cpu(lambda _ppid, pgid, _comm: pgid in groepen),
        wrk_s=kinderen.ru_utime + kinderen.ru_stime,
        database_s=proc_cpu(lambda _ppid, _pgid, comm: comm.startswith("postgres")) if database else 0.0,
        wall_s=time.monotonic(),
    )


def read_lock(server: Server) -> Lock:
    """The log-head sums from the gateway's /metrics (every worker's, in prometheus' multi-process mode)."""
    with urllib.request.urlopen(f"http://{HOST}:{server.port}/metrics", timeout=30) as r:
        text = r.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        m = _METRIC.match(line)
        if m is None:
            continue
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        if name.startswith("vir_request_duration_seconds") and 'operation="MeldingAfgeven"' not in labels:
            continue
        if name.endswith(("_sum", "_count")):
            values[name] = values.get(name, 0.0) + value
    return Lock(
        int(values.get("vir_request_duration_seconds_count", 0)),
        values.get("vir_request_duration_seconds_sum", 0.0),
        int(values.get("vir_log_head_held_seconds_count", 0)),
        values.get("vir_log_head_held_seconds_sum", 0.0),
        values.get("vir_log_head_wait_seconds_sum", 0.0),
    )


@dataclass(frozen=True)
class Result:
    """What one measured wrk run produced."""

    service: str
    requests: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    request_bytes: int
    failed: int
    """Answers that were not HTTP 200 with the expected element, plus socket errors and timeouts."""
    socket_errors: dict[str, int]
    sample_status: int
    sample_body: str
    workers: int = 0
    lock: Lock | None = None
    """The gateway's log-head accounting over the measured run (None for the echo)."""
    cpu: Cpu | None = None
    """CPU seconds spent during the measured run, by whom."""

    @classmethod
    def from_wrk(cls, service: str, raw: dict[str, Any]) -> Result:
        """Build from the JSON line that meldingen.lua prints in ``done()``."""
        lat = raw["latency_us"]
        errors = {k: int(v) for k, v in raw["errors"].items() if k != "status"}
        duration_s = raw["duration_us"] / 1e6
        return cls(
            service=service,
            requests=raw["requests"],
            duration_s=duration_s,
            requests_per_s=raw["requests"] / duration_s if duration_s else 0.0,
            p50_ms=lat["p50"] / 1000,
            p90_ms=lat["p90"] / 1000,
            p99_ms=lat["p99"] / 1000,
            max_ms=lat["max"] / 1000,
            mean_ms=lat["mean"] / 1000,
            request_bytes=raw["request_bytes"],
            failed=raw["bad"] + sum(errors.values()),
            socket_errors=errors,
            sample_status=raw["sample_status"],
            sample_body=raw["sample_body"],
        )


@dataclass(frozen=True)
class Options:
    """The load shape, identical for both services."""

    duration: int
    warmup: int
    connections: int
    threads: int
    workers: tuple[int, ...]
    timeout: int
    database: str | None = None
    """A PostgreSQL server (URL of a database on it) where each gateway run gets a fresh database."""
    processes: int = 1
    """Gateway processes (each a gunicorn master with its workers) on one database, each loaded by its own wrk."""
    keepalive: int = 0
    """``VIR_KEEPALIVE_S`` of both services: 0, a connection per request (sync workers, what ``serve`` runs
    without TLS); above 0, wrk's connections are kept (``gateway.server.Werker``, the default with TLS)."""


# --------------------------------------------------------------------------------------------------
# Servers


class Server:
    """A service started in its own process group and stopped, with everything it forked, on exit."""

    def __init__(
        self,
        service: Service,
        workdir: Path,
        workers: int,
        database_url: str | None = None,
        nummer: int = 0,
        keepalive: int = 0,
    ) -> None:
        self.service = service
        self.keepalive = keepalive
        self.workdir = workdir
        self.workers = workers
        self.database_url = database_url
        self.naam = service.name if nummer == 0 else f"{service.name}-{nummer}"
        self.log_path = workdir / f"{self.naam}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Server:
        port_file = self.workdir / f"{self.naam}.port"
        env = dict(os.environ)
        env["VIR_DATA_DIR"] = str(self.workdir / "data")  # a fresh SQLite database per run
        env.pop("VIR_DATABASE_URL", None)
        if self.database_url:
            env["VIR_DATABASE_URL"] = self.database_url  # a fresh PostgreSQL database per run
        env.update(self.service.env)
        env["VIR_KEEPALIVE_S"] = str(self.keepalive)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.service.command(port_file, self.workers),
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.port = self._wait_for_port(port_file)
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.service.path}"

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output, for error reports."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise BenchError(
                f"the {self.service.name} server exited with status {self.proc.returncode}:\n{self.log_tail()}"
            )

    def _wait_for_port(self, port_file: Path) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                text = port_file.read_text().strip()
            except FileNotFoundError:
                text = ""
            if text:
                return int(text)
            time.sleep(0.05)
        raise BenchError(f"the {self.service.name} server did not report a port within {START_TIMEOUT_S:.0f} s")

    def _wait_until_answering(self) -> None:
        """The port is bound before gunicorn forks its workers; wait for a worker to answer."""
        url = f"http://{HOST}:{self.port}{self.service.probe}"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means a worker is serving
            except OSError:
                time.sleep(0.1)
        raise BenchError(f"the {self.service.name} server did not answer within {START_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """SIGTERM to the whole process group (gunicorn arbiter and workers), SIGKILL if it lingers."""
        if self.proc is None or self.proc.returncode is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        # Workers of a dead arbiter may outlive it briefly; make sure none is left behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.returncode is None:
            self.proc.wait(timeout=5)


# --------------------------------------------------------------------------------------------------
# Load


def run_wrk(
    wrk: str, server: Server, opts: Options, run: int, seconds: int, nonce: int, deel: tuple[int, int] = (0, 1)
) -> Result:
    """One wrk invocation against ``server``; returns the parsed result line of meldingen.lua. ``deel``: this is
    wrk number i of n loading n servers at once, with a share of the connections and threads and BSNs of its
    own."""
    i, n = deel
    cmd = [
        wrk,
        "-t",
        str(max(1, opts.threads // n)),
        "-c",
        str(max(1, opts.connections // n)),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{opts.timeout}s",
        "-s",
        str(LUA_SCRIPT),
        server.url,
        "--",
        server.service.mode,
        str(i * RUNS_PER_SERVER + run),
        str(n * RUNS_PER_SERVER),
        str(max(1, opts.threads // n)),
        str(nonce),
    ]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, errors="replace", timeout=seconds + opts.timeout + 60, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish: {' '.join(cmd)}") from exc
    for line in proc.stdout.splitlines():
        if line.startswith("WRK-RESULT "):
            return Result.from_wrk(server.service.name, json.loads(line.removeprefix("WRK-RESULT ")))
    raise BenchError(
        f"wrk failed (status {proc.returncode}): {' '.join(cmd)}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


def check(result: Result, server: Server, phase: str) -> None:
    """Fail loudly when any request failed, with a sample answer and the server's last words."""
    if result.failed == 0:
        return
    sockets = ", ".join(f"{k} {v}" for k, v in result.socket_errors.items() if v) or "none"
    raise RequestsFailed(
        f"{result.failed} of {result.requests} requests to the {result.service} failed during the {phase} "
        f"(socket errors: {sockets})\n"
        f"first failed answer: HTTP {result.sample_status}\n{result.sample_body or '(no body)'}\n"
        f"--- last lines of the {result.service} log ---\n{server.log_tail()}"
    )


@contextlib.contextmanager
def fresh_database(server_url: str | None) -> Iterator[str | None]:
    """A new, empty PostgreSQL database on the server of ``server_url`` for one run, dropped afterwards."""
    if server_url is None:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"vir_bench_{random.randrange(16**12):012x}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def measure(wrk: str, service: Service, opts: Options, workers: int) -> Result:
    """Start ``service`` in a fresh temporary directory (and database), warm it up, measure it, stop it. The
    gateway runs as ``opts.processes`` processes on one database, each loaded by a wrk of its own at the same
    time (the echo always as one)."""
    nonce = random.randrange(2**31)
    gateway = service.mode == "gateway"
    n = opts.processes if gateway else 1
    with (
        tempfile.TemporaryDirectory(prefix=f"vir-bench-{service.name}-") as tmp,
        fresh_database(opts.database if gateway else None) as url,
        contextlib.ExitStack() as stack,
    ):
        # One after the other: the first creates the schema of the fresh database.
        servers = [stack.enter_context(Server(service, Path(tmp), workers, url, i, opts.keepalive)) for i in range(n)]
        urls = ", ".join(s.url for s in servers)
        print(f"  {service.name} ({n} x {workers} workers): {urls}, warm-up {opts.warmup} s ...", flush=True)
        if opts.warmup > 0:
            for server, r in zip(servers, _wrk_all(wrk, servers, opts, 0, opts.warmup, nonce), strict=True):
                check(r, server, "warm-up")
        print(f"  {service.name} ({n} x {workers} workers): measuring {opts.duration} s ...", flush=True)
        before = [read_lock(s) for s in servers] if gateway else None
        cpu_before = read_cpu(servers, gateway and opts.database is not None)
        results = _wrk_all(wrk, servers, opts, 1, opts.duration, nonce)
        cpu = read_cpu(servers, gateway and opts.database is not None).minus(cpu_before)
        for server, r in zip(servers, results, strict=True):
            check(r, server, "measurement")
        lock = None
        if before is not None:
            na = [read_lock(s).minus(b) for s, b in zip(servers, before, strict=True)]
            lock = Lock(*(sum(x) for x in zip(*(astuple(lk) for lk in na), strict=True)))
        return replace(_samen(results), workers=workers, lock=lock, cpu=cpu)


def _wrk_all(wrk: str, servers: list[Server], opts: Options, run: int, seconds: int, nonce: int) -> list[Result]:
    """One wrk per server, all at once."""
    if len(servers) == 1:
        return [run_wrk(wrk, servers[0], opts, run, seconds, nonce)]
    with ThreadPoolExecutor(len(servers)) as pool:
        futures = [
            pool.submit(run_wrk, wrk, s, opts, run, seconds, nonce, (i, len(servers))) for i, s in enumerate(servers)
        ]
        return [f.result() for f in futures]


def _samen(results: list[Result]) -> Result:
    """Several simultaneous runs as one: requests and rates add up; of each latency percentile the worst
    (a conservative reading: the percentiles of the merged histograms are not available)."""
    if len(results) == 1:
        return results[0]
    eerste = results[0]
    return replace(
        eerste,
        requests=sum(r.requests for r in results),
        duration_s=max(r.duration_s for r in results),
        requests_per_s=sum(r.requests_per_s for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p90_ms=max(r.p90_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
        mean_ms=sum(r.mean_ms * r.requests for r in results) / max(1, sum(r.requests for r in results)),
        failed=sum(r.failed for r in results),
    )


# --------------------------------------------------------------------------------------------------
# Report


def _cpu_regels(echo: Result, gw: Result) -> None:
    """CPU per request of both services, by whom, and the machine's share in use. When both runs keep the
    cores busy, the rates stand in the inverse ratio of the CPU a request costs everything on the machine,
    whatever the number of workers: ``ceiling`` is that ratio, the ratio the gateway could reach with its
    CPU per filing if it used the cores as fully as the echo does."""
    assert echo.cpu is not None and gw.cpu is not None
    cores = os.cpu_count() or 1
    for r, cpu in ((echo, echo.cpu), (gw, gw.cpu)):
        per = 1000 / r.requests
        print(
            f"    CPU per request, {r.service}: service {cpu.service_s * per:.2f} ms, wrk {cpu.wrk_s * per:.2f} ms"
            + (f", database {cpu.database_s * per:.2f} ms" if cpu.database_s else "")
            + f", all {cpu.total_s * per:.2f} ms; cores busy {cpu.total_s / max(cpu.wall_s, 1e-9) / cores:.0%}"
        )
    plafond = (echo.cpu.total_s / echo.requests) / (gw.cpu.total_s / gw.requests)
    print(f"    ceiling from CPU alone (echo's CPU per request / gateway's): {plafond:.3f}")


def report(results: list[Result], opts: Options) -> tuple[float, bool]:
    """Print the table, the ratios, the log head's serial fraction and the targets; return the ratio at the
    first worker count and whether both targets are met there."""
    print()
    print(
        f"{'service':<9} {'W':>2} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'errors':>7}"
    )
    for r in results:
        print(
            f"{r.service:<9} {r.workers:>2} {r.requests:>9} {r.requests_per_s:>9.1f} {r.p50_ms:>8.1f} "
            f"{r.p90_ms:>8.1f} {r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.failed:>7}"
        )
    print()
    uitkomst: tuple[float, bool] | None = None
    eerste: Result | None = None
    for w in opts.workers:
        echo = next(r for r in results if r.service == "echo" and r.workers == w)
        gw = next(r for r in results if r.service == "gateway" and r.workers == w)
        ratio = gw.requests_per_s / echo.requests_per_s if echo.requests_per_s else 0.0
        p99_grens = TARGET_P99_FACTOR * echo.p99_ms
        ratio_ok, p99_ok = ratio >= TARGET_RATIO, gw.p99_ms <= p99_grens
        print(
            f"{w} worker(s): ratio (gateway req/s / echo req/s) {ratio:.3f}   "
            f"target >= {TARGET_RATIO}: {'met' if ratio_ok else 'MISSED'}; "
            f"gateway p99 {gw.p99_ms:.1f} ms = {gw.p99_ms / max(echo.p99_ms, 1e-9):.1f}x the echo's   "
            f"target <= {TARGET_P99_FACTOR:.0f}x ({p99_grens:.1f} ms): {'met' if p99_ok else 'MISSED'}"
            + ("" if opts.connections == 32 else " (the targets are defined at 32 connections)")
        )
        if echo.cpu is not None and gw.cpu is not None and echo.requests and gw.requests:
            _cpu_regels(echo, gw)
        if gw.lock is not None and gw.lock.filings:
            lock = gw.lock
            print(
                f"    log head: held {1000 * lock.held_s / max(lock.held, 1):.2f} ms per transaction, waited "
                f"{1000 * lock.wait_s / max(lock.held, 1):.2f} ms; filing {1000 * lock.filing_s / lock.filings:.2f} ms "
                f"in the gateway; serial fraction (held / filing time) {lock.serial_fraction:.3f}   "
                + (
                    f"target <= {TARGET_SERIAL}: {'met' if lock.serial_fraction <= TARGET_SERIAL else 'MISSED'}"
                    if opts.database
                    else "(the target is PostgreSQL's: on SQLite the head is part of the one writer lock every "
                    "write transaction holds; `bench/inproces.py single --lock` measures that)"
                )
            )
        if eerste is None:
            eerste, uitkomst = gw, (ratio, ratio_ok and p99_ok)
        elif eerste.requests_per_s:
            print(
                f"    scale-out: {w} workers / {eerste.workers} = {gw.requests_per_s / eerste.requests_per_s:.2f}x"
                + ("   target (2 / 1) >= 1.8" if (eerste.workers, w) == (1, 2) else "")
            )
        nolog = next((r for r in results if r.service == "nolog" and r.workers == w), None)
        if nolog is not None and nolog.requests_per_s:
            print(
                f"    message log cost: gateway with log / without log = "
                f"{gw.requests_per_s / nolog.requests_per_s:.3f} (p99 {gw.p99_ms:.1f} vs {nolog.p99_ms:.1f} ms)"
            )
    assert uitkomst is not None
    return uitkomst


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(description="MeldingAfgeven end to end vs a bare Spyne echo service (wrk)")
    p.add_argument("--duration", type=int, default=15, help="measured seconds per service (default 15)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up seconds per service, not measured (default 3)")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[2],
        help="gunicorn workers of each service; several counts are measured one after the other (default 2)",
    )
    p.add_argument(
        "--database",
        metavar="URL",
        help="run the gateway on PostgreSQL: a fresh database on this URL's server per run (default: SQLite)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="gateway processes on one database, each with --workers workers and its own wrk (default 1)",
    )
    p.add_argument(
        "--keepalive",
        type=int,
        default=0,
        metavar="S",
        help="VIR_KEEPALIVE_S of both services: 0 a connection per request (default, what serve runs without "
        "TLS); above 0 wrk's connections are kept (the gateway's own worker, the default with TLS)",
    )
    p.add_argument("--timeout", type=int, default=10, help="wrk per-request timeout in seconds (default 10)")
    p.add_argument("--json", type=Path, help="also write the results to this file as JSON")
    p.add_argument("--check", action="store_true", help="exit with status 3 when a target is missed")
    p.add_argument(
        "--log-cost", action="store_true", help="also run the gateway with its message log switched off, and compare"
    )
    return p


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM/SIGHUP into an exception so that the servers are stopped by ``finally``."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run echo, then gateway, with the same load shape; report and return the exit status."""
    p = parser()
    args = p.parse_args(argv)
    if min(args.duration, args.connections, args.threads, *args.workers, args.timeout, args.processes) < 1:
        p.error("--duration, --connections, --threads, --workers, --processes and --timeout must be positive")
    if args.warmup < 0:
        p.error("--warmup must not be negative")
    if args.connections < args.threads:
        p.error("--connections must be at least --threads (wrk gives every thread its own connections)")
    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "wrk not found on PATH. This benchmark needs the wrk HTTP load generator (with Lua):\n"
            "  Debian/Ubuntu: apt-get install wrk    macOS: brew install wrk\n"
            "  or build it from https://github.com/wg/wrk",
            file=sys.stderr,
        )
        return 2
    opts = Options(
        args.duration,
        args.warmup,
        args.connections,
        args.threads,
        tuple(args.workers),
        args.timeout,
        args.database,
        args.processes,
        args.keepalive,
    )
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)

    version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    load1 = os.getloadavg()[0]
    print("vir-gateway end-to-end benchmark: MeldingAfgeven vs bare Spyne echo (SOAP 1.1 over HTTP)")
    print(
        f"{version.split(' Copyright')[0]}; {opts.threads} threads, {opts.connections} connections, "
        f"{opts.duration} s measured after {opts.warmup} s warm-up per service"
    )
    database = "PostgreSQL (a fresh database per run)" if opts.database else "SQLite (a fresh file per run)"
    print(
        f"servers: gunicorn (gateway.server), {', '.join(map(str, opts.workers))} "
        + (f"workers each, keeping connections {opts.keepalive} s; " if opts.keepalive else "sync workers each; ")
        + f"{opts.processes} gateway process(es) on "
        f"{database}; {os.cpu_count()} CPUs, load average {load1:.2f} before start"
    )
    if load1 >= 0.5 * (os.cpu_count() or 1):
        print("  note: the machine is already busy; expect noisy figures", flush=True)

    try:
        results = []
        for w in opts.workers:
            results += [measure(wrk, ECHO, opts, w), measure(wrk, GATEWAY, opts, w)]
            if args.log_cost:
                results.append(measure(wrk, GATEWAY_ZONDER_LOG, opts, w))
    except RequestsFailed as exc:
        sys.stdout.flush()
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    except BenchError as exc:
        sys.stdout.flush()
        print(f"\nbenchmark could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130

    if results[0].request_bytes != results[1].request_bytes:
        print(
            f"note: request bodies differ in size: echo {results[0].request_bytes} bytes, "
            f"gateway {results[1].request_bytes} bytes"
        )
    else:
        print(f"  request body {results[1].request_bytes} bytes for both services")
    ratio, met = report(results, opts)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "options": asdict(opts),
                    "results": [asdict(r) for r in results],
                    "ratio": ratio,
                    "targets": {"ratio_min": TARGET_RATIO, "p99_echo_factor_max": TARGET_P99_FACTOR, "met": met},
                },
                indent=2,
            )
            + "\n"
        )
    return 3 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
