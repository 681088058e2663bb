"""Running the application under gunicorn (several worker processes, one app per worker)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from gateway.config import Settings


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


class _Gunicorn(BaseApplication):
    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


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
        "limit_request_line": 8190,
    }
    sys.argv = sys.argv[:1]  # gunicorn must not read our command line
    _Gunicorn(factory, options).run()
