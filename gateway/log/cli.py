"""``vir-gateway log …``: the operators' view of the message log.

    list | search      entries by time, operation, instantie, berichtId, fault code or BSN
    show V             one entry: metadata and pretty payload
    verify             the whole log (or --bundle FILE, offline): exit 0 intact, 1 problems found
    proof V            inclusion proof of entry V against the newest checkpoint covering it
    consistency A B    consistency proof between the checkpoints of sizes A and B
    export             a range as a self-contained bundle (zip)
    redact --before D  remove payloads older than D; everything stays verifiable
    checkpoint         sign a checkpoint now

Every read is itself logged (soort ``inzage``: who, what, when; NEN 7513), every change too
(soort ``beheer``). Exit codes: 0 done/intact, 1 verification failed or nothing found, 2 usage.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import LargeBinary, func, literal, select, update
from sqlalchemy.exc import SQLAlchemyError

from gateway import config
from gateway.log import bewijs, bundle, merkle
from gateway.log.logboek import Logboek
from gateway.log.regel import Regel, tijdstempel
from gateway.log.verify import Bevinding, Resultaat, controleer_checkpoints, verify_database
from store.db import Database
from store.migrate import upgrade
from store.models import Checkpoint, LogHoofd, LogRegel


def _operator(args: argparse.Namespace) -> str:
    return str(args.operator or os.environ.get("VIR_OPERATOR") or getpass.getuser())


def _open() -> tuple[config.Settings, Database, Logboek]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db, Logboek(settings, db)


def _audit(logboek: Logboek, args: argparse.Namespace, soort: str, wat: dict[str, Any]) -> None:
    """Log an operator's read (inzage) or action (beheer) in its own transaction."""
    payload = json.dumps({"opdracht": args.logcmd, **wat}, ensure_ascii=False, sort_keys=True).encode()
    with logboek.db.transaction() as s:
        logboek.schrijf(s, [Regel(logboek.nu(), soort, f"log {args.logcmd}", _operator(args), payload)])


class _Voortgang:
    """A progress line on stderr for long runs, only when stderr is a terminal."""

    def __init__(self, totaal: int) -> None:
        self.totaal = max(totaal, 1)
        self.aan = sys.stderr.isatty()

    def __call__(self, n: int) -> None:
        if self.aan:
            pct = 100 * n // self.totaal
            bar = "#" * (pct // 4)
            print(f"\r[{bar:<25}] {pct:3d}% {n}/{self.totaal}", end="", file=sys.stderr, flush=True)

    def klaar(self) -> None:
        if self.aan:
            print(file=sys.stderr)


def _regel_regel(r: LogRegel) -> str:
    return (
        f"{r.volgnummer:>8}  {r.tijdstip}  {r.soort:<8}  {r.operatie:<24}  {r.actor:<20}  "
        f"{r.bericht_id or '-':<36}  {r.foutcode or ''}"
    )


def _kop() -> str:
    return f"{'nr':>8}  {'tijdstip':<27}  {'soort':<8}  {'operatie':<24}  {'actor':<20}  {'berichtId':<36}  fout"


def cmd_list(args: argparse.Namespace) -> int:
    _, db, logboek = _open()
    q = select(LogRegel).order_by(LogRegel.volgnummer.desc()).limit(args.limit)
    filters: dict[str, Any] = {"limit": args.limit}
    if args.cmd_search:
        if args.van:
            q = q.where(LogRegel.tijdstip >= args.van)
            filters["van"] = args.van
        if args.tot:
            q = q.where(LogRegel.tijdstip < args.tot)
            filters["tot"] = args.tot
        for veld, kolom in (
            ("operatie", LogRegel.operatie),
            ("instantie", LogRegel.actor),
            ("foutcode", LogRegel.foutcode),
            ("soort", LogRegel.soort),
        ):
            if getattr(args, veld):
                q = q.where(kolom == getattr(args, veld))
                filters[veld] = getattr(args, veld)
        if args.bericht_id:
            q = q.where((LogRegel.bericht_id == args.bericht_id) | (LogRegel.kruisverwijzing == args.bericht_id))
            filters["berichtId"] = args.bericht_id
        if args.bsn:
            needle = f">{args.bsn}<".encode()
            if db.is_sqlite:
                q = q.where(func.instr(LogRegel.payload, needle) > 0)
            else:
                q = q.where(func.position(literal(needle, LargeBinary).op("IN")(LogRegel.payload)) > 0)
            filters["bsn"] = args.bsn
    with db.transaction(write=False) as s:
        rows = list(reversed(s.execute(q).scalars().all()))
        print(_kop())
        for r in rows:
            print(_regel_regel(r))
    _audit(logboek, args, "inzage", {**filters, "gevonden": len(rows)})
    return 0 if rows or not args.cmd_search else 1


def cmd_show(args: argparse.Namespace) -> int:
    _, db, logboek = _open()
    with db.transaction(write=False) as s:
        r = s.get(LogRegel, args.volgnummer)
        if r is None:
            print(f"no entry {args.volgnummer}", file=sys.stderr)
            return 1
        for k in bundle.KOLOMMEN:
            print(f"{k:<18} {getattr(r, k)}")
        print(f"{'payload_sha256':<18} {r.payload_digest.hex()}")
        print(f"{'leaf':<18} {r.leaf.hex()}")
        print()
        if r.payload is None:
            print("(payload removed after its retention period)")
        else:
            try:
                doc = etree.fromstring(r.payload, etree.XMLParser(resolve_entities=False, no_network=True))
                print(etree.tostring(doc, pretty_print=True, encoding="unicode"))
            except etree.XMLSyntaxError:
                print(r.payload.decode("utf-8", "replace"))
    _audit(logboek, args, "inzage", {"volgnummer": args.volgnummer})
    return 0


def _print_resultaat(res: Resultaat) -> int:
    if res.ok:
        print(f"OK: {res.regels} entries and {res.checkpoints} signed checkpoints verified")
        return 0
    print(f"FAILED: {len(res.bevindingen)} problem(s); the first:")
    for b in res.bevindingen[:20]:
        print(f"  {b}")
    return 1


def cmd_verify(args: argparse.Namespace) -> int:
    if args.bundle:
        cert = Path(args.cert).read_bytes() if args.cert else None
        res, manifest = bundle.verifieer(Path(args.bundle), cert)
        with zipfile.ZipFile(args.bundle) as z:
            print(f"certificate SHA-256 fingerprint: {bundle.fingerprint(cert or z.read('certificaat.pem'))}")
        print(f"bundle: entries {manifest.get('van')}…{manifest.get('tot')} of a tree of {manifest.get('grootte')}")
        return _print_resultaat(res)
    _, db, logboek = _open()
    cert = logboek.cert_path.read_bytes()
    res = Resultaat()
    with db.transaction(write=False) as s:
        head = s.execute(select(LogHoofd).where(LogHoofd.id == 1)).scalar_one()
        cps = controleer_checkpoints(s.execute(select(Checkpoint.grootte, Checkpoint.xml)).tuples().all(), cert, res)
        for grootte, wortel in s.execute(select(Checkpoint.grootte, Checkpoint.wortel)).tuples():
            if grootte in cps and cps[grootte].wortel != wortel:
                res.bevindingen.append(Bevinding(f"checkpoint {grootte}", "stored root differs from the signed one"))
        voortgang = _Voortgang(head.grootte)
        verify_database(db.url, cps, res, head=(head.grootte, head.wortel), workers=args.workers, progress=voortgang)
        voortgang.klaar()
    code = _print_resultaat(res)
    try:
        _audit(logboek, args, "inzage", {"resultaat": "ok" if res.ok else [str(b) for b in res.bevindingen[:5]]})
    except SQLAlchemyError as exc:
        # A damaged log may not take a new entry; the verdict above stands.
        print(f"WARNING: this verification could not be logged ({type(exc).__name__})", file=sys.stderr)
    return code


def cmd_proof(args: argparse.Namespace) -> int:
    _, db, logboek = _open()
    with db.transaction(write=False) as s:
        r = s.get(LogRegel, args.volgnummer)
        if r is None:
            print(f"no entry {args.volgnummer}", file=sys.stderr)
            return 1
        inc = bewijs.inclusie(s, r.volgnummer, r.leaf)
        if inc is None:
            print("no signed checkpoint covers this entry yet; run 'vir-gateway log checkpoint'", file=sys.stderr)
            return 1
        ok = merkle.verify_inclusion(r.leaf, r.volgnummer, inc.grootte, inc.pad, inc.checkpoint.wortel)
        print(
            json.dumps(
                {
                    "volgnummer": r.volgnummer,
                    "leaf": r.leaf.hex(),
                    "boomgrootte": inc.grootte,
                    "wortel": inc.checkpoint.wortel.hex(),
                    "auditpad": [h.hex() for h in inc.pad],
                    "checkpoint": inc.checkpoint.xml.decode(),
                    "geverifieerd": ok,
                },
                indent=2,
            )
        )
    _audit(logboek, args, "inzage", {"volgnummer": args.volgnummer})
    return 0 if ok else 1


def cmd_consistency(args: argparse.Namespace) -> int:
    _, db, logboek = _open()
    with db.transaction(write=False) as s:
        a = s.execute(select(Checkpoint).where(Checkpoint.grootte == args.oud)).scalar_one_or_none()
        b = s.execute(select(Checkpoint).where(Checkpoint.grootte == args.nieuw)).scalar_one_or_none()
        if a is None or b is None:
            print(
                "both sizes must be checkpoints ('vir-gateway log list' shows none; see 'log checkpoints')",
                file=sys.stderr,
            )
            return 1
        proof = merkle.consistency_proof(bewijs.leaves(s, b.grootte), a.grootte, b.grootte)
        ok = merkle.verify_consistency(a.grootte, b.grootte, a.wortel, b.wortel, proof)
        print(
            json.dumps(
                {
                    "oud": a.grootte,
                    "nieuw": b.grootte,
                    "oudeWortel": a.wortel.hex(),
                    "nieuweWortel": b.wortel.hex(),
                    "bewijs": [h.hex() for h in proof],
                    "geverifieerd": ok,
                },
                indent=2,
            )
        )
    _audit(logboek, args, "inzage", {"oud": args.oud, "nieuw": args.nieuw})
    return 0 if ok else 1


def cmd_checkpoints(args: argparse.Namespace) -> int:
    _, db, _ = _open()
    with db.transaction(write=False) as s:
        for cp in s.execute(select(Checkpoint).order_by(Checkpoint.grootte)).scalars():
            print(f"{cp.grootte:>10}  {cp.tijdstip}  {base64.b64encode(cp.wortel).decode()}")
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    _, _, logboek = _open()
    cp = logboek.checkpoint(force=True)
    if cp is None:
        print("the newest checkpoint already covers the whole log")
        return 0
    print(f"signed checkpoint of {cp.grootte} entries")
    if args.uit:
        Path(args.uit).write_bytes(cp.xml)
        print(f"written to {args.uit} (verify: xmlsec1 --verify --pubkey-cert-pem {logboek.cert_path} {args.uit})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings, db, logboek = _open()
    logboek.checkpoint(force=True)
    with db.transaction(write=False) as s:
        cp = s.execute(select(Checkpoint).order_by(Checkpoint.grootte.desc()).limit(1)).scalar_one()
        tot = min(args.tot if args.tot is not None else cp.grootte - 1, cp.grootte - 1)
        rows = s.execute(
            select(LogRegel).where(LogRegel.volgnummer.between(args.van, tot)).order_by(LogRegel.volgnummer)
        ).scalars()
        cps = (
            s.execute(
                select(Checkpoint.grootte, Checkpoint.xml)
                .where(Checkpoint.grootte <= cp.grootte)
                .order_by(Checkpoint.grootte)
            )
            .tuples()
            .all()
        )
        bundle.schrijf(
            Path(args.uit),
            van=args.van,
            tot=tot,
            grootte=cp.grootte,
            uitgever=settings.gateway_oin,
            regels=iter(rows),
            leaves=bewijs.leaves(s, cp.grootte),
            checkpoints=list(cps),
            cert_pem=logboek.cert_path.read_bytes(),
        )
    print(f"exported entries {args.van}…{tot} (tree of {cp.grootte}) to {args.uit}")
    _audit(logboek, args, "inzage", {"van": args.van, "tot": tot, "bestand": Path(args.uit).name})
    return 0


def cmd_redact(args: argparse.Namespace) -> int:
    _, db, logboek = _open()
    grens = tijdstempel(datetime.fromisoformat(args.before).replace(tzinfo=UTC))
    nu = logboek.nu()
    with db.transaction() as s:
        n = s.execute(
            select(func.count()).select_from(LogRegel).where(LogRegel.tijdstip < grens, LogRegel.payload.is_not(None))
        ).scalar_one()
        s.execute(
            update(LogRegel)
            .where(LogRegel.tijdstip < grens, LogRegel.payload.is_not(None))
            .values(payload=None, payload_verwijderd=nu)
        )
        logboek.schrijf(
            s,
            [Regel(nu, "beheer", "log redact", _operator(args), json.dumps({"voor": grens, "verwijderd": n}).encode())],
        )
    print(f"removed {n} payloads of entries before {grens}; their digests stay in the log")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("log", help="the signed message log")
    p.add_argument("--operator", help="who you are (default: $VIR_OPERATOR or the login name)")
    ls = p.add_subparsers(dest="logcmd", required=True)

    for name in ("list", "search"):
        x = ls.add_parser(name, help="entries, newest last" if name == "list" else "entries matching filters")
        x.add_argument("--limit", type=int, default=50)
        x.set_defaults(fn=cmd_list, cmd_search=name == "search")
        if name == "search":
            x.add_argument("--van", help="from this time (RFC 3339, UTC)")
            x.add_argument("--tot", help="before this time")
            x.add_argument("--operatie")
            x.add_argument("--instantie", help="OIN of the sender")
            x.add_argument("--bericht-id")
            x.add_argument("--foutcode")
            x.add_argument("--soort", choices=["inkomend", "uitgaand", "fout", "beheer", "inzage"])
            x.add_argument("--bsn", help="entries whose payload holds this BSN (the search is logged)")
    x = ls.add_parser("show", help="one entry")
    x.add_argument("volgnummer", type=int)
    x.set_defaults(fn=cmd_show)
    x = ls.add_parser("verify", help="verify the whole log, or a bundle offline")
    x.add_argument("--bundle", help="an exported bundle")
    x.add_argument("--cert", help="the certificate obtained out of band (default: the one in the bundle)")
    x.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes checking entries")
    x.set_defaults(fn=cmd_verify)
    x = ls.add_parser("proof", help="inclusion proof of an entry")
    x.add_argument("volgnummer", type=int)
    x.set_defaults(fn=cmd_proof)
    x = ls.add_parser("consistency", help="consistency proof between two checkpoints")
    x.add_argument("oud", type=int, help="size of the older checkpoint")
    x.add_argument("nieuw", type=int, help="size of the newer checkpoint")
    x.set_defaults(fn=cmd_consistency)
    ls.add_parser("checkpoints", help="list the signed checkpoints").set_defaults(fn=cmd_checkpoints)
    x = ls.add_parser("checkpoint", help="sign a checkpoint now")
    x.add_argument("--uit", help="also write it to this file")
    x.set_defaults(fn=cmd_checkpoint)
    x = ls.add_parser("export", help="a range as a self-contained bundle")
    x.add_argument("--van", type=int, default=0)
    x.add_argument("--tot", type=int)
    x.add_argument("--uit", required=True, help="the bundle file (zip)")
    x.set_defaults(fn=cmd_export)
    x = ls.add_parser("redact", help="remove payloads older than a date")
    x.add_argument("--before", required=True, help="date (YYYY-MM-DD) or time, UTC")
    x.set_defaults(fn=cmd_redact)
