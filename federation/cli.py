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
from gateway.errors import ServerError
from gateway.log.token import TokenSleutel
from gateway.sleutels import ontbreekt
from gateway.wss.onderteken import laad_sleutel
from store import outbox
from store.db import Database
from store.getuigen import Getuigen
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
    checkpoint_pem = _checkpoint_certificaat(args.checkpoint_certificaat) if args.checkpoint_certificaat else None
    if checkpoint_pem == "":
        return 2
    settings, db = _db()
    try:
        with beheerlog.actie(settings, db, "federatie peer add") as actie:
            if (fout := ontbreekt(settings, federeert=True)) is not None:
                # Without the federation key every filing would be refused once a peer is registered.
                raise beheerlog.Geweigerd(fout, 2)
            repo = Repository(actie.session)
            repo.zet_peer(args.systeem, args.url, args.oin, pem, hub=args.hub)
            if checkpoint_pem:
                Getuigen(actie.session).zet_checkpoint_certificaat(args.systeem, checkpoint_pem)
            ondertekent = any(p.certificaat for p in repo.peers_met_oin(args.oin) if p.systeem == args.systeem)
            actie.inhoud = {"systeem": args.systeem, "url": args.url, "oin": args.oin, "hub": args.hub}
            if checkpoint_pem:
                actie.inhoud["checkpointCertificaat"] = checkpoint_pem
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(f"peer {args.systeem} at {args.url}")
    if not ondertekent and not settings.development and settings.federatie_wss_verplicht:
        print(
            f"note: {args.systeem} must sign; without --certificaat its messages are refused (VIR-WSS-CERTIFICAAT)",
            file=sys.stderr,
        )
    return 0


def _checkpoint_certificaat(pad: str) -> str:
    """The PEM of the certificate that signs a peer's checkpoints; "" (after a line on stderr) when unusable."""
    from cryptography import x509

    try:
        pem = Path(pad).read_text()
        x509.load_pem_x509_certificate(pem.encode())
    except (OSError, ValueError) as exc:
        print(f"refused: {pad} is not a readable PEM certificate ({type(exc).__name__})", file=sys.stderr)
        return ""
    return pem


def cmd_peer_actief(args: argparse.Namespace) -> int:
    actief = args.pcmd == "activeren"
    settings, db = _db()
    try:
        with beheerlog.actie(settings, db, f"federatie peer {args.pcmd}") as actie:
            if not Repository(actie.session).zet_peer_actief(args.systeem, actief):
                raise beheerlog.Geweigerd(f"no peer {args.systeem}", 1)
            actie.inhoud = {"systeem": args.systeem}
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(f"peer {args.systeem} {'active' if actief else 'suspended'}")
    return 0


def cmd_peer_list(args: argparse.Namespace) -> int:
    _, db = _db()
    with db.transaction(write=False) as s:
        for p in Repository(s).peers():
            print(f"{p.systeem:<14} {'actief' if p.actief else 'uit':<7} {p.oin}  {p.url}{'  (hub)' if p.hub else ''}")
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


def cmd_conformance(args: argparse.Namespace) -> int:
    from federation.conformance import Kit, bsn_uit_testbereik

    settings = config.from_env()
    tls: dict[str, Any] = {}
    cert, key = args.cert or settings.tls_client_cert, args.key or settings.tls_client_key
    if cert and key:
        tls["cert"] = (str(cert), str(key))
    if ca := args.ca or settings.tls_ca:
        tls["verify"] = str(ca)
    wss_key, wss_cert = args.wss_key or settings.wss_key, args.wss_cert or settings.wss_cert
    ondertekening = None
    if wss_key and wss_cert:
        cert_pem = Path(wss_cert).read_bytes()
        try:
            sleutel = laad_sleutel(wss_key, cert_pem)
            if isinstance(sleutel, TokenSleutel):
                sleutel.controleer()  # a wrong PIN or missing token: one line now, not a fault per behaviour
        except ServerError as exc:
            print(f"the WS-Security key cannot be used: {exc}", file=sys.stderr)
            return 3
        ondertekening = (sleutel, cert_pem)
    from gateway.domain.jongere import pseudoniem
    from gateway.domain.sleutelring import Sleutelring, SleutelringFout

    # The key as configured (or the development key this node made); the kit never makes one up.
    pad = args.federatiesleutel or settings.federatie_sleutel or settings.data_dir / "keys" / "federatie.sleutel"
    try:
        ring = Sleutelring.lees(Path(pad).read_text())
    except (OSError, SleutelringFout) as exc:
        print(f"refused: no usable federation key ({type(exc).__name__}); give --federatiesleutel", file=sys.stderr)
        return 2
    kit = Kit(
        args.url,
        jongere=pseudoniem(f"bsn:{args.bsn or bsn_uit_testbereik()}", ring),
        onbekend=pseudoniem(f"bsn:{bsn_uit_testbereik()}", ring),
        ontvanger=args.ontvanger,
        systeem=args.systeem or settings.systeem,
        oin=args.oin or settings.gateway_oin,
        tls=tls,
        ondertekening=ondertekening,
        timeout=args.timeout,
    )
    uitkomsten = kit.run(lambda u: print(u.regel(), flush=True))
    afwijkend = [u for u in uitkomsten if not u.ok]
    print(
        f"{len(uitkomsten) - len(afwijkend)}/{len(uitkomsten)} behaviours conform"
        + (f"; {len(afwijkend)} differ from the contract" if afwijkend else "")
    )
    return 1 if afwijkend else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from federation.demo import run

    return run(args.basispoort, args.hub, config.from_env().data_dir)


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
    a.add_argument(
        "--hub",
        action="store_true",
        help="it is the national hub: our meldingen always go to it, and it matches them (docs/federation.md)",
    )
    a.add_argument(
        "--checkpoint-certificaat",
        help="PEM certificate of the key that signs its log checkpoints (to witness its log; docs/getuigen.md)",
    )
    a.set_defaults(fn=cmd_peer_add)
    peer.add_parser("list", help="list peers").set_defaults(fn=cmd_peer_list)
    for naam, uitleg in (("schorsen", "suspend a peer: its messages are refused"), ("activeren", "reactivate it")):
        pa = peer.add_parser(naam, help=uitleg)
        pa.add_argument("systeem")
        pa.set_defaults(fn=cmd_peer_actief)
    fs.add_parser("status", help="deliveries per peer and state").set_defaults(fn=cmd_status)
    dead = fs.add_parser("dead", help="deliveries that gave up").add_subparsers(dest="dcmd", required=True)
    dead.add_parser("list", help="list them").set_defaults(fn=cmd_dead_list)
    r = dead.add_parser("replay", help="queue them again")
    r.add_argument("--id", type=int, action="append", help="only these (repeatable)")
    r.set_defaults(fn=cmd_dead_replay)
    c = sub.add_parser("conformance", help="run a contract's behaviours against another implementation")
    cs = c.add_subparsers(dest="ccmd", required=True)
    k = cs.add_parser("federatie", help="the federation contract (wsdl/federatie.wsdl) against a peer's endpoint")
    k.add_argument("url", help="the peer's Federatie endpoint, e.g. https://…/v1/federatie")
    k.add_argument("--ontvanger", required=True, help="the peer gateway's OIN (stuurgegevens/ontvanger)")
    k.add_argument("--systeem", help="our system code as the peer registered it (default: VIR_SYSTEEM)")
    k.add_argument("--oin", help="our OIN as the peer registered it (default: VIR_GATEWAY_OIN)")
    k.add_argument(
        "--bsn", help="a test youth the target holds an active melding on (needed for a node that is no hub)"
    )
    k.add_argument("--federatiesleutel", help="the federation key ring file (default: VIR_FEDERATIE_SLEUTEL)")
    k.add_argument("--cert", help="PEM client certificate (default: VIR_TLS_CLIENT_CERT)")
    k.add_argument("--key", help="its PEM key (default: VIR_TLS_CLIENT_KEY)")
    k.add_argument("--ca", help="PEM CA bundle for the peer's server certificate (default: VIR_TLS_CA)")
    k.add_argument(
        "--wss-key", help="PEM key, or pkcs11: URI of a token key, that signs the messages (default: VIR_WSS_KEY)"
    )
    k.add_argument("--wss-cert", help="its PEM certificate, as the peer registered it (default: VIR_WSS_CERT)")
    k.add_argument("--timeout", type=float, default=20.0, help="seconds per call")
    k.set_defaults(fn=cmd_conformance)

    d = fs.add_parser("demo", help="start four nodes on loopback: MULTISIGNAAL, ZVJ, MOP, VIS2")
    d.add_argument("--basispoort", type=int, default=8101)
    d.add_argument("--hub", action="store_true", help="also a national node (LVI) as hub, instead of a mesh")
    d.set_defaults(fn=cmd_demo)
