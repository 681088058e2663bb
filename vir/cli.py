"""``vir-gateway``: the gateway's commands (serve, db, instantie, profiles, retention, register, reports,
pki, log) and the federation's (worker, federatie).

Exit codes: 0 success, 1 failure, 2 wrong usage or refused configuration, 3 an operator action refused
because it could not be logged (nothing changed; `gateway.beheerlog`).
"""

from __future__ import annotations

import argparse
import logging

from federation import cli as federatie_cli
from gateway import cli as gateway_cli
from gateway.config import Settings
from gateway.uitvoer import beveilig


def create_app(settings: Settings) -> object:
    """The WSGI application, made in each worker process. Imported only there: prometheus-client must find
    ``PROMETHEUS_MULTIPROC_DIR``, which ``serve`` sets, before it is first imported."""
    from vir.app import create_app as maak

    return maak(settings)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vir-gateway", description="SOAP gateway for the Verwijsindex Risicojongeren")
    sub = p.add_subparsers(dest="cmd", required=True)
    gateway_cli.add_parsers(sub, create_app)
    federatie_cli.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    beveilig(logging.getLogger())  # tracebacks without messages: no personal data in process output
    args = parser().parse_args(argv)
    return int(args.fn(args))
