"""Gateway processes forked from an interpreter that has already imported the gateway (a zygote).

A new ``python -m vir serve`` spends about 0.7 of its 0.9 CPU-seconds of start-up importing, and the suite
starts several hundred gateways and federation workers. A zygote imports what the ``vir-gateway`` command
imports before it serves, once per test process, and forks one child per process asked for:

- the child is a process of its own (its own pid, optionally its own session), with the environment,
  working directory and output it was given, its standard input on /dev/null, and runs
  ``vir.cli.main(argv)`` as ``python -m vir ARGV`` does; its exit (a ``SystemExit``, an exception, a
  signal) is the interpreter's exit, with ``atexit`` and the flushing of output as usual;
- the library that reads its configuration from the environment at import (prometheus-client's
  multi-process directory) is not imported by the zygote: the child imports it after its environment is set;
- a small waiter process between the zygote and the child collects its exit status, so that ``poll``,
  ``wait`` and ``returncode`` behave as with ``subprocess.Popen`` (negative for a signal).

``tests/test_cli.py``, the crash tests and every test that runs one command start the real
``python -m vir``. ``VIR_TEST_ZYGOTE=0`` starts every process as a new interpreter.

Protocol: one JSON request per line on the zygote's standard input, one line with the child's pid back.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from federation.demo import nieuw_proces

ROOT = Path(__file__).resolve().parent.parent
# What ``vir-gateway serve`` and ``vir-gateway worker`` import before they fork or serve.
PRELOAD = ("vir.cli", "gateway.server", "federation.worker", "gunicorn.app.base", "gunicorn.arbiter")
# Modules that must be imported by the child, after its environment is in place.
NOT_PRELOADED = ("prometheus_client",)
ENABLED = os.environ.get("VIR_TEST_ZYGOTE", "1") != "0"


class Process:
    """A child of the zygote, with the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, args: list[str], pid: int, status: Path) -> None:
        self.args = args
        self.pid = pid
        self.returncode: int | None = None
        self._status = status

    def poll(self) -> int | None:
        if self.returncode is None and self._status.exists():
            self.returncode = int(self._status.read_text())
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.01)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # until the waiter has collected it, the pid is still ours
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Zygote:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.counter = 0

    def start(self, request: dict[str, Any]) -> Process:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "tests.zygote"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT
                )
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.counter += 1
            status = Path(request["out"]).parent / f".exit-{os.getpid()}-{self.counter}"
            request = {**request, "status": str(status)}
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("the zygote ended; its error output is in the test output")
        return Process([sys.executable, "-m", "vir", *request["argv"]], int(answer), status)

    def close(self) -> None:
        """End the zygote (its children live on until they are stopped)."""
        with self.lock:
            if self.proc is not None:
                assert self.proc.stdin is not None and self.proc.stdout is not None
                self.proc.stdin.close()
                self.proc.wait(30)
                self.proc.stdout.close()
                self.proc = None


_zygote = _Zygote()
atexit.register(_zygote.close)


def start(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    out: Path,
    *,
    append: bool = False,
    new_session: bool = False,
) -> Process | subprocess.Popen[bytes]:
    """``python -m vir ARGV`` with ``env`` as its whole environment, in ``cwd``, standard output and error to
    ``out`` (truncated, or appended to), in a new session when asked: forked from the zygote, or, with
    ``VIR_TEST_ZYGOTE=0``, a new interpreter."""
    if not ENABLED:
        return nieuw_proces(argv, env, cwd, out, append=append, new_session=new_session)
    return _zygote.start(
        {
            "argv": list(argv),
            "env": dict(env),
            "cwd": str(cwd),
            "out": str(out),
            "append": append,
            "new_session": new_session,
        }
    )


# The zygote's side.


def _serve() -> dict[str, Any]:
    """Fork a child per request until the requests end; returns only in a child, with its request."""
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the waiters are reaped by the kernel
    buffered = b""
    while True:
        while b"\n" not in buffered:
            chunk = requests.read(65536)
            if not chunk:
                sys.exit(0)  # the test process ended
            buffered += chunk
        line, buffered = buffered.split(b"\n", 1)
        job = json.loads(line)
        r, w = os.pipe()
        if os.fork() == 0:  # the waiter
            os.close(r)
            requests.close()
            os.close(answers)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            pid = os.fork()
            if pid == 0:
                os.close(w)
                return job  # the child: its request runs at the top of the stack
            os.write(w, f"{pid}\n".encode())
            os.close(w)
            _, status = os.waitpid(pid, 0)
            path = Path(job["status"])
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(str(os.waitstatus_to_exitcode(status)))
            tmp.rename(path)
            os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as pipe:
            pid_line = pipe.readline()
        os.write(answers, pid_line)


def _run(job: dict[str, Any]) -> None:
    if job["new_session"]:
        os.setsid()
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if job["append"] else os.O_TRUNC)
    out = os.open(job["out"], flags, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    from vir.cli import main

    sys.argv = [str(Path(sys.modules["vir"].__file__ or "vir").parent / "__main__.py"), *job["argv"]]
    sys.exit(main(job["argv"]))


if __name__ == "__main__":
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    early = [m for m in NOT_PRELOADED if m in sys.modules]
    if early:
        raise SystemExit(f"the zygote must not import {early}: they read the environment at import")
    if threading.active_count() != 1:
        raise SystemExit("the zygote must not start threads: a fork copies only the thread that forks")
    _run(_serve())
