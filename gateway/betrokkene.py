"""A data subject's rights (GDPR art. 15 and 17), as operator commands:

    vir-gateway betrokkene inzage (--bsn BSN | --achternaam N --geboortedatum D --geslacht G) [--json]
    vir-gateway betrokkene wissen (--bsn BSN | …) --reden TEXT

``inzage`` shows every organisation that filed on the youth (name, when, status, planned end, archived or
not), the matches, and who read them (the access entries of the signed log). ``wissen`` erases the youth
everywhere: meldingen (active and archived), matches and contacts, signals, stored answers, deliveries to
other systems (our meldingen are withdrawn from the peers through the outbox, as an ended melding is) and
log payloads (one logged redaction, so ``log verify`` still passes). Each filer of an active melding gets a
``meldingBeeindigd`` signal with the reason ``gewist`` (nothing else of the youth).

Both are operator actions in the signed log, in the same transaction (``gateway/beheerlog.py``). Neither the
entries nor the process output hold the BSN: the entries name the youth by a keyed digest
(``zoeksleutel``), which an operator who is given the BSN again can compute to find them.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from datetime import date
from typing import Any

from gateway import beheerlog, config
from gateway.domain.jongere import Jongere
from gateway.domain.regels import Regels
from gateway.domain.soorten import MeldingStatus, Reden
from gateway.index import Verwijsindex
from gateway.log import uitwissing
from gateway.log.logboek import key_paths
from gateway.sleutels import pseudoniemen, sleutelring
from store.betrokkene import Betrokkene
from store.db import Database
from store.migrate import upgrade
from store.outbox import Outbox
from store.repository import Repository
from store.retentie import Retentie


def zoeksleutel(settings: config.Settings, sleutel: str) -> str:
    """The youth's key as the log records it: an HMAC-SHA256 under a key derived from the log-signing key (or,
    with the key in a token, from the gateway's OIN), so the entry can be found again but holds no BSN."""
    pad = key_paths(settings)[0]
    geheim = pad.read_bytes() if pad.is_file() else settings.gateway_oin.encode()
    sleutel_mac = hashlib.sha256(b"vir-betrokkene-zoeksleutel\0" + geheim).digest()
    return hmac.new(sleutel_mac, sleutel.encode(), hashlib.sha256).hexdigest()


def _jongere(args: argparse.Namespace) -> Jongere:
    if args.bsn:
        return Jongere.met_bsn(args.bsn, None)
    if not (args.achternaam and args.geboortedatum and args.geslacht):
        raise beheerlog.Geweigerd("give --bsn, or --achternaam, --geboortedatum and --geslacht", 2)
    ring = sleutelring(config.from_env(), "vsn")
    return Jongere.zonder_bsn(args.achternaam, args.voorvoegsel, args.geboortedatum, args.geslacht, ring)


def _rij(b: Betrokkene, jongere: Jongere) -> Any:
    """The youth's row: under its key, or (a youth without BSN) under a key of an earlier national key version."""
    for sleutel in (jongere.sleutel, *jongere.eerdere):
        if (rij := b.jongere(sleutel)) is not None:
            return rij
    return None


def _open() -> tuple[config.Settings, Database]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db


# --- inzage -------------------------------------------------------------------------------------


def overzicht(b: Betrokkene, jongere_id: int | None) -> dict[str, Any]:
    """What the index holds on the youth, for a letter: organisations, matches, reads."""
    if jongere_id is None:
        return {"meldingen": [], "matches": [], "inzagen": []}
    meldingen = b.meldingen(jongere_id)
    matches = b.matches(jongere_id)
    namen = b.instantie_namen()
    ids = [melding.melding_id for melding, _ in meldingen] + [match.match_id for match in matches]
    inzagen = []
    for regel in b.inzagen(ids):
        wie = json.loads(regel.payload or b"{}")
        inzagen.append(
            {
                "tijdstip": regel.tijdstip,
                "instantie": namen.get(wie.get("instantie", regel.actor), regel.actor),
                "oin": wie.get("instantie", regel.actor),
                "gebruiker": wie.get("gebruiker"),
                "operatie": regel.operatie,
            }
        )
    return {
        "meldingen": [
            {
                "instantie": instantie.naam,
                "oin": instantie.oin,
                "systeem": melding.bron_systeem,
                "afgegeven": melding.afgegeven.isoformat(),
                "status": melding.status,
                "geplandeEinddatum": melding.geplande_einddatum.isoformat(),
                "gearchiveerd": melding.status == MeldingStatus.GEARCHIVEERD,
                "archiefTot": melding.archief_tot.isoformat() if melding.archief_tot else None,
            }
            for melding, instantie in meldingen
        ],
        "matches": [
            {
                "soort": match.soort,
                "status": match.status,
                "ontstaan": match.ontstaan.isoformat(),
                "beeindigd": match.beeindigd.isoformat() if match.beeindigd else None,
            }
            for match in matches
        ],
        "inzagen": inzagen,
    }


def _tekst(o: dict[str, Any]) -> str:
    regels = ["Organisaties die een melding over de jongere deden:"]
    for x in o["meldingen"]:
        archief = f", in het archief tot {x['archiefTot']}" if x["gearchiveerd"] else ""
        regels.append(
            f"  {x['instantie']} (OIN {x['oin']}): gemeld {x['afgegeven'][:10]}, status {x['status']}, "
            f"geplande einddatum {x['geplandeEinddatum']}{archief}"
        )
    if not o["meldingen"]:
        regels.append("  geen")
    regels.append("Matches:")
    regels.extend(f"  {x['soort']} ontstaan {x['ontstaan'][:10]}, status {x['status']}" for x in o["matches"])
    if not o["matches"]:
        regels.append("  geen")
    regels.append("Ingezien door:")
    regels.extend(
        f"  {x['tijdstip'][:19]} {x['instantie']} ({x['oin']}), medewerker {x['gebruiker'] or 'niet genoemd'}"
        for x in o["inzagen"]
    )
    if not o["inzagen"]:
        regels.append("  niemand")
    return "\n".join(regels)


def cmd_inzage(args: argparse.Namespace) -> int:
    settings, db = _open()
    try:
        jongere = _jongere(args)
        with beheerlog.actie(settings, db, "betrokkene inzage", soort="inzage") as actie:
            b = Betrokkene(actie.session)
            rij = _rij(b, jongere)
            o = overzicht(b, rij.id if rij is not None else None)
            actie.inhoud = {
                "jongere": zoeksleutel(settings, jongere.sleutel),
                "reden": args.reden,
                "meldingen": len(o["meldingen"]),
                "inzagen": len(o["inzagen"]),
            }
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(json.dumps(o, indent=2, ensure_ascii=False) if args.json else _tekst(o))
    return 0


# --- wissen -------------------------------------------------------------------------------------


def cmd_wissen(args: argparse.Namespace) -> int:
    settings, db = _open()
    klok = config.klok(settings)
    try:
        jongere = _jongere(args)
        with beheerlog.actie(settings, db, "betrokkene wissen") as actie:
            s, nu = actie.session, klok()
            b, repo = Betrokkene(s), Repository(s)
            regels = Regels(settings.max_melding_jaren, settings.max_leeftijd, settings.archief_jaren)
            index = Verwijsindex(
                repo, regels, nu, Outbox(s, settings.systeem, settings.federatie_hub, nu, pseudoniemen(settings))
            )
            rij = _rij(b, jongere)
            meldingen = list(b.meldingen(rij.id)) if rij is not None else []
            matches = [match.match_id for match in b.matches(rij.id)] if rij is not None else []
            # Other systems' copies first (each leaves a tombstone), then ours: their ending withdraws them from
            # the peers and would otherwise forget the copies without one.
            for melding, _ in sorted(meldingen, key=lambda mi: mi[0].bron_systeem is None):
                if melding.status == MeldingStatus.ACTIEF:
                    if melding.bron_systeem is not None:  # another system's copy: keep a later upsert out
                        repo.federatie().onthoud_intrekking(
                            melding.bron_systeem, melding.bron_melding_id or "", melding.versie
                        )
                    index.einde(melding, Reden.GEWIST)
                else:
                    b.verwijder(melding)  # archived: withdrawn from the peers when it ended
            index.afronden()
            ids = [melding.melding_id for melding, _ in meldingen]
            repo.sporen().vergeet(ids, matches)
            Retentie(s).vergeet_lege_jongeren()
            teksten = [f">{args.bsn}<".encode(), f'"{args.bsn}"'.encode()] if args.bsn else []
            r = uitwissing.redigeer_meldingen(
                s,
                ids,
                reden="uitwissing",
                actor=beheerlog.operator(settings),
                tijdstip=beheerlog.logboek(settings, db).nu(),
                teksten=teksten,
                context={"verzoek": args.verzoek},
            )
            actie.inhoud = {
                "jongere": zoeksleutel(settings, jongere.sleutel),
                "reden": args.reden,
                "verzoek": args.verzoek,
                "meldingen": len(ids),
                "matches": len(matches),
                "redactie": r.volgnummer if r is not None else None,
            }
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    beheerlog.logboek(settings, db).checkpoint(force=True)  # the redaction counts once signed
    db.wal_legen()
    print(
        f"erased: {len(ids)} meldingen, {len(matches)} matches; log payloads removed: "
        f"{r.verwijderd if r is not None else 0}"
    )
    return 0


def _datum(tekst: str) -> date:
    try:
        return date.fromisoformat(tekst)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date: {tekst!r}") from exc


def _bsn(tekst: str) -> str:
    if not (len(tekst) == 9 and tekst.isdigit()):
        raise argparse.ArgumentTypeError("a BSN has nine digits")
    return tekst


def add_parser(sub: Any) -> None:
    p = sub.add_parser("betrokkene", help="a data subject's rights: what is recorded, and erasure")
    cmds = p.add_subparsers(dest="bcmd", required=True)
    for naam, fn, uitleg in (
        ("inzage", cmd_inzage, "who filed on the youth, the matches, and who read them"),
        ("wissen", cmd_wissen, "erase the youth everywhere (meldingen, archive, matches, signals, log payloads)"),
    ):
        x = cmds.add_parser(naam, help=uitleg)
        x.add_argument("--bsn", type=_bsn)
        x.add_argument("--achternaam", help="without BSN: family name (with --geboortedatum and --geslacht)")
        x.add_argument("--voorvoegsel")
        x.add_argument("--geboortedatum", type=_datum)
        x.add_argument("--geslacht", choices=("M", "V", "O"))
        x.add_argument("--verzoek", help="the request's reference (recorded; no personal data)")
        if naam == "inzage":
            x.add_argument("--reden", help="why (recorded in the log)")
            x.add_argument("--json", action="store_true", help="as JSON, e.g. for a letter")
        else:
            x.add_argument("--reden", required=True, help="why (recorded in the log; no personal data)")
        x.set_defaults(fn=fn)


if __name__ == "__main__":
    sys.exit("the command is vir-gateway betrokkene")
