"""The operator commands of the publishable figures (docs/rapportage.md):

    vir-gateway rapport cijfers [--van D] [--tot D] [--per maand] [--naar periode|gemeente|sector|instantie …]
                                [--gemeente CODE] [--drempel N] [--csv F] [--json F] [--svg F] [--png F]
    vir-gateway rapport jaar YEAR [--gemeente CODE] [--drempel N] [--uit F] [--csv F] [--json F]

Both read counts only, never a youth, and are logged with the operator (an ``inzage`` entry) before
anything is written; a command that cannot log refuses (exit code 3, ``gateway.beheerlog``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway import beheerlog, config
from gateway.domain.cijfers import INDELINGEN, Gebeurtenis, Publicatie, Stand, publiceer
from gateway.domain.onderdrukking import EINDE_TELLING
from gateway.domain.perioden import PERIODES
from gateway.publicatie import grafiek, jaarrapport, tabel
from store.db import Database
from store.migrate import upgrade
from store.rapportage import Rapportage

_STAND_SOORTEN = ("meldingen", *EINDE_TELLING.values())


def _open() -> tuple[config.Settings, Database]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db


def _middernacht(dag: date) -> datetime:
    return datetime.combine(dag, datetime.min.time(), UTC)


def publicatie(
    db: Database,
    van: date,
    tot: date,
    *,
    per: str,
    indelingen: tuple[str, ...],
    gemeente: str | None,
    drempel: int,
) -> Publicatie:
    """Read the counts of [van, tot] and the stock at ``van``, and publish them (suppressed together)."""
    with db.transaction(write=False) as s:
        rapportage = Rapportage(s)
        rijen = rapportage.gebeurtenissen(_middernacht(van), _middernacht(tot + timedelta(days=1)))
        ervoor = rapportage.tellingen_voor(_middernacht(van), _STAND_SOORTEN)
    standen: dict[tuple[str, str, str | None, str | None], int] = {}
    for oin, naam, sector, waar, soort, aantal in ervoor:
        sleutel = (oin, naam, sector, waar)
        standen[sleutel] = standen.get(sleutel, 0) + (aantal if soort == "meldingen" else -aantal)
    return publiceer(
        (Gebeurtenis(*r) for r in rijen),
        [Stand(*sleutel, aantal) for sleutel, aantal in standen.items()],
        van,
        tot,
        per=per,
        indelingen=indelingen,
        gemeente=gemeente,
        drempel=drempel,
    )


def _logged(settings: config.Settings, db: Database, inhoud: dict[str, Any]) -> int | None:
    """Log the read with the operator before anything is written; an exit code when that fails."""
    try:
        with beheerlog.actie(settings, db, "rapport", soort="inzage") as actie:
            actie.inhoud = inhoud
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    return None


def _schrijf_json(p: Publicatie, pad: str) -> None:
    Path(pad).write_text(json.dumps(tabel.publicatie_json(p), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _schrijf_csv(p: Publicatie, pad: str) -> None:
    with open(pad, "w", newline="", encoding="utf-8") as f:
        tabel.schrijf_csv(p, f)


def cmd_cijfers(args: argparse.Namespace) -> int:
    settings, db = _open()
    tot = date.fromisoformat(args.tot) if args.tot else config.klok(settings)().date()
    van = date.fromisoformat(args.van) if args.van else tot.replace(day=1) - timedelta(days=365)
    if van > tot:
        print("--van lies after --tot", file=sys.stderr)
        return 2
    drempel = args.drempel or settings.rapport_drempel
    indelingen = tuple(dict.fromkeys(args.naar or ["periode"]))
    p = publicatie(db, van, tot, per=args.per, indelingen=indelingen, gemeente=args.gemeente, drempel=drempel)
    vraag = {"rapport": "cijfers", "van": van.isoformat(), "tot": tot.isoformat(), "per": args.per}
    vraag |= {"naar": list(indelingen), "gemeente": args.gemeente, "drempel": drempel}
    if (code := _logged(settings, db, vraag)) is not None:
        return code
    if args.json:
        _schrijf_json(p, args.json)
    if args.csv:
        _schrijf_csv(p, args.csv)
    if not (args.csv or args.json):
        tabel.schrijf_csv(p, sys.stdout)
    titel = f"Verwijsindex {van} - {tot}" + (f", gemeente {args.gemeente}" if args.gemeente else "")
    if args.svg:
        Path(args.svg).write_text(grafiek.tabel_svg(titel, p.tabellen[0]) + "\n", encoding="utf-8")
    if args.png:
        grafiek.tabel_png(Path(args.png), titel, p.tabellen[0])
    return 0


def cmd_jaar(args: argparse.Namespace) -> int:
    settings, db = _open()
    drempel = args.drempel or settings.rapport_drempel
    indelingen = ("periode", "sector", "instantie") if args.gemeente else ("periode", "gemeente", "sector", "instantie")
    van, tot = date(args.jaar, 1, 1), date(args.jaar, 12, 31)
    p = publicatie(db, van, tot, per="maand", indelingen=indelingen, gemeente=args.gemeente, drempel=drempel)
    vraag = {"rapport": "jaar", "jaar": args.jaar, "gemeente": args.gemeente, "drempel": drempel}
    if (code := _logged(settings, db, vraag)) is not None:
        return code
    uit = Path(args.uit or f"verwijsindex-{args.jaar}{'-' + args.gemeente if args.gemeente else ''}.html")
    uit.write_text(jaarrapport.render(p, args.jaar), encoding="utf-8")
    if args.json:
        _schrijf_json(p, args.json)
    if args.csv:
        _schrijf_csv(p, args.csv)
    print(f"wrote the year report {args.jaar} to {uit}")
    return 0


def _gemeente(tekst: str) -> str:
    if not re.fullmatch(r"[0-9]{4}", tekst):
        raise argparse.ArgumentTypeError("a CBS municipality code has 4 digits")
    return tekst


def _drempel(tekst: str) -> int:
    if not tekst.isdigit() or int(tekst) < 1:
        raise argparse.ArgumentTypeError("the threshold is a whole number, 1 or more")
    return int(tekst)


def _jaar(tekst: str) -> int:
    if not re.fullmatch(r"[0-9]{4}", tekst):
        raise argparse.ArgumentTypeError("a year has 4 digits")
    return int(tekst)


def add_parsers(rapport: Any) -> None:
    """``cijfers`` and ``jaar`` under ``vir-gateway rapport``."""
    c = rapport.add_parser("cijfers", help="publishable figures: small counts suppressed (CSV, JSON, SVG, PNG)")
    c.add_argument("--van", help="first day (default: a year before the start of this month)")
    c.add_argument("--tot", help="last day, inclusive (default: today)")
    c.add_argument("--per", default="maand", choices=list(PERIODES))
    c.add_argument(
        "--naar", action="append", choices=list(INDELINGEN), help="rows per … (repeat for more tables; default periode)"
    )
    c.add_argument("--gemeente", type=_gemeente, help="only this municipality (CBS code)")
    c.add_argument("--drempel", type=_drempel, help="smallest count shown (default VIR_RAPPORT_DREMPEL, 5)")
    c.add_argument("--csv", help="write CSV here (default: standard output, unless --json)")
    c.add_argument("--json")
    c.add_argument("--svg", help="bar chart of the first table")
    c.add_argument("--png", help="bar chart of the first table")
    c.set_defaults(fn=cmd_cijfers)
    j = rapport.add_parser("jaar", help="the year's overview as one self-contained HTML file")
    j.add_argument("jaar", type=_jaar)
    j.add_argument("--gemeente", type=_gemeente, help="only this municipality (CBS code)")
    j.add_argument("--drempel", type=_drempel, help="smallest count shown (default VIR_RAPPORT_DREMPEL, 5)")
    j.add_argument("--uit", help="the HTML file (default verwijsindex-YEAR[-CODE].html)")
    j.add_argument("--csv", help="the same figures as CSV")
    j.add_argument("--json", help="the same figures as JSON")
    j.set_defaults(fn=cmd_jaar)
