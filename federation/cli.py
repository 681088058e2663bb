"""``vir-gateway worker`` and ``vir-gateway federatie …``: peers, the outbox, dead deliveries, and a
local four-node federation for trying it out.

Changes (peer add, dead replay) are logged with the operator in the same transaction; a change that cannot
be logged is refused with exit code 3 (``gateway.beheerlog``)."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway import beheerlog, config
from store import outbox
from store.db import Database
from store.migrate import upgrade
from store.repository import Repository


def _db() -> tuple[config.Settings, Database]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db


def cmd_worker(args: argparse.Namespace) -> int:
    from federation.worker import Worker

    worker = Worker(config.from_env(), threads=args.threads)
    if args.once:
        print(f"attempted {worker.run_once()} deliveries")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: worker.stop.set())
    signal.signal(signal.SIGINT, lambda *_: worker.stop.set())
    print(f"federation worker of {worker.settings.systeem} running", flush=True)
    worker.run()
    return 0


def cmd_peer_add(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[A-Z0-9]{2,20}", args.systeem) or not re.fullmatch(r"[0-9]{20}", args.oin):
        print("systeem: 2-20 capitals or digits; oin: 20 digits", file=sys.stderr)
        return 2
    pem = None
    if args.certificaat:
        from gateway.identiteit import certificaat_fout

        fout = certificaat_fout(Path(args.certificaat), args.oin)
        if fout:
            print(f"refused: {fout}", file=sys.stderr)
            return 2
        pem = Path(args.certificaat).read_text()
    settings, db = _db()
    try:
        with beheerlog.actie(settings, db, "federatie peer add") as actie:
            Repository(actie.session).zet_peer(args.systeem, args.url, args.oin, pem)
            actie.inhoud = {"systeem": args.systeem, "url": args.url, "oin": args.oin}
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(f"peer {args.systeem} at {args.url}")
    return 0


def cmd_peer_list(args: argparse.Namespace) -> int:
    _, db = _db()
    with db.transaction(write=False) as s:
        for p in Repository(s).peers():
            print(f"{p.systeem:<14} {'actief' if p.actief else 'uit':<7} {p.oin}  {p.url}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _, db = _db()
    for peer, status, n in outbox.stand(db):
        print(f"{peer:<14} {status:<11} {n}")
    return 0


def cmd_dead_list(args: argparse.Namespace) -> int:
    _, db = _db()
    rows = outbox.dood(db)
    for r in rows:
        print(
            f"{r.id:>8}  {r.peer:<12} {r.soort:<10} {r.bron_systeem}/{r.bron_melding_id} v{r.versie}  "
            f"{r.pogingen} attempts, last: {r.laatste_fout}"
        )
    return 0 if rows else 1


def cmd_dead_replay(args: argparse.Namespace) -> int:
    settings, db = _db()
    try:
        with beheerlog.actie(settings, db, "federatie dead replay") as actie:
            n = outbox.opnieuw(actie.session, args.id, datetime.now(UTC))
            actie.inhoud = {"ids": args.id or "alle", "aantal": n}
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(f"{n} dead deliveries queued again")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from federation.demo import run

    return run(args.basispoort, args.hub)


def add_parser(sub: Any) -> None:
    w = sub.add_parser("worker", help="deliver the federation outbox to the peers")
    w.add_argument("--once", action="store_true", help="deliver what is due now, then stop")
    w.add_argument("--threads", type=int, default=8, help="deliveries in parallel")
    w.set_defaults(fn=cmd_worker)

    f = sub.add_parser("federatie", help="peers and deliveries to other verwijsindex systems")
    fs = f.add_subparsers(dest="fcmd", required=True)
    peer = fs.add_parser("peer", help="the other systems").add_subparsers(dest="pcmd", required=True)
    a = peer.add_parser("add", help="add or change a peer")
    a.add_argument("--systeem", required=True, help="its system code, e.g. ZVJ")
    a.add_argument("--url", required=True, help="its Federatie endpoint, e.g. https://…/v1/federatie")
    a.add_argument("--oin", required=True, help="its gateway's OIN")
    a.add_argument("--certificaat", help="PEM certificate that signs its messages (then they must be signed)")
    a.set_defaults(fn=cmd_peer_add)
    peer.add_parser("list", help="list peers").set_defaults(fn=cmd_peer_list)
    fs.add_parser("status", help="deliveries per peer and state").set_defaults(fn=cmd_status)
    dead = fs.add_parser("dead", help="deliveries that gave up").add_subparsers(dest="dcmd", required=True)
    dead.add_parser("list", help="list them").set_defaults(fn=cmd_dead_list)
    r = dead.add_parser("replay", help="queue them again")
    r.add_argument("--id", type=int, action="append", help="only these (repeatable)")
    r.set_defaults(fn=cmd_dead_replay)
    d = fs.add_parser("demo", help="start four nodes on loopback: MULTISIGNAAL, ZVJ, MOP, VIS2")
    d.add_argument("--basispoort", type=int, default=8101)
    d.add_argument("--hub", action="store_true", help="also a national node (LVI) as hub, instead of a mesh")
    d.set_defaults(fn=cmd_demo)
