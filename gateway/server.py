"""Running the application under gunicorn (several worker processes, one app per worker)."""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import os
import select
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from gunicorn import glogging, http
from gunicorn import sock as gsock
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import _DEFER, ThreadWorker
from gunicorn.workers.sync import SyncWorker

from gateway.config import Settings
from gateway.grootte import VERBINDING_SLUITEN
from gateway.uitvoer import beveilig


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind ourselves so that port 0 works and the real port is known before workers start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def tls_opties(settings: Settings) -> dict[str, Any]:
    """Mutual TLS in gunicorn: a client certificate from the configured CA bundle is required (the
    handshake fails without one), TLS 1.2 at least, and the CRL when one is configured.

    With an operator CA (``VIR_BEHEER_CA``) the handshake also accepts its certificates, and a client
    without any certificate gets through the handshake, so that the refusal can be logged and explained:
    the application then refuses every request without a certificate (and the console every certificate
    not from the operator CA, the chain-partner service every certificate not from ``VIR_TLS_CA``)."""
    crl = settings.tls_crl
    beheer_ca, beheer_crl = settings.beheer_ca, settings.beheer_crl
    bestanden = [settings.tls_cert, settings.tls_key, settings.tls_ca, crl]
    if beheer_ca is not None:
        bestanden += [beheer_ca, beheer_crl]
    bewaard: dict[str, Any] = {}  # per worker process: the context, and the files' state it was made from

    def ssl_context(config: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        """gunicorn asks for a context for every connection: made again only when one of its files changed
        (a new CRL, a renewed certificate), which also lets a returning client resume its TLS session."""
        stand = _bestandsstand(bestanden)
        if bewaard.get("stand") == stand:
            return bewaard["context"]
        ctx = _ssl_context(default_ssl_context_factory)
        bewaard.update(stand=stand, context=ctx)
        return ctx

    def _ssl_context(default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        ctx = default_ssl_context_factory()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED if beheer_ca is None else ssl.CERT_OPTIONAL
        if beheer_ca is not None:
            ctx.load_verify_locations(cafile=str(beheer_ca))
        for lijst in (crl, beheer_crl if beheer_ca is not None else None):
            if lijst is not None:
                ctx.load_verify_locations(cafile=str(lijst))
                ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return ctx

    return {
        "certfile": str(settings.tls_cert),
        "keyfile": str(settings.tls_key),
        "ca_certs": str(settings.tls_ca),
        "cert_reqs": ssl.CERT_REQUIRED if settings.beheer_ca is None else ssl.CERT_OPTIONAL,
        "do_handshake_on_connect": True,
        "ssl_context": ssl_context,
    }


def _bestandsstand(paden: list[Any]) -> tuple[tuple[int, int, int] | None, ...]:
    """Of each file (None: not configured, or not there): inode, size and modification time."""
    uit: list[tuple[int, int, int] | None] = []
    for pad in paden:
        try:
            st = os.stat(pad) if pad is not None else None
        except OSError:
            st = None
        uit.append((st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else None)
    return tuple(uit)


class KlantStil(TimeoutError):
    """A client sent nothing for the read timeout in the middle of its request."""


class _Logger(glogging.Logger):
    """gunicorn's own error log ("Error handling request" and the like) writes tracebacks without
    exception messages, as ours do (``gateway.uitvoer``); a client that stopped sending is one line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        beveilig(self.error_log)

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        # KlantStil from the gateway's own worker; BlockingIOError from a sync worker's socket (SO_RCVTIMEO).
        if isinstance(sys.exc_info()[1], KlantStil | BlockingIOError):
            self.warning("a client sent nothing for VIR_READ_TIMEOUT_S in the middle of its request: connection closed")
            return
        super().exception(msg, *args, **kwargs)


class _Geduldig:
    """A connection as gunicorn's HTTP parser reads it: each read waits at most ``timeout`` seconds for the
    client (``VIR_READ_TIMEOUT_S``), where the socket itself, blocking, would wait for ever. The parser may
    shorten it for a read (``settimeout``: draining an unread body before a kept connection's next request)."""

    __slots__ = ("sock", "timeout")

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.timeout: float | None = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def recv(self, n: int) -> bytes:
        self.sock.settimeout(self.timeout)
        try:
            return self.sock.recv(n)
        except TimeoutError as exc:
            raise KlantStil from exc
        finally:
            with contextlib.suppress(OSError):
                self.sock.settimeout(None)  # blocking again, as gunicorn writes the answer and keeps it


HANDDRUK_S = 10
"""Seconds a client may take over its TLS handshake before the worker gives up on it."""

EERSTE_BYTES_S = 0.01
"""Seconds the thread waits for a new connection's first bytes before it leaves the connection to the poller:
most clients send at once, and a trip through the poller cost a new TLS connection a tenth more CPU
(``bench/tls.py``); a connection that stays silent holds the thread up this long, once."""


def _wacht_iets(sock: socket.socket, wacht: float = 0.0) -> bool:
    """Whether the client sent something that is ready to read, waiting at most ``wacht`` seconds."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    peiler = select.poll()  # not select(): a worker may hold more than 1,024 descriptors
    peiler.register(sock, select.POLLIN)
    return bool(peiler.poll(int(wacht * 1000)))


class Werker(ThreadWorker):
    """The worker ``serve`` runs: gunicorn's threaded worker with one thread, so that a client may keep its
    connection (HTTP/1.1 keep-alive, ``VIR_KEEPALIVE_S``) and pays the TCP and TLS handshakes once, not for every
    request. The application still runs in one thread per process, one request at a time, as in a sync worker;
    the worker's main thread accepts connections and holds the idle ones in its poller until their next request.

    That one thread does not wait for a client that has not sent anything: a new connection with nothing to read
    after ``EERSTE_BYTES_S``, or one whose TLS handshake is done but whose request has not come (a browser opens
    connections ahead of need), goes back to the poller (and is closed after ``keepalive`` seconds of silence).
    A handshake may take ``HANDDRUK_S`` at most.

    A request that runs longer than ``timeout`` seconds (``VIR_WORKER_TIMEOUT_S``) ends its worker, as it ended
    a sync worker: the arbiter ends a worker that has not said it is alive for that long, and the main thread
    no longer says so while the connection that was in the thread when it last did is still there. (Otherwise
    the main thread would go on saying so for a thread that hangs.)"""

    stilte: float = 10.0  # VIR_READ_TIMEOUT_S in force (``run``)
    _bezig_sinds: float | None = None  # since when the thread has the connection it now has
    _gemeld = 0.0  # when the worker last said it is alive

    def handle(self, conn: Any) -> Any:
        self._bezig_sinds = time.monotonic()
        try:
            if not conn.initialized:
                if not conn.data_ready and not _wacht_iets(conn.sock, EERSTE_BYTES_S):
                    return _DEFER  # to the poller until the client sends something
                if self.cfg.is_ssl:
                    if not self._handdruk(conn):
                        return False
                    if not _wacht_iets(conn.sock, EERSTE_BYTES_S):
                        return True  # handshake done, no request yet: to the poller as a kept connection
                else:  # what TConn.init does for a plain connection, with the read timeout
                    conn.initialized = True
                    conn.sock.setblocking(True)
                    conn.parser = http.get_parser(self.cfg, _Geduldig(conn.sock, self.stilte), conn.client)
            return super().handle(conn)
        finally:
            self._bezig_sinds = None

    def _handdruk(self, conn: Any) -> bool:
        """The TLS handshake within ``HANDDRUK_S``, then the HTTP/1.1 parser: what ``TConn.init`` does for a
        TLS connection (HTTP/2 is not offered), with a time limit."""
        conn.initialized = True
        try:
            conn.sock.settimeout(HANDDRUK_S)
            conn.sock = gsock.ssl_wrap_socket(conn.sock, self.cfg)
            conn.sock.setblocking(True)
        except (OSError, ValueError):  # a refused certificate (ssl.SSLError), a timeout, a client gone
            self.log.debug("TLS handshake failed")
            # Ended at once, so that gunicorn's graceful close (the worker's to do) does not wait for the client.
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
            return False
        conn.parser = http.get_parser(self.cfg, _Geduldig(conn.sock, self.stilte), conn.client)
        return True

    def notify(self) -> None:
        bezig_sinds = self._bezig_sinds
        if bezig_sinds is not None and bezig_sinds < self._gemeld:
            return
        self._gemeld = time.monotonic()
        super().notify()

    def load_wsgi(self) -> None:
        """The application may ask that the connection end with its answer (``VERBINDING_SLUITEN`` in the
        environ, called before it starts the answer): when it leaves part of a request body unread on purpose
        (``gateway/grootte.py``). ``Connection`` is a header PEP 3333 leaves to the server, so it asks the server."""
        super().load_wsgi()
        app: Callable[..., Any] = self.wsgi  # type: ignore[has-type]  # gunicorn is not typed

        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            antwoord = getattr(start_response, "__self__", None)
            if antwoord is not None and hasattr(antwoord, "force_close"):
                environ[VERBINDING_SLUITEN] = antwoord.force_close
            return app(environ, start_response)

        self.wsgi = wsgi


class SyncWerker(SyncWorker):
    """gunicorn's sync worker (a connection per request), whose reads of a plain connection give up after
    ``stilte`` seconds of silence (``VIR_READ_TIMEOUT_S``): the kernel's receive timeout, which leaves writing
    the answer alone. Before, a client silent before or in the middle of its request held the worker until the
    worker timeout ended it. (With TLS at the gateway ``serve`` runs ``Werker`` unless ``VIR_KEEPALIVE_S`` is
    0; a TLS read would retry past the kernel's timeout, so there the worker timeout still applies.)"""

    stilte: float = 10.0

    def handle(self, listener: Any, client: socket.socket, addr: Any) -> None:
        if not self.cfg.is_ssl:
            sec = int(self.stilte)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", sec, 0))
        super().handle(listener, client, addr)


class _Gunicorn(BaseApplication):
    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """The worker's application. What it built to serve (the modules, the contract's schemas, the store's
        metadata) lives as long as the worker, so it is then frozen out of the garbage collector's sight
        (``gc.freeze``): a full collection walked all of it again, and a batch of a thousand meldingen, whose
        objects outlive the young generations, set off several, a sixth of the batch's time
        (``bench/README.md``)."""
        app = self.factory()
        gc.freeze()
        return app


def run(factory: Callable[[], Any], sock: socket.socket, settings: Settings, workers: int) -> None:
    """Serve the application of ``factory`` on ``sock`` with ``workers`` processes: ``Werker`` when clients may
    keep their connections (``VIR_KEEPALIVE_S`` above 0, the default with TLS at the gateway), else gunicorn's
    sync workers (``SyncWerker``: a connection per request); both with the read timeout
    (``VIR_READ_TIMEOUT_S``)."""
    options = {
        "bind": [f"fd://{sock.fileno()}"],
        "workers": workers,
        # A subclass per run carries the read timeout into the forked workers.
        "worker_class": type(
            "Werker" if settings.keepalive else "SyncWerker",
            (Werker if settings.keepalive else SyncWerker,),
            {"stilte": float(settings.stilte)},
        ),
        "threads": 1,
        "timeout": settings.worker_timeout,
        "graceful_timeout": 10,
        "keepalive": settings.keepalive,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "vir-gateway",
        "logger_class": _Logger,
        "limit_request_line": 8190,
    }
    if settings.tls_cert is not None:
        options.update(tls_opties(settings))
    sys.argv = sys.argv[:1]  # gunicorn must not read our command line
    metrics_map = _metrics_map(settings)
    arbiter = os.getpid()
    try:
        _Gunicorn(factory, options).run()
    finally:
        # A worker leaves through here too (gunicorn's workers are forks of this call, and end with SystemExit):
        # only the arbiter removes the directory its next workers still need.
        if settings.metrics_dir is None and os.getpid() == arbiter:
            shutil.rmtree(metrics_map, ignore_errors=True)


def _metrics_map(settings: Settings) -> str:
    """prometheus-client's multi-process mode: the workers' counters go to files in one directory,
    emptied now (counts of an earlier run must not add up), chosen before any worker imports the
    library (it reads the variable at import)."""
    if settings.metrics_dir is None:
        pad = tempfile.mkdtemp(prefix="vir-metrics-")
    else:
        pad = str(settings.metrics_dir)
        os.makedirs(pad, exist_ok=True)
        for naam in os.listdir(pad):
            if naam.endswith(".db"):
                os.unlink(os.path.join(pad, naam))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = pad
    return pad
