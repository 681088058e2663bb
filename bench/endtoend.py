"""End-to-end benchmark: ``MeldingAfgeven`` over HTTP against a bare Spyne echo service.

    python bench/endtoend.py [--duration S] [--warmup S] [--connections C] [--threads T] [--workers W]
                             [--timeout S] [--json FILE] [--check]

Both services run on the same server stack (``gateway.server``: gunicorn, same settings, same number of
sync workers) and are loaded by ``wrk`` with ``bench/meldingen.lua`` at the same concurrency for the
same time, one after the other: first the echo service (``bench/echo_app.py``), then the gateway
(``vir-gateway serve --demo`` on a fresh SQLite database in a temporary directory). Every request is a
unique, valid message; every answer is checked (HTTP 200 with the expected response element).

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
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
LUA_SCRIPT = HERE / "meldingen.lua"
ECHO_APP = HERE / "echo_app.py"

TARGET_RATIO = 0.5
"""Gateway throughput must be at least this fraction of the echo service's."""
TARGET_P99_MS = 50.0
"""Gateway p99 latency at 32 connections must not exceed this."""

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
    workers: int
    timeout: int


# --------------------------------------------------------------------------------------------------
# Servers


class Server:
    """A service started in its own process group and stopped, with everything it forked, on exit."""

    def __init__(self, service: Service, workdir: Path, workers: int) -> None:
        self.service = service
        self.workdir = workdir
        self.workers = workers
        self.log_path = workdir / f"{service.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Server:
        port_file = self.workdir / f"{self.service.name}.port"
        env = dict(os.environ)
        env["VIR_DATA_DIR"] = str(self.workdir / "data")  # a fresh SQLite database per run
        env.pop("VIR_DATABASE_URL", None)
        env.update(self.service.env)
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


def run_wrk(wrk: str, server: Server, opts: Options, run: int, seconds: int, nonce: int) -> Result:
    """One wrk invocation against ``server``; returns the parsed result line of meldingen.lua."""
    cmd = [
        wrk,
        "-t",
        str(opts.threads),
        "-c",
        str(opts.connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{opts.timeout}s",
        "-s",
        str(LUA_SCRIPT),
        server.url,
        "--",
        server.service.mode,
        str(run),
        str(RUNS_PER_SERVER),
        str(opts.threads),
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


def measure(wrk: str, service: Service, opts: Options) -> Result:
    """Start ``service`` in a fresh temporary directory, warm it up, measure it, stop it."""
    nonce = random.randrange(2**31)
    with (
        tempfile.TemporaryDirectory(prefix=f"vir-bench-{service.name}-") as tmp,
        Server(service, Path(tmp), opts.workers) as server,
    ):
        print(f"  {service.name}: {server.url}, warm-up {opts.warmup} s ...", flush=True)
        if opts.warmup > 0:
            check(run_wrk(wrk, server, opts, 0, opts.warmup, nonce), server, "warm-up")
        print(f"  {service.name}: measuring {opts.duration} s ...", flush=True)
        result = run_wrk(wrk, server, opts, 1, opts.duration, nonce)
        check(result, server, "measurement")
        return result


# --------------------------------------------------------------------------------------------------
# Report


def report(results: list[Result], opts: Options) -> tuple[float, bool]:
    """Print the table, the ratio and the targets; return the ratio and whether both targets are met."""
    print()
    print(
        f"{'service':<9} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'errors':>7}"
    )
    for r in results:
        print(
            f"{r.service:<9} {r.requests:>9} {r.requests_per_s:>9.1f} {r.p50_ms:>8.1f} {r.p90_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.failed:>7}"
        )
    echo, gw = results[0], results[1]
    ratio = gw.requests_per_s / echo.requests_per_s if echo.requests_per_s else 0.0
    ratio_ok = ratio >= TARGET_RATIO
    p99_ok = gw.p99_ms <= TARGET_P99_MS
    print()
    print(
        f"ratio (gateway req/s / echo req/s): {ratio:.3f}   target >= {TARGET_RATIO}: {'met' if ratio_ok else 'MISSED'}"
    )
    print(
        f"gateway p99 at {opts.connections} connections: {gw.p99_ms:.1f} ms   "
        f"target <= {TARGET_P99_MS:.0f} ms: {'met' if p99_ok else 'MISSED'}"
        + ("" if opts.connections == 32 else " (the target is defined at 32 connections)")
    )
    if len(results) > 2 and results[2].requests_per_s:
        nolog = results[2]
        print(
            f"message log cost: gateway with log / without log = {gw.requests_per_s / nolog.requests_per_s:.3f} "
            f"(p99 {gw.p99_ms:.1f} vs {nolog.p99_ms:.1f} ms)"
        )
    return ratio, ratio_ok and p99_ok


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(description="MeldingAfgeven end to end vs a bare Spyne echo service (wrk)")
    p.add_argument("--duration", type=int, default=15, help="measured seconds per service (default 15)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up seconds per service, not measured (default 3)")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers of each service (default 2)")
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
    if min(args.duration, args.connections, args.threads, args.workers, args.timeout) < 1 or args.warmup < 0:
        p.error("--duration, --connections, --threads, --workers and --timeout must be positive")
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
    opts = Options(args.duration, args.warmup, args.connections, args.threads, args.workers, args.timeout)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)

    version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    load1 = os.getloadavg()[0]
    print("vir-gateway end-to-end benchmark: MeldingAfgeven vs bare Spyne echo (SOAP 1.1 over HTTP)")
    print(
        f"{version.split(' Copyright')[0]}; {opts.threads} threads, {opts.connections} connections, "
        f"{opts.duration} s measured after {opts.warmup} s warm-up per service"
    )
    print(
        f"servers: gunicorn (gateway.server), {opts.workers} sync workers each; "
        f"{os.cpu_count()} CPUs, load average {load1:.2f} before start"
    )
    if load1 >= 0.5 * (os.cpu_count() or 1):
        print("  note: the machine is already busy; expect noisy figures", flush=True)

    try:
        results = [measure(wrk, ECHO, opts), measure(wrk, GATEWAY, opts)]
        if args.log_cost:
            results.append(measure(wrk, GATEWAY_ZONDER_LOG, opts))
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
                    "targets": {"ratio_min": TARGET_RATIO, "p99_ms_max": TARGET_P99_MS, "met": met},
                },
                indent=2,
            )
            + "\n"
        )
    return 3 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
