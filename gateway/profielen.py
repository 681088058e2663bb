"""Organisation profiles as agreed with the municipality, and designated professionals.

The profile's content (privacy protocol, target group, signalling criteria, procedures, coordination role
with the municipality's order of preferred coordinators, municipality and sector) is set with
``vir-gateway instantie profiel`` next to the settings that existed (``gateway.beheer``), and read by chain
partners with ``ProfielenOpvragen``. Professionals are designated with ``MeldingsbevoegdeAanwijzen`` (for
the sender's own organisation) or by the operator:

    vir-gateway instantie bevoegde add OIN --id ID --naam N [--functie F] [--telefoon T] [--email E]
    vir-gateway instantie bevoegde list OIN
    vir-gateway instantie bevoegde intrekken OIN ID [--overdragen-aan ID2]

Revoking hands the professional's active meldingen to the named colleague (a transfer, as MeldingWijzigen
does it: the other parties are told), or lists them for the operator to settle. Every change is logged
with the operator in the same transaction (``gateway.beheerlog``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from gateway import beheerlog, config
from gateway import berichten as B
from gateway.domain.model import Meldingsbevoegde
from gateway.domain.regels import Regels
from gateway.errors import RuleError
from gateway.index import Verwijsindex
from gateway.index.bevoegden import Bevoegden, aanwijzen, aanwijzing_verplicht
from gateway.pipeline import Verzoek
from gateway.vertaling import profiel_naar_bericht
from store import models as m
from store.db import Database
from store.migrate import upgrade
from store.outbox import Outbox
from store.profielen import Profielen
from store.repository import Repository

# --- the profile as chain partners see it ---------------------------------------------------------


def gedeeld_profiel(
    inst: m.Instantie, inhoud: m.Profielinhoud | None, max_jaren: int, development: bool
) -> dict[str, Any]:
    """What other organisations may read of a profile: never its shielding contact, endpoint or keys."""
    p = inhoud or m.Profielinhoud()
    jaren = min(inst.melding_jaren or max_jaren, max_jaren)
    privacy = None
    if p.privacy_titel:
        privacy = {"titel": p.privacy_titel, "versie": p.privacy_versie, "link": p.privacy_link}
    return {
        "oin": inst.oin,
        "naam": inst.naam,
        "vestiging": inst.vestiging,
        "privacyprotocol": privacy,
        "doelgroep": p.doelgroep,
        "signaleringscriteria": p.signaleringscriteria,
        "procedures": p.procedures,
        "meldingLooptijdJaren": jaren,
        "regie": {"magRegievoeren": inst.mag_regievoeren, "omschrijving": p.regierol, "voorkeur": p.regievoorkeur},
        "gemeente": p.gemeente,
        "sector": p.sector,
        "aanwijzingVerplicht": aanwijzing_verplicht(inhoud.aanwijzing if inhoud is not None else None, development),
    }


def inhoud_json(s: Any, inst: m.Instantie, settings: config.Settings) -> dict[str, Any]:
    """The profile content for ``instantie show``/``profiel`` (and the log entry of a change)."""
    inhoud = Profielen(s).inhoud(inst.id)
    gedeeld = gedeeld_profiel(inst, inhoud, settings.max_melding_jaren, settings.development)
    return {k: gedeeld[k] for k in gedeeld if k not in ("oin", "naam", "vestiging", "meldingLooptijdJaren")} | {
        "aanwijzing": inhoud.aanwijzing if inhoud is not None else None
    }


# --- instantie profiel: the content options --------------------------------------------------------

_TEKSTEN = {
    "privacy_titel": 200,
    "privacy_versie": 40,
    "privacy_link": 400,
    "doelgroep": 4000,
    "signaleringscriteria": 4000,
    "procedures": 4000,
    "regierol": 4000,
    "sector": 40,
}


def opties(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("profile content (read by chain partners with ProfielenOpvragen); '' clears")
    g.add_argument("--privacy-titel", help="title of the privacy protocol in force")
    g.add_argument("--privacy-versie", help="its version")
    g.add_argument("--privacy-link", help="where partners read it (http(s) URL)")
    g.add_argument("--doelgroep", help="the specific target group")
    g.add_argument("--signaleringscriteria", help="on what grounds the organisation signals")
    g.add_argument("--procedures", help="the organisation's procedures around a melding and a match")
    g.add_argument("--regierol", help="the coordination role the organisation takes")
    g.add_argument("--regievoorkeur", type=int, help="place in the municipality's order of coordinators; 0 clears")
    g.add_argument("--gemeente", help="CBS code (4 digits) of the municipality the organisation works for")
    g.add_argument("--sector", help="sector, e.g. onderwijs, jeugdzorg, zorg, politie")
    g.add_argument("--aanwijzing", dest="aanwijzing", action="store_const", const=True, default=None)
    g.add_argument("--geen-aanwijzing", dest="aanwijzing", action="store_const", const=False)


def zetten(s: Any, inst: m.Instantie, args: argparse.Namespace) -> None:
    """Apply the content options (``Geweigerd`` on wrong input rolls the whole profile change back)."""
    waarden = {k: getattr(args, k, None) for k in (*_TEKSTEN, "regievoorkeur", "gemeente", "aanwijzing")}
    if all(v is None for v in waarden.values()):
        return
    inhoud = Profielen(s).inhoud_voor_wijziging(inst.id)
    for veld, lengte in _TEKSTEN.items():
        waarde = waarden[veld]
        if waarde is None:
            continue
        if len(waarde) > lengte:
            raise beheerlog.Geweigerd(f"--{veld.replace('_', '-')} is longer than {lengte} characters", 2)
        if veld == "privacy_link" and waarde and not waarde.startswith(("https://", "http://")):
            raise beheerlog.Geweigerd("--privacy-link must be an http(s) URL", 2)
        setattr(inhoud, veld, waarde.strip() or None)
    if waarden["regievoorkeur"] is not None:
        if waarden["regievoorkeur"] < 0:
            raise beheerlog.Geweigerd("--regievoorkeur must be 1 or more (0 clears)", 2)
        inhoud.regievoorkeur = waarden["regievoorkeur"] or None
    if waarden["gemeente"] is not None:
        code = waarden["gemeente"]
        if code and not (len(code) == 4 and code.isdigit()):
            raise beheerlog.Geweigerd("--gemeente must be a CBS municipality code of 4 digits", 2)
        inhoud.gemeente = code or None
    if waarden["aanwijzing"] is not None:
        inhoud.aanwijzing = waarden["aanwijzing"]
    s.flush()


# --- the chain-partner operations ------------------------------------------------------------------


def profielen_opvragen(v: Verzoek, req: Any) -> Any:
    """ProfielenOpvragen: any active instantie reads the profiles of the organisations of this index."""
    settings = v.deps.settings
    rijen = Profielen(v.repo.s).gedeelde_profielen(req.oin)
    return B.ProfielenOpvragenResponse(
        profiel=[
            profiel_naar_bericht(gedeeld_profiel(i, p, settings.max_melding_jaren, settings.development))
            for i, p in rijen
        ]
    )


def meldingsbevoegde_aanwijzen(v: Verzoek, req: Any) -> Any:
    """MeldingsbevoegdeAanwijzen: the sender designates one of its own professionals (no other's)."""
    mb = Meldingsbevoegde(req.naam, req.functie, req.telefoon, req.email)
    rij = aanwijzen(v.repo, v.zender, req.medewerkerId, mb, v.nu)
    return B.MeldingsbevoegdeAanwijzenResponse(medewerkerId=rij.code, aangewezenSinds=rij.aangewezen)


def bevoegden(v: Verzoek) -> Bevoegden:
    return Bevoegden(v.repo, v.deps.settings.development)


def medewerker(req_mb: Any, sg: Any) -> str | None:
    """The professional's id: ``meldingsbevoegde/medewerkerId``, else ``stuurgegevens/gebruiker``."""
    return (getattr(req_mb, "medewerkerId", None) if req_mb is not None else None) or sg.gebruiker


def controleer_lezer(v: Verzoek, req: Any, op: str) -> None:
    """A read on behalf of a named professional: that professional must be designated (when required)."""
    if req.stuurgegevens.gebruiker:
        bevoegden(v).controleer(v.zender, req.stuurgegevens.gebruiker, f"/kp:{op}/kp:stuurgegevens/g:gebruiker")


def xpath_medewerker(basis: str, req_mb: Any, sg: Any) -> str:
    if req_mb is not None and getattr(req_mb, "medewerkerId", None):
        return f"{basis}/kp:meldingsbevoegde/g:medewerkerId"
    if sg.gebruiker:
        return f"{basis.split('/kp:item')[0]}/kp:stuurgegevens/g:gebruiker"
    return f"{basis}/kp:meldingsbevoegde"


# --- operator commands ------------------------------------------------------------------------------


def _open() -> tuple[config.Settings, Database]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db


def _instantie(s: Any, oin: str) -> m.Instantie:
    inst = Repository(s).instantie(oin)
    if inst is None or inst.systeem is not None:
        raise beheerlog.Geweigerd(f"no instantie {oin} registered here")
    return inst


def _bevoegde_json(r: m.MeldingsbevoegdeRij) -> dict[str, Any]:
    return {"id": r.code, "naam": r.naam, "functie": r.functie, "actief": r.actief}


def cmd_bevoegde_add(args: argparse.Namespace) -> int:
    settings, db = _open()
    try:
        with beheerlog.actie(settings, db, "instantie bevoegde add") as actie:
            inst = _instantie(actie.session, args.oin)
            mb = Meldingsbevoegde(args.naam, args.functie, args.telefoon, args.email)
            rij = aanwijzen(Repository(actie.session), inst, args.id, mb, datetime.now(UTC))
            actie.inhoud = {"oin": inst.oin, **_bevoegde_json(rij)}
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(json.dumps(actie.inhoud, ensure_ascii=False))
    return 0


def cmd_bevoegde_list(args: argparse.Namespace) -> int:
    settings, db = _open()
    try:  # a read of personal data (names of professionals): logged before anything is shown
        with beheerlog.actie(settings, db, "instantie bevoegde list", soort="inzage") as actie:
            inst = _instantie(actie.session, args.oin)
            rijen = [_bevoegde_json(r) for r in Profielen(actie.session).bevoegden(inst.id)]
            actie.inhoud = {"oin": inst.oin, "aantal": len(rijen)}
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    print(json.dumps(rijen, indent=2, ensure_ascii=False))
    return 0


def cmd_bevoegde_intrekken(args: argparse.Namespace) -> int:
    settings, db = _open()
    try:
        with beheerlog.actie(settings, db, "instantie bevoegde intrekken") as actie:
            actie.inhoud = _intrekken(settings, actie.session, args)
    except beheerlog.Geweigerd as exc:
        return exc.meld()
    uit = actie.inhoud
    if uit["overgedragenAan"] is None and uit["meldingen"]:
        print(
            f"{len(uit['meldingen'])} active meldingen of {args.id} need a new professional "
            f"(MeldingWijzigen, or again with --overdragen-aan):",
            file=sys.stderr,
        )
    print(json.dumps(uit, indent=2, ensure_ascii=False))
    return 0


def _intrekken(settings: config.Settings, s: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Revoke; hand the professional's active meldingen to the colleague, or report them."""
    inst = _instantie(s, args.oin)
    profielen = Profielen(s)
    rij = profielen.bevoegde(inst.id, args.id)
    if rij is None or not rij.actief:
        raise beheerlog.Geweigerd(f"{args.id} is not a designated professional of {inst.oin}")
    opvolger = None
    if args.overdragen_aan:
        opvolger = profielen.bevoegde(inst.id, args.overdragen_aan)
        if opvolger is None or not opvolger.actief or opvolger.code == rij.code:
            raise beheerlog.Geweigerd(f"{args.overdragen_aan} is not another designated professional of {inst.oin}", 2)
    nu = config.klok(settings)()
    profielen.intrekken(rij, nu)
    meldingen = [a.melding_id for a in profielen.actieve_meldingen_van(inst.id, rij.code)]
    if opvolger is not None and meldingen:
        repo = Repository(s)
        outbox = Outbox(s, settings.systeem, settings.federatie_hub, nu)
        regels = Regels(settings.max_melding_jaren, settings.max_leeftijd, settings.archief_jaren)
        index = Verwijsindex(repo, regels, nu, outbox)
        mb = Meldingsbevoegde(opvolger.naam, opvolger.functie, opvolger.telefoon, opvolger.email)
        zender = repo.profiel(inst.oin)
        assert zender is not None  # the instantie whose designation was just revoked
        for melding_id in meldingen:
            bron = repo.melding(melding_id)
            try:
                index.wijzigen(zender, melding_id, mb, None, bron.bronsysteem if bron else "vir-gateway")
            except RuleError as exc:  # cannot happen for an active melding of its own; never half done
                raise beheerlog.Geweigerd(f"handing over {melding_id} failed: {exc.code}") from exc
            Bevoegden(repo, settings.development).vastleggen(melding_id, opvolger.code)
        index.afronden()
    return {
        "oin": inst.oin,
        "id": rij.code,
        "overgedragenAan": opvolger.code if opvolger is not None and meldingen else None,
        "meldingen": meldingen,
    }


DEMO_BEVOEGDE = ("demo", "Demo Meldingsbevoegde", "jeugdprofessional")


def demo_inrichten(s: Any, inst: m.Instantie, nu: datetime) -> dict[str, Any]:
    """A demo instantie (``serve --demo``) gets its designated demo professional (id ``demo``). Its profile
    leaves designation at the default, like any organisation's: off in development mode, so example
    clients that name no professional by id work unchanged, and on outside it, where a demo client names
    ``demo`` (``meldingsbevoegde/medewerkerId`` or ``stuurgegevens/gebruiker``). A demo never switches
    designation off for a gateway that is not in development mode."""
    code, naam, functie = DEMO_BEVOEGDE
    aanwijzen(Repository(s), inst, code, Meldingsbevoegde(naam, functie), nu)
    return {"bevoegde": code}


def add_parsers(instantie: Any) -> None:
    b = instantie.add_parser("bevoegde", help="designated professionals (meldingsbevoegden)")
    bs = b.add_subparsers(dest="bcmd", required=True)
    a = bs.add_parser("add", help="designate a professional of the instantie")
    a.add_argument("oin")
    a.add_argument("--id", required=True, help="the professional's id in the instantie's own system")
    a.add_argument("--naam", required=True)
    a.add_argument("--functie")
    a.add_argument("--telefoon")
    a.add_argument("--email")
    a.set_defaults(fn=cmd_bevoegde_add)
    ls = bs.add_parser("list", help="the instantie's designated professionals")
    ls.add_argument("oin")
    ls.set_defaults(fn=cmd_bevoegde_list)
    i = bs.add_parser("intrekken", help="revoke a designation; hand its meldingen over or list them")
    i.add_argument("oin")
    i.add_argument("id")
    i.add_argument("--overdragen-aan", help="id of the designated colleague who takes the meldingen over")
    i.set_defaults(fn=cmd_bevoegde_intrekken)
