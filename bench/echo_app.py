"""A bare Spyne SOAP 1.1 echo service: the baseline that ``endtoend.py`` compares the gateway with.

One operation, ``echo(s) -> s``, with no schema validation, no database and no business rules. It is
served by the gateway's own gunicorn runner (``gateway.server.bind_socket`` and ``gateway.server.run``)
so that both services run on an identical server stack; the difference in throughput is then what the
gateway itself costs (validation, rules, SQLite transaction, answer serialisation).

    python bench/echo_app.py [--host H] [--port P] [--port-file F] [--workers N]

The endpoint is ``http://HOST:PORT/echo`` (any path works; Spyne ignores it), Content-Type ``text/xml``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import gateway  # noqa: F401  (installs the Spyne compatibility shim; must precede every Spyne import)

# isort: split
from spyne import Application, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from gateway.config import Settings
from gateway.server import bind_socket, is_loopback, run

ECHO_NS = "urn:nl:vir:gateway:bench:echo:v1"
"""Target namespace of the echo service; request element ``{ECHO_NS}echo`` with child ``s``."""


class Echo(ServiceBase):
    """The whole service: one method that returns its input."""

    @rpc(Unicode, _returns=Unicode)
    def echo(ctx: Any, s: str) -> str:
        """Return the input string unchanged."""
        return s


def create_app() -> WsgiApplication:
    """The WSGI application: a Spyne ``Application`` with one echo method, SOAP 1.1 in and out,
    no validation. Called in each gunicorn worker after the fork, as the gateway's factory is."""
    app = Application([Echo], tns=ECHO_NS, name="Echo", in_protocol=Soap11(validator=None), out_protocol=Soap11())
    return WsgiApplication(app)


def parser() -> argparse.ArgumentParser:
    """Command line of the echo server (the same options as ``vir-gateway serve`` where they overlap)."""
    p = argparse.ArgumentParser(description="bare Spyne SOAP 1.1 echo service (benchmark baseline)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port-file", help="write the port to this file once listening")
    return p


def main(argv: list[str] | None = None) -> int:
    """Bind, announce the port, then hand over to gunicorn exactly as ``vir-gateway serve`` does."""
    args = parser().parse_args(argv)
    if not is_loopback(args.host):
        print(f"refused: the echo service listens on loopback only, not on {args.host}", file=sys.stderr)
        return 2
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"echo service listening on http://{shown}:{port}/echo", flush=True)
    if args.port_file:
        Path(args.port_file).write_text(str(port))
    # Of the gateway's environment only what serving needs: how long connections are kept (and so which worker).
    run(create_app, sock, Settings(keepalive=int(os.environ.get("VIR_KEEPALIVE_S", "0"))), args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
