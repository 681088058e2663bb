"""The gateway's commands of ``vir-gateway`` (the command itself is put together in ``vir.cli``): serve,
manage the database and register instanties.

    vir-gateway serve [--host H] [--port P] [--workers N] [--demo] [--port-file F]
    vir-gateway db upgrade
    vir-gateway instantie add --oin OIN --naam NAAM [--vestiging V]
    vir-gateway instantie list
    (profiles, retention, population register, reports: see ``gateway.beheer``)

Exit codes: 0 success, 1 failure, 2 wrong usage or refused configuration, 3 refused because the action
could not be logged (nothing changed; see ``gateway.beheerlog``). Every change is logged with the operator.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway import beheer, beheerlog, betrokkene, config, pki, profielen, sleutels
from gateway.console import cli as console_cli
from gateway.log import cli as log_cli
from gateway.log.logboek import key_paths
from gateway.server import bind_socket, is_loopback, run
from store.db import Database
from store.migrate import upgrade
from store.repository import Repository

DEMO_INSTANTIES = [
    ("00000001111111111000", "Jeugdzorg Noord", "Groningen"),
    ("00000001222222222000", "GGD Fryslân", "Leeuwarden"),
    ("00000001333333333000", "OBS De Regenboog", "Assen"),
]

DEV_BANNER = """\
************************************************************************************
* DEVELOPMENT MODE: no TLS, no client certificates. The sender's identity is taken *
* from stuurgegevens/zender/oin as it stands in the message. Listening on loopback *
* only; never expose this process to a network.                                    *
************************************************************************************"""


def _open_db(settings: config.Settings) -> Database:
    db = Database(settings.url)
    upgrade(db)
    return db


def _register(
    settings: config.Settings, db: Database, oin: str, naam: str, vestiging: str | None, *, demo: bool = False
) -> None:
    """Register an instantie, logged as the operator's action in the same transaction. ``demo``: with its
    demo professional (``gateway.profielen.demo_inrichten``)."""
    with beheerlog.actie(settings, db, "instantie add") as actie:
        repo = Repository(actie.session)
        if repo.instantie(oin) is not None:
            raise beheerlog.Geweigerd(f"instantie {oin} is already registered")
        inst = repo.add_instantie(oin, naam, vestiging, datetime.now(UTC))
        actie.inhoud = {"oin": oin, "naam": naam, "vestiging": vestiging}
        if demo:
            actie.inhoud["demo"] = profielen.demo_inrichten(actie.session, inst, datetime.now(UTC))


def cmd_serve(args: argparse.Namespace, create_app: Callable[[config.Settings], object]) -> int:
    settings = config.from_env()
    if settings.development and not is_loopback(args.host):
        print(f"refused: development mode listens on loopback only, not on {args.host}", file=sys.stderr)
        return 2
    if settings.identiteit != "ontwikkeling" and settings.tls_ca is None:
        print("refused: client certificates need VIR_TLS_CA (the accepted CA bundle)", file=sys.stderr)
        return 2
    if settings.identiteit == "tls" and settings.tls_key is None:
        print("refused: VIR_TLS_CERT needs VIR_TLS_KEY", file=sys.stderr)
        return 2
    if settings.beheer_ca is not None and settings.tls_crl is not None and settings.beheer_crl is None:
        print(
            "refused: with VIR_TLS_CRL the operator CA needs its revocation list too (VIR_BEHEER_CRL)", file=sys.stderr
        )
        return 2
    key, cert, created = key_paths(settings)
    db = _open_db(settings)
    with db.transaction(write=False) as s:
        federeert = bool(Repository(s).peers())
    if (fout := sleutels.ontbreekt(settings, federeert)) is not None:
        db.dispose()
        print(f"refused: {fout}", file=sys.stderr)
        return 2
    if args.demo and not settings.bench_zonder_log:  # a benchmark without a log registers unlogged
        for oin, naam, vestiging in DEMO_INSTANTIES:
            try:
                _register(settings, db, oin, naam, vestiging, demo=True)
            except beheerlog.Geweigerd as exc:
                if exc.exit_code == beheerlog.EXIT_NIET_GELOGD:
                    return exc.meld()
    elif args.demo:
        with db.transaction() as s:
            repo = Repository(s)
            for oin, naam, vestiging in DEMO_INSTANTIES:
                if repo.instantie(oin) is None:
                    repo.add_instantie(oin, naam, vestiging, datetime.now(UTC))
    db.dispose()
    if created:
        print(
            f"generated a development key pair for signing log checkpoints: {key} (certificate {cert})", file=sys.stderr
        )
    if settings.bench_zonder_log:
        print("WARNING: VIR_BENCH_ZONDER_LOG=1: NOTHING IS LOGGED. For benchmarks only.", file=sys.stderr)
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    if settings.development:
        print(DEV_BANNER, file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.identiteit == "tls" else "http"
    print(
        f"vir-gateway listening on {scheme}://{shown}:{port}/v1/ketenpartner "
        f"(WSDL: {scheme}://{shown}:{port}/v1/ketenpartner?wsdl), database {_safe_url(settings.url)}, "
        f"identity: {settings.identiteit}",
        flush=True,
    )
    beheer_toegang = (
        "open (development mode)"
        if settings.development
        else ("client certificates of the operator CA" if settings.beheer_ca else "closed: set VIR_BEHEER_CA")
    )
    print(f"operator console: {scheme}://{shown}:{port}/beheer/ ({beheer_toegang})", flush=True)
    if args.demo:
        print("demo instanties: " + ", ".join(f"{o} {n}" for o, n, _ in DEMO_INSTANTIES), flush=True)
    if args.port_file:
        Path(args.port_file).write_text(str(port))

    def factory() -> object:
        return create_app(settings)

    run(factory, sock, settings, args.workers)
    return 0


def _safe_url(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = config.from_env()
    _open_db(settings).dispose()
    print(f"database at newest schema: {_safe_url(settings.url)}")
    return 0


def cmd_instantie_add(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[0-9]{20}", args.oin):
        print("an OIN has exactly 20 digits", file=sys.stderr)
        return 2
    settings = config.from_env()
    try:
        _register(settings, _open_db(settings), args.oin, args.naam, args.vestiging)
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(f"registered {args.oin} {args.naam}")
    return 0


def cmd_instantie_list(args: argparse.Namespace) -> int:
    db = _open_db(config.from_env())
    with db.transaction(write=False) as s:
        rows = Repository(s).instanties()
        print(f"{'OIN':<20}  {'status':<8}  {'naam':<30}  vestiging")
        for r in rows:
            print(f"{r.oin:<20}  {'actief' if r.actief else 'geschorst':<8}  {r.naam:<30}  {r.vestiging or ''}")
    return 0


def add_parsers(sub: Any, create_app: Callable[[config.Settings], object]) -> None:
    """The gateway's commands; ``create_app`` makes the WSGI application of one worker process."""
    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--demo", action="store_true", help="register the demo instanties")
    s.add_argument("--port-file", help="write the port to this file once listening")
    s.set_defaults(fn=lambda args: cmd_serve(args, create_app))

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="dbcmd", required=True)
    db.add_parser("upgrade", help="migrate to the newest schema").set_defaults(fn=cmd_db_upgrade)

    inst = sub.add_parser("instantie", help="registered organisations").add_subparsers(dest="icmd", required=True)
    a = inst.add_parser("add", help="register an instantie")
    a.add_argument("--oin", required=True)
    a.add_argument("--naam", required=True)
    a.add_argument("--vestiging")
    a.set_defaults(fn=cmd_instantie_add)
    inst.add_parser("list", help="list instanties").set_defaults(fn=cmd_instantie_list)
    beheer.add_parsers(sub, inst)
    pki.add_parser(sub)
    console_cli.add_parser(sub)
    log_cli.add_parser(sub)
    betrokkene.add_parser(sub)


if __name__ == "__main__":
    sys.exit("the command is vir-gateway (or python -m vir)")
