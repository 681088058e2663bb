"""Running the application under gunicorn (several worker processes, one app per worker)."""

from __future__ import annotations

import gc
import ipaddress
import os
import shutil
import socket
import ssl
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from gateway.config import Settings
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

    def ssl_context(config: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
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


class _Logger(glogging.Logger):
    """gunicorn's own error log ("Error handling request" and the like) writes tracebacks without
    exception messages, as ours do (``gateway.uitvoer``)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        beveilig(self.error_log)


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


def run(
    factory: Callable[[], Any], sock: socket.socket, settings: Settings, workers: int, worker_class: str = "sync"
) -> None:
    options = {
        "bind": [f"fd://{sock.fileno()}"],
        "workers": workers,
        "worker_class": worker_class,
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
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
