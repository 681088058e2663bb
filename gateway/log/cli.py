"""``vir-gateway log …``: the operators' view of the message log.

    list | search      entries by time, operation, instantie, berichtId, fault code or BSN
    show V             one entry: metadata and pretty payload
    verify             the whole log (or --bundle FILE, offline): exit 0 intact, 1 problems found;
                       --tegen FILE… also holds it against checkpoints kept elsewhere
    proof V            inclusion proof of entry V against the newest checkpoint covering it
    consistency A B    consistency proof between the checkpoints of sizes A and B
    export             a range as a self-contained bundle (zip)
    redact --before D  remove payloads older than D (--bsn B: a data subject's erasure); the
                       redaction is itself an entry naming them, and everything stays verifiable
    checkpoint         sign a checkpoint now
    getuigen           per peer, the newest checkpoints cosigned either way; split views (exit 1)

Every read is itself logged (soort ``inzage``: who, what, when; NEN 7513), every change too
(soort ``beheer``); ``verify`` logs its read only after it found the log intact, and never writes to
a log it found broken. Every failure is one line on stderr and an exit code (``EXIT``); a pipe closed
early (``log list | head``) ends quietly.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import GatewayError
from gateway.log import bewijs, bundle, getuigen_cli, merkle, redactie
from gateway.log.invoer import InvoerFout, buiten_checkpoint, certificaat
from gateway.log.opdracht import audit, fout, open_log, operator, uit, veilig
from gateway.log.regel import tijdstempel
from gateway.log.verify import (
    Bevinding,
    Buiten,
    Hoofd,
    Resultaat,
    controleer_checkpoints,
    controleer_wachtend,
    verify_database,
)
from store import logboek as opslag
from store.logboek import Selectie, Zoekvraag
from store.models import LogregelRij


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


def _regel_regel(r: LogregelRij) -> str:
    return (
        f"{r.volgnummer:>8}  {r.tijdstip}  {r.soort:<8}  {r.operatie:<24}  {r.actor:<20}  "
        f"{r.bericht_id or '-':<36}  {r.foutcode or ''}"
    )


def _kop() -> str:
    return f"{'nr':>8}  {'tijdstip':<27}  {'soort':<8}  {'operatie':<24}  {'actor':<20}  {'berichtId':<36}  fout"


def cmd_list(args: argparse.Namespace) -> int:
    _, db, logboek = open_log()
    vraag = Zoekvraag()
    filters: dict[str, Any] = {"limit": args.limit}
    if args.cmd_search:
        vraag = Zoekvraag(
            van=args.van,
            tot=args.tot,
            operatie=args.operatie,
            actor=args.instantie,
            foutcode=args.foutcode,
            soort=args.soort,
            bericht_id=args.bericht_id,
            bsn=args.bsn,
        )
        for veld, sleutel in (
            ("van", "van"),
            ("tot", "tot"),
            ("operatie", "operatie"),
            ("instantie", "instantie"),
            ("foutcode", "foutcode"),
            ("soort", "soort"),
            ("bericht_id", "berichtId"),
            ("bsn", "bsn"),
        ):
            if getattr(args, veld):
                filters[sleutel] = getattr(args, veld)
    with db.transaction(write=False) as s:
        rows = opslag.zoek(s, vraag, limit=args.limit)
        uit(_kop())
        for r in rows:
            uit(_regel_regel(r))
    audit(logboek, args, "inzage", {**filters, "gevonden": len(rows)})
    return 0 if rows or not args.cmd_search else 1


def cmd_show(args: argparse.Namespace) -> int:
    _, db, logboek = open_log()
    with db.transaction(write=False) as s:
        r = opslag.regel(s, args.volgnummer)
        if r is None:
            print(f"no entry {args.volgnummer}", file=sys.stderr)
            return 1
        for k in bundle.KOLOMMEN:
            uit(f"{k:<18} {getattr(r, k)}")
        uit(f"{'payload_sha256':<18} {bytes(r.payload_digest).hex()}")
        uit(f"{'leaf':<18} {bytes(r.leaf).hex()}")
        uit()
        if r.payload is None:
            uit(f"(payload removed; the redaction is entry {r.payload_verwijderd})")
        elif not isinstance(r.payload, bytes):
            uit(f"(the stored payload is not bytes but {type(r.payload).__name__}: 'log verify' names this)")
        else:
            try:
                doc = etree.fromstring(r.payload, etree.XMLParser(resolve_entities=False, no_network=True))
                uit(etree.tostring(doc, pretty_print=True, encoding="unicode"))
            except etree.XMLSyntaxError:
                uit(r.payload.decode("utf-8", "replace"))
    audit(logboek, args, "inzage", {"volgnummer": args.volgnummer})
    return 0


def _print_resultaat(res: Resultaat) -> int:
    if res.ok:
        redacted = f", {res.redacties} payloads removed by logged redactions" if res.redacties else ""
        uit(f"OK: {res.regels} entries and {res.checkpoints} signed checkpoints verified{redacted}")
        if res.wachtend:
            uit(f"    and {res.wachtend} entries committed after the tree's end, each checked on its own")
        return 0
    uit(f"FAILED: {len(res.bevindingen)} problem(s); the first:")
    for b in res.bevindingen[:20]:
        uit(f"  {b}")
    return 1


def _verify_bundle(args: argparse.Namespace) -> int:
    pad = Path(args.bundle)
    cert = certificaat(args.cert) if args.cert else None
    res, manifest = bundle.verifieer(pad, cert)
    try:
        uit(f"certificate SHA-256 fingerprint: {bundle.fingerprint(cert or bundle.certificaat_in(pad))}")
    except ValueError as exc:
        raise InvoerFout(f"{pad}: its certificaat.pem is not a PEM certificate") from exc
    uit(f"bundle: entries {manifest.get('van')}…{manifest.get('tot')} of a tree of {manifest.get('grootte')}")
    return _print_resultaat(res)


def cmd_verify(args: argparse.Namespace) -> int:
    if args.bundle:
        if args.tegen:
            raise InvoerFout("--tegen holds the database against checkpoints; a bundle carries its own")
        return _verify_bundle(args)
    settings, db, logboek = open_log()
    cert = certificaat(args.cert) if args.cert else logboek.cert_path.read_bytes()
    res = Resultaat()
    tegen: list[Buiten] = []
    for pad in args.tegen or ():
        buiten, waarom = buiten_checkpoint(pad, cert)
        if buiten is None:
            res.bevindingen.append(Bevinding(f"checkpoint file {Path(pad).name}", str(waarom)))
        elif buiten.data.uitgever != settings.gateway_oin:
            res.bevindingen.append(
                Bevinding(
                    f"checkpoint file {Path(pad).name}",
                    f"issued by {buiten.data.uitgever}, not by this gateway ({settings.gateway_oin})",
                )
            )
        else:
            tegen.append(buiten)
    with db.transaction(write=False) as s:
        opgeslagen, hoogste = opslag.hoofd_en_hoogste(s)
        reeks = not db.is_sqlite
        head = Hoofd(opgeslagen.grootte, opgeslagen.wortel, opgeslagen.frontier, hoogste, reeks)
        cps = controleer_checkpoints(opslag.checkpoints_tot(s), cert, res)
        for n, w in opslag.checkpoint_wortels(s):
            if n in cps and cps[n].wortel != w:
                res.bevindingen.append(Bevinding(f"checkpoint {n}", "stored root differs from the signed one"))
        voortgang = _Voortgang(head.grootte)
        verify_database(db.url, cps, res, head=head, workers=args.workers, tegen=tegen, progress=voortgang)
        voortgang.klaar()
        if reeks and hoogste is not None and hoogste >= head.grootte:
            controleer_wachtend(opslag.regels_tussen(s, head.grootte, hoogste), head.grootte, res)
        if res.ok:
            _tegen_bewijzen(s, tegen, head.grootte, res)
    code = _print_resultaat(res)
    for b in tegen if res.ok else ():
        uit(f"  consistent with checkpoint {b.data.grootte} of {b.data.tijdstip} from {b.naam}")
    if not res.ok:
        # Evidence first: a log found broken is left exactly as it was found.
        print("this verification was not logged: nothing is written to a log found broken", file=sys.stderr)
        return code
    try:
        audit(logboek, args, "inzage", {"resultaat": "ok", "tegen": [b.naam for b in tegen]})
    except (SQLAlchemyError, GatewayError) as exc:
        print(f"WARNING: this verification could not be logged ({type(exc).__name__})", file=sys.stderr)
    return code


def _tegen_bewijzen(s: Any, tegen: list[Buiten], grootte: int, res: Resultaat) -> None:
    """The consistency proof from each outside checkpoint to the verified log, from the stored tree."""
    for b in tegen:
        m = b.data.grootte
        if not 0 < m <= grootte or res.wortel is None:
            continue
        try:
            proof = bewijs.consistency(s, m, grootte)
        except bewijs.ProofError as exc:
            res.bevindingen.append(Bevinding(f"checkpoint {m} from {b.naam}", exc.detail))
            continue
        if not merkle.verify_consistency(m, grootte, b.data.wortel, res.wortel, proof):
            res.bevindingen.append(
                Bevinding(f"checkpoint {m} from {b.naam}", "the stored tree nodes give no valid consistency proof")
            )


def cmd_proof(args: argparse.Namespace) -> int:
    _, db, logboek = open_log()
    with db.transaction(write=False) as s:
        r = opslag.regel(s, args.volgnummer)
        if r is None:
            print(f"no entry {args.volgnummer}", file=sys.stderr)
            return 1
        try:
            inc = bewijs.inclusie(s, r.volgnummer, bytes(r.leaf))
        except bewijs.ProofError as exc:
            fout(f"{exc.detail}; run 'vir-gateway log verify'")
            return 1
        if inc is None:
            print("no signed checkpoint covers this entry yet; run 'vir-gateway log checkpoint'", file=sys.stderr)
            return 1
        ok = merkle.verify_inclusion(inc.leaf, r.volgnummer, inc.grootte, inc.pad, inc.checkpoint.wortel)
        uit(
            json.dumps(
                {
                    "volgnummer": r.volgnummer,
                    "leaf": inc.leaf.hex(),
                    "boomgrootte": inc.grootte,
                    "wortel": inc.checkpoint.wortel.hex(),
                    "auditpad": [h.hex() for h in inc.pad],
                    "checkpoint": inc.checkpoint.xml.decode(),
                    "geverifieerd": ok,
                },
                indent=2,
            )
        )
    audit(logboek, args, "inzage", {"volgnummer": args.volgnummer})
    return 0 if ok else 1


def cmd_consistency(args: argparse.Namespace) -> int:
    if not 0 < args.oud <= args.nieuw:
        fout("the sizes must satisfy 0 < oud ≤ nieuw")
        return 2
    _, db, logboek = open_log()
    with db.transaction(write=False) as s:
        a = opslag.checkpoint(s, args.oud)
        b = opslag.checkpoint(s, args.nieuw)
        geen = [str(n) for n, cp in ((args.oud, a), (args.nieuw, b)) if cp is None]
        if a is None or b is None:
            fout(
                f"no signed checkpoint of size {' nor '.join(geen)}: a consistency proof is between two "
                "checkpoints ('vir-gateway log checkpoints' lists their sizes)"
            )
            return 1
        try:
            proof = bewijs.consistency(s, a.grootte, b.grootte)
        except bewijs.ProofError as exc:
            fout(f"{exc.detail}; run 'vir-gateway log verify'")
            return 1
        ok = merkle.verify_consistency(a.grootte, b.grootte, a.wortel, b.wortel, proof)
        uit(
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
    audit(logboek, args, "inzage", {"oud": args.oud, "nieuw": args.nieuw})
    return 0 if ok else 1


def cmd_checkpoints(args: argparse.Namespace) -> int:
    _, db, _ = open_log()
    with db.transaction(write=False) as s:
        for cp in opslag.checkpoints(s):
            uit(f"{cp.grootte:>10}  {cp.tijdstip}  {base64.b64encode(cp.wortel).decode()}")
    return 0


def cmd_checkpoint(args: argparse.Namespace) -> int:
    _, db, logboek = open_log()
    cp = logboek.checkpoint(force=True)
    if cp is None:
        uit("the newest checkpoint already covers the whole log")
        if not args.uit:
            return 0
        # --uit hands out a checkpoint of the whole log: the newest is one.
        with db.transaction(write=False) as s:
            cp = opslag.laatste_checkpoint(s)
        assert cp is not None  # the log is not empty: checkpoint() found one covering all of it
    else:
        uit(f"signed checkpoint of {cp.grootte} entries")
    if args.uit:
        Path(args.uit).write_bytes(cp.xml)
        print(f"written to {args.uit} (verify: xmlsec1 --verify --pubkey-cert-pem {logboek.cert_path} {args.uit})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings, db, logboek = open_log()
    logboek.checkpoint(force=True)
    with db.transaction(write=False) as s:
        cp = opslag.laatste_checkpoint(s)
        if cp is None:
            fout("the log is empty: there is nothing to export")
            return 1
        tot = min(args.tot if args.tot is not None else cp.grootte - 1, cp.grootte - 1)
        rows = opslag.regels_tussen(s, args.van, tot)
        cps = opslag.checkpoints_tot(s, cp.grootte)
        bundle.schrijf(
            Path(args.uit),
            van=args.van,
            tot=tot,
            grootte=cp.grootte,
            uitgever=settings.gateway_oin,
            regels=iter(rows),
            redacties=redactie.redacties_tot(s, cp.grootte),
            leaves=bewijs.leaves(s, cp.grootte),
            checkpoints=list(cps),
            cert_pem=logboek.cert_path.read_bytes(),
        )
    print(f"exported entries {args.van}…{tot} (tree of {cp.grootte}) to {args.uit}")
    audit(logboek, args, "inzage", {"van": args.van, "tot": tot, "bestand": Path(args.uit).name})
    return 0


def cmd_redact(args: argparse.Namespace) -> int:
    _, db, logboek = open_log()
    nu = logboek.nu()
    context: dict[str, Any]
    if args.bsn:
        # The BSN itself stays out of the redaction entry: that entry is never redacted.
        waar, reden, context = Selectie(bsn=args.bsn), "uitwissing", {"verzoek": args.verzoek}
        uitleg = "holding that BSN"
    else:
        grens = tijdstempel(args.before)
        waar, reden, context = Selectie(voor=grens), "beheerder", {"voor": grens}
        uitleg = f"before {grens}"
    with db.transaction() as s:
        r = redactie.redigeer(s, waar=waar, reden=reden, actor=operator(args), tijdstip=nu, context=context)
    logboek.checkpoint(force=True)
    uit(
        f"removed {r.verwijderd} payloads of entries {uitleg}; their digests stay in the log, and entry "
        f"{r.volgnummer} records the redaction"
    )
    return 0


def _tijd(tekst: str) -> datetime:
    try:
        t = datetime.fromisoformat(tekst)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date or time: {tekst!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _bsn(tekst: str) -> str:
    if not (len(tekst) == 9 and tekst.isdigit()):
        raise argparse.ArgumentTypeError("a BSN has nine digits")
    return tekst


def add_parser(sub: Any) -> None:
    p = sub.add_parser("log", help="the signed message log")
    p.add_argument("--operator", help="who you are (default: $VIR_OPERATOR or the login name)")
    ls = p.add_subparsers(dest="logcmd", required=True)

    for name in ("list", "search"):
        x = ls.add_parser(name, help="entries, newest last" if name == "list" else "entries matching filters")
        x.add_argument("--limit", type=int, default=50)
        x.set_defaults(fn=veilig(cmd_list), cmd_search=name == "search")
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
    x.set_defaults(fn=veilig(cmd_show))
    x = ls.add_parser("verify", help="verify the whole log, or a bundle offline")
    x.add_argument("--bundle", help="an exported bundle")
    x.add_argument("--cert", help="the certificate obtained out of band (default: the one in the bundle)")
    x.add_argument(
        "--tegen",
        nargs="+",
        metavar="FILE",
        help="checkpoints of this log kept elsewhere (a partner's, an auditor's, a witness's): "
        "a rollback, a fork or another log's checkpoint is a problem",
    )
    x.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes checking entries")
    x.set_defaults(fn=veilig(cmd_verify))
    x = ls.add_parser("proof", help="inclusion proof of an entry")
    x.add_argument("volgnummer", type=int)
    x.set_defaults(fn=veilig(cmd_proof))
    x = ls.add_parser("consistency", help="consistency proof between two checkpoints")
    x.add_argument("oud", type=int, help="size of the older checkpoint")
    x.add_argument("nieuw", type=int, help="size of the newer checkpoint")
    x.set_defaults(fn=veilig(cmd_consistency))
    ls.add_parser("checkpoints", help="list the signed checkpoints").set_defaults(fn=veilig(cmd_checkpoints))
    x = ls.add_parser("checkpoint", help="sign a checkpoint now")
    x.add_argument("--uit", help="also write it to this file")
    x.set_defaults(fn=veilig(cmd_checkpoint))
    x = ls.add_parser("export", help="a range as a self-contained bundle")
    x.add_argument("--van", type=int, default=0)
    x.add_argument("--tot", type=int)
    x.add_argument("--uit", required=True, help="the bundle file (zip)")
    x.set_defaults(fn=veilig(cmd_export))
    x = ls.add_parser("redact", help="remove payloads (older than a date, or holding a BSN); logged as an entry")
    welke = x.add_mutually_exclusive_group(required=True)
    welke.add_argument("--before", type=_tijd, help="date (YYYY-MM-DD) or time, UTC")
    welke.add_argument("--bsn", type=_bsn, help="a data subject's erasure: every payload holding this BSN")
    x.add_argument("--verzoek", help="the erasure request's reference, recorded in the redaction entry")
    x.set_defaults(fn=veilig(cmd_redact))
    getuigen_cli.add_parser(ls)
