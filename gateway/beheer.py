"""Operator commands beyond serving: profiles, retention, the population register, reports.

    vir-gateway instantie profiel OIN [--melding-jaren N] [--regievoerder | --geen-regievoerder]
                                      [--afschermen --afscherm-oin O --afscherm-naam N --afscherm-contact C
                                       --afscherm-telefoon T --afscherm-email E | --niet-afschermen]
                                      [--auto-casustype T …] [--callback URL | --geen-callback]
                                      [--bsn | --geen-bsn] [--schorsen | --activeren]
                                      [--certificaat PEM] [--wss | --geen-wss]
                                      [--systeeminzage | --geen-systeeminzage]
                                      [profile content: see ``gateway.profielen``]
    vir-gateway instantie show OIN
    vir-gateway onderhoud [--nu TIJDSTIP]
    vir-gateway brp load FILE
    vir-gateway brp genereer --personen N [--seed S] [--peildatum D] FILE
    vir-gateway rapport [--van D] [--tot D] [--per maand] [--csv FILE] [--png FILE]
    vir-gateway rapport afstemming [--dagen N] [--csv FILE]
    vir-gateway rapport cijfers … / rapport jaar YEAR …  (publishable figures: ``gateway.publicatie.cli``)

Every change an operator makes is a ``beheer`` entry in the signed message log, written in the same
transaction and naming the operator; a command that cannot log refuses (exit code 3, ``gateway.beheerlog``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from gateway import beheerlog, config, profielen, rapport
from gateway.domain.regels import Regels
from gateway.identiteit import certificaat_fout
from gateway.publicatie import cli as publicatie_cli
from store import models as m
from store.db import Database
from store.migrate import upgrade
from store.rapportage import Rapportage
from store.repository import Repository


def _open_db() -> tuple[config.Settings, Database]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db


def _regels(s: config.Settings) -> Regels:
    return Regels(s.max_melding_jaren, s.max_leeftijd, s.archief_jaren)


def _nu(settings: config.Settings, tekst: str | None) -> datetime:
    if tekst:
        dt = datetime.fromisoformat(tekst)
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return config.klok(settings)()


# --- instantie profiles -----------------------------------------------------------------------


def _onderwerp(pem: str | None) -> str | None:
    if not pem:
        return None
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string()


def profiel_json(i: m.Instantie) -> dict[str, Any]:
    return {
        "oin": i.oin,
        "naam": i.naam,
        "vestiging": i.vestiging,
        "status": "actief" if i.actief else "geschorst",
        "meldingJaren": i.melding_jaren,
        "magRegievoeren": i.mag_regievoeren,
        "magAfschermen": i.mag_afschermen,
        "afschermcontact": json.loads(i.afschermcontact) if i.afschermcontact else None,
        "autoCasustypen": json.loads(i.auto_casustypen or "[]"),
        "callbackUrl": i.callback_url,
        "bsnToegestaan": i.bsn_toegestaan,
        "wsSecurityVerplicht": i.wss_verplicht,
        "systeemInzage": i.systeem_inzage,  # None: allowed in development mode only
        "certificaat": _onderwerp(i.certificaat),
        "push": {"totEnMet": i.push_tot, "pogingen": i.push_pogingen, "fout": i.push_fout},
    }


def cmd_profiel(args: argparse.Namespace) -> int:
    settings, db = _open_db()
    try:
        with beheerlog.actie(settings, db, "instantie-profiel") as actie:
            actie.inhoud = _profiel_zetten(settings, actie.session, args)
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(json.dumps(actie.inhoud, indent=2, ensure_ascii=False))
    return 0


def _profiel_zetten(settings: config.Settings, s: Session, args: argparse.Namespace) -> dict[str, Any]:
    """Apply the profile options; any refusal (``Geweigerd``) rolls all of them back."""
    inst = Repository(s).instantie(args.oin)
    if inst is None or inst.systeem is not None:
        raise beheerlog.Geweigerd(f"no instantie {args.oin} registered here")
    if args.melding_jaren is not None:
        if not 1 <= args.melding_jaren <= settings.max_melding_jaren:
            raise beheerlog.Geweigerd(f"--melding-jaren must lie between 1 and {settings.max_melding_jaren}", 2)
        inst.melding_jaren = args.melding_jaren
    if args.regievoerder is not None:
        inst.mag_regievoeren = args.regievoerder
    if args.afschermen is True:
        if not (args.afscherm_oin and args.afscherm_naam and args.afscherm_contact):
            raise beheerlog.Geweigerd("--afschermen needs --afscherm-oin, --afscherm-naam and --afscherm-contact", 2)
        inst.mag_afschermen = True
        inst.afschermcontact = json.dumps(
            {
                "oin": args.afscherm_oin,
                "naam": args.afscherm_naam,
                "vestiging": None,
                "meldingsbevoegde": {
                    "naam": args.afscherm_contact,
                    "functie": "afschermingscontact",
                    "telefoon": args.afscherm_telefoon,
                    "email": args.afscherm_email,
                },
                "bronsysteem": "vir-gateway",
            }
        )
    elif args.afschermen is False:
        inst.mag_afschermen = False  # the contact stays: meldingen filed shielded remain shielded
    if args.auto_casustype is not None:
        inst.auto_casustypen = json.dumps(sorted(set(args.auto_casustype)))
    if args.callback is not None:
        inst.callback_url = args.callback or None
        inst.push_tot = max(inst.push_tot, inst.signaal_uitgegeven) if args.callback_vanaf_nu else inst.push_tot
        inst.push_pogingen, inst.push_volgende, inst.push_fout = 0, None, None
    if args.certificaat is not None:
        fout = certificaat_fout(Path(args.certificaat), inst.oin)
        if fout:
            raise beheerlog.Geweigerd(fout, 2)
        inst.certificaat = Path(args.certificaat).read_text()
    if args.wss is not None:
        if args.wss and not inst.certificaat:
            raise beheerlog.Geweigerd("--wss needs a registered --certificaat", 2)
        inst.wss_verplicht = args.wss
    if args.bsn is not None:
        inst.bsn_toegestaan = args.bsn
    if args.actief is not None:
        inst.actief = args.actief
    if args.systeem_inzage is not None:
        inst.systeem_inzage = args.systeem_inzage
    profielen.zetten(s, inst, args)
    s.flush()
    return profiel_json(inst) | {"inhoud": profielen.inhoud_json(s, inst, settings)}


def cmd_show(args: argparse.Namespace) -> int:
    settings, db = _open_db()
    with db.transaction(write=False) as s:
        inst = Repository(s).instantie(args.oin)
        if inst is None:
            print(f"no instantie {args.oin}", file=sys.stderr)
            return 1
        inhoud = profielen.inhoud_json(s, inst, settings)
        print(json.dumps(profiel_json(inst) | {"inhoud": inhoud}, indent=2, ensure_ascii=False))
    return 0


# --- retention --------------------------------------------------------------------------------


def cmd_onderhoud(args: argparse.Namespace) -> int:
    from gateway.onderhoud import onderhoud

    settings, db = _open_db()
    try:
        logboek, wie = beheerlog.logboek(settings, db), beheerlog.operator(settings)
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    verslag = onderhoud(settings, db, logboek, _nu(settings, args.nu), actor=wie)
    print(verslag.samenvatting())
    return 0


# --- population register ----------------------------------------------------------------------


def cmd_brp_load(args: argparse.Namespace) -> int:

    from gateway.brp.bestand import BrpBestandFout, lees
    from gateway.brp.laden import laden
    from gateway.sleutels import pseudoniemen
    from store.outbox import Outbox

    try:
        bevolking = lees(Path(args.bestand))
    except BrpBestandFout as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    settings, db = _open_db()
    try:
        logboek, wie = beheerlog.logboek(settings, db), beheerlog.operator(settings)
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    nu = _nu(settings, None)

    def federatie(s: Session) -> Outbox:
        return Outbox(s, settings.systeem, settings.federatie_hub, nu, pseudoniemen(settings))

    r = laden(db, bevolking, _regels(settings), logboek, nu, actor=wie, federatie=federatie)
    print(
        f"loaded {r.personen} persons and {r.adressen} addresses (peildatum {bevolking.peildatum}); "
        f"{r.verhuisd} youths with an active melding moved, {r.verhuissignalen} signals"
    )
    return 0


def cmd_brp_genereer(args: argparse.Namespace) -> int:
    from gateway.brp.bestand import schrijf
    from gateway.brp.genereer import genereer

    peildatum = date.fromisoformat(args.peildatum) if args.peildatum else date.today()
    bevolking = genereer(args.personen, args.seed, peildatum)
    schrijf(bevolking, Path(args.bestand))
    print(f"wrote {len(bevolking.personen)} synthetic persons to {args.bestand}")
    return 0


# --- management information -------------------------------------------------------------------


def rapport_rijen(db: Database, van: date, tot: date, per: str) -> list[rapport.Rij]:
    """Counts per instantie, period and kind between ``van`` and ``tot`` (inclusive); never a youth."""
    begin = datetime.combine(van, datetime.min.time(), UTC)
    eind = datetime.combine(tot + timedelta(days=1), datetime.min.time(), UTC)
    with db.transaction(write=False) as s:
        tellers: dict[tuple[str, str, str, str], int] = {}
        for tijdstip, oin, naam, soort in Rapportage(s).tellingen(begin, eind):
            if soort not in rapport.SOORTEN:
                continue  # counted for the year report (docs/rapportage.md), not a column of this one
            key = (rapport.periode_van(tijdstip, per), oin, naam, soort)
            tellers[key] = tellers.get(key, 0) + 1
    return [rapport.Rij(p, oin, naam, soort, n) for (p, oin, naam, soort), n in sorted(tellers.items())]


def cmd_rapport(args: argparse.Namespace) -> int:
    settings, db = _open_db()
    tot = date.fromisoformat(args.tot) if args.tot else _nu(settings, None).date()
    van = date.fromisoformat(args.van) if args.van else tot.replace(day=1) - timedelta(days=365)
    rijen = rapport_rijen(db, van, tot, args.per)
    try:  # the read is logged before anything is shown
        with beheerlog.actie(settings, db, "rapport", soort="inzage") as actie:
            actie.inhoud = {"rapport": "tellingen", "van": van.isoformat(), "tot": tot.isoformat(), "per": args.per}
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    perioden = rapport.perioden_tussen(van, tot, args.per)
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            rapport.schrijf_csv(rijen, f, perioden=perioden)
    else:
        rapport.schrijf_csv(rijen, sys.stdout, perioden=perioden)
    if args.png:
        rapport.teken_png(rijen, Path(args.png), f"Verwijsindex {van} - {tot} per {args.per}", perioden=perioden)
    return 0


def afstemming_achterstand(db: Database, nu: datetime, dagen: int) -> list[dict[str, Any]]:
    """Active matches older than ``dagen`` without recorded contact: the municipality's follow-up list.
    Per match its id, kind, age and parties (organisations only), grouped by the youth's municipality
    when the population register knows it; never a youth's identity."""
    grens = nu - timedelta(days=dagen)
    with db.transaction(write=False) as s:
        uit = []
        for match, gemeente, partijen in Rapportage(s).matches_zonder_afstemming(grens):
            ontstaan = match.ontstaan if match.ontstaan.tzinfo else match.ontstaan.replace(tzinfo=UTC)
            uit.append(
                {
                    "gemeente": gemeente or "onbekend",
                    "matchId": match.match_id,
                    "soort": match.soort,
                    "dagenZonderAfstemming": (nu - ontstaan).days,
                    "partijen": "; ".join(partijen),
                }
            )
    return sorted(uit, key=lambda r: (r["gemeente"], -r["dagenZonderAfstemming"]))


def cmd_afstemming(args: argparse.Namespace) -> int:
    settings, db = _open_db()
    rijen = afstemming_achterstand(db, _nu(settings, None), args.dagen)
    try:  # the read is logged before anything is shown
        with beheerlog.actie(settings, db, "rapport", soort="inzage") as actie:
            actie.inhoud = {"rapport": "afstemming", "dagen": args.dagen, "matches": len(rijen)}
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    velden = ["gemeente", "matchId", "soort", "dagenZonderAfstemming", "partijen"]
    with open(args.csv, "w", newline="", encoding="utf-8") if args.csv else _stdout() as f:
        w = csv.DictWriter(f, fieldnames=velden)
        w.writeheader()
        w.writerows(rijen)
    with db.transaction(write=False) as s:
        totaal = Rapportage(s).actieve_matches()
    print(f"{len(rijen)} of {totaal} active matches without recorded contact after {args.dagen} days", file=sys.stderr)
    return 0


class _stdout:
    def __enter__(self) -> Any:
        return sys.stdout

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()


def add_parsers(sub: Any, instantie: Any) -> None:
    p = instantie.add_parser("profiel", help="set an instantie's profile")
    p.add_argument("oin")
    p.add_argument("--melding-jaren", type=int, help="melding lifetime in years (at most the legal maximum)")
    p.add_argument("--regievoerder", dest="regievoerder", action="store_const", const=True, default=None)
    p.add_argument("--geen-regievoerder", dest="regievoerder", action="store_const", const=False)
    p.add_argument("--afschermen", dest="afschermen", action="store_const", const=True, default=None)
    p.add_argument("--niet-afschermen", dest="afschermen", action="store_const", const=False)
    p.add_argument("--afscherm-oin", help="OIN shown instead of the filer's on shielded meldingen")
    p.add_argument("--afscherm-naam", help="organisation name shown instead")
    p.add_argument("--afscherm-contact", help="contact person shown instead")
    p.add_argument("--afscherm-telefoon")
    p.add_argument("--afscherm-email")
    p.add_argument("--auto-casustype", action="append", help="case type filed automatically (repeat); '' clears")
    p.add_argument("--callback", help="push endpoint (wsdl/signalen.wsdl); '' removes it")
    p.add_argument("--callback-vanaf-nu", action="store_true", help="push only signals issued from now on")
    p.add_argument("--geen-callback", dest="callback", action="store_const", const="")
    p.add_argument("--bsn", dest="bsn", action="store_const", const=True, default=None)
    p.add_argument("--geen-bsn", dest="bsn", action="store_const", const=False)
    p.add_argument("--certificaat", help="PEM certificate whose key signs the instantie's messages (WS-Security)")
    p.add_argument("--wss", dest="wss", action="store_const", const=True, default=None, help="require signed requests")
    p.add_argument("--geen-wss", dest="wss", action="store_const", const=False)
    p.add_argument(
        "--systeeminzage",
        dest="systeem_inzage",
        action="store_const",
        const=True,
        default=None,
        help="its system may read matches and signals without naming the professional (gebruiker)",
    )
    p.add_argument("--geen-systeeminzage", dest="systeem_inzage", action="store_const", const=False)
    p.add_argument("--schorsen", dest="actief", action="store_const", const=False, default=None)
    p.add_argument("--activeren", dest="actief", action="store_const", const=True)
    profielen.opties(p)
    p.set_defaults(fn=cmd_profiel)
    profielen.add_parsers(instantie)
    sh = instantie.add_parser("show", help="show an instantie's profile")
    sh.add_argument("oin")
    sh.set_defaults(fn=cmd_show)

    o = sub.add_parser("onderhoud", help="run retention now (expiry, 23rd birthday, death, archive)")
    o.add_argument("--nu", help="run as of this moment (ISO 8601), e.g. to catch up")
    o.set_defaults(fn=cmd_onderhoud)

    brp = sub.add_parser("brp", help="the embedded population register").add_subparsers(dest="bcmd", required=True)
    ld = brp.add_parser("load", help="replace the register with a file (schemas/xsd/brp-v1.xsd)")
    ld.add_argument("bestand")
    ld.set_defaults(fn=cmd_brp_load)
    g = brp.add_parser("genereer", help="write a synthetic population for tests and demos")
    g.add_argument("--personen", type=int, required=True)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--peildatum")
    g.add_argument("bestand")
    g.set_defaults(fn=cmd_brp_genereer)

    r = sub.add_parser("rapport", help="management information (counts only)")
    r.add_argument("--van")
    r.add_argument("--tot")
    r.add_argument("--per", default="maand", choices=list(rapport.PERIODES))
    r.add_argument("--csv")
    r.add_argument("--png")
    r.set_defaults(fn=cmd_rapport)
    rs = r.add_subparsers(dest="rcmd")
    a = rs.add_parser("afstemming", help="matches without recorded contact after N days")
    a.add_argument("--dagen", type=int, default=30)
    a.add_argument("--csv")
    a.set_defaults(fn=cmd_afstemming)
    publicatie_cli.add_parsers(rs)
