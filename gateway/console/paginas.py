"""The console's pages and actions, one function each, and the route table that names their rights."""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from lxml import etree

from gateway import rapport
from gateway.beheer import profiel_json, rapport_rijen
from gateway.console import grafiek
from gateway.console.app import Antwoord, Console, Route, Verzoek
from gateway.console.toegang import Recht
from gateway.log import bewijs, bundle, redactie
from gateway.log.regel import tijdstempel
from store import console as opslag
from store.models import LogregelRij

PAGINA = 100
BSN = re.compile(r"[0-9]{9}")


def _datum(tekst: str, standaard: date) -> date:
    try:
        return date.fromisoformat(tekst) if tekst else standaard
    except ValueError:
        return standaard


def _tijdstip(tekst: str) -> str:
    """A ``datetime-local`` value (read as UTC) as the log's time stamp; '' when empty or unreadable."""
    try:
        return tijdstempel(datetime.fromisoformat(tekst).replace(tzinfo=UTC)) if tekst else ""
    except ValueError:
        return ""


def _terug(pad: str) -> Antwoord:
    """After an action: see the result on a page of its own (a reload does not repeat the action)."""
    return Antwoord(b"", "303 See Other", koppen=[("Location", pad)])


# --- overview ----------------------------------------------------------------------------------------


def overzicht(c: Console, v: Verzoek) -> Antwoord:
    nu = c.klok().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    uren = [(nu - timedelta(hours=23 - i)).strftime("%Y-%m-%dT%H") for i in range(24)]
    with c.db.transaction(write=False) as s:
        tellingen = opslag.per_uur(s, uren[0])
        leveringen = opslag.leveringen_per_peer(s)
        cp = opslag.laatste_checkpoint(s)
        onderhoud = opslag.laatste_onderhoud(s)
        grootte = opslag.loggrootte(s)
        getuigen = opslag.getuigen(s)
    verslag = json.loads(onderhoud.payload) if onderhoud is not None and onderhoud.payload else None
    verkeer = grafiek.staven(
        "Verzoeken en fouten per uur, laatste 24 uur (UTC)",
        [u[11:13] for u in uren],
        [(naam, [tellingen.get(u, {}).get(soort, 0) for u in uren]) for naam, soort in
         (("verzoeken", "inkomend"), ("fouten", "fout"))],
        elke=3,
    )  # fmt: skip
    peers = list(leveringen)
    federatie = grafiek.staven(
        "Leveringen per peer: wachtend en dood",
        peers,
        [(status, [leveringen[p][status] for p in peers]) for status in ("wachtend", "dood")],
    )
    antwoord = c.pagina(
        v.operator, "overzicht.html", titel="Overzicht", actief="overzicht", uren=uren, tellingen=tellingen,
        verkeer=verkeer, leveringen=leveringen, federatie=federatie, cp=cp, onderhoud=onderhoud, verslag=verslag,
        grootte=grootte, getuigen=getuigen, gesplitst=[g for g in getuigen if g.gesplitst],
    )  # fmt: skip
    antwoord.operatie, antwoord.inzage = "overzicht", {}
    return antwoord


# --- the log ---------------------------------------------------------------------------------------


def log_zoeken(c: Console, v: Verzoek) -> Antwoord:
    q = v.query
    vraag = opslag.Zoekvraag(
        van=_tijdstip(q.get("van", "")),
        tot=_tijdstip(q.get("tot", "")),
        operatie=q.get("operatie", "").strip(),
        instantie=q.get("instantie", "").strip(),
        bericht_id=q.get("berichtId", "").strip(),
        foutcode=q.get("foutcode", "").strip(),
        soort=q.get("soort", "").strip(),
    )
    voor = int(q["voor"]) if q.get("voor", "").isdigit() else None
    with c.db.transaction(write=False) as s:
        regels = opslag.zoek(s, vraag, voor=voor, limit=PAGINA)
    volgende = {**q, "voor": str(regels[-1].volgnummer)} if len(regels) == PAGINA else None
    antwoord = c.pagina(
        v.operator, "log.html", titel="Logboek", actief="log", q=q, regels=regels, bsn_vraag=None,
        volgende=urlencode(volgende) if volgende else None,
    )  # fmt: skip
    antwoord.operatie, antwoord.inzage = "log", {"filters": vraag.gebruikt(), "gevonden": len(regels)}
    return antwoord


def log_bsn(c: Console, v: Verzoek) -> Antwoord:
    """A search by BSN: only with a reason, and the reason is in the log entry of the search."""
    bsn, reden = v.veld("bsn"), v.veld("reden")
    fout = None
    if not BSN.fullmatch(bsn):
        fout = "Een BSN heeft 9 cijfers."
    elif len(reden) < 10:
        fout = "Geef een reden van ten minste 10 tekens (bijvoorbeeld het kenmerk van het inzageverzoek)."
    regels: list[LogregelRij] = []
    if fout is None:
        with c.db.transaction(write=False) as s:
            regels = opslag.zoek_bsn(s, bsn, limit=PAGINA)
    antwoord = c.pagina(
        v.operator, "log.html", titel="Logboek: zoeken op BSN", actief="log", q={}, regels=regels,
        bsn_vraag={"reden": reden, "fout": fout}, volgende=None,
    )  # fmt: skip
    antwoord.operatie = "log-bsn"
    antwoord.inzage = {"bsn": bsn if fout is None else None, "reden": reden, "gevonden": len(regels), "fout": fout}
    return antwoord


def _mooi(payload: bytes) -> str:
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        return etree.tostring(etree.fromstring(payload, parser), pretty_print=True, encoding="unicode")
    except etree.XMLSyntaxError:
        pass
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload.decode("utf-8", "replace")


def log_regel(c: Console, v: Verzoek, volgnummer: str) -> Antwoord:
    n = int(volgnummer)
    with c.db.transaction(write=False) as s:
        r = opslag.regel(s, n)
        inclusie = bewijs.inclusie(s, n, r.leaf) if r is not None else None
    if r is None:
        return c.pagina(v.operator, "fout.html", titel="Niet gevonden", status="404 Not Found")
    metadata = {
        "volgnummer": r.volgnummer, "tijdstip": r.tijdstip, "soort": r.soort, "operatie": r.operatie,
        "actor": r.actor, "berichtId": r.bericht_id, "kruisverwijzing": r.kruisverwijzing, "foutcode": r.foutcode,
        "correlatieId": r.correlatie_id, "payloadSha256": r.payload_digest.hex(), "payloadLengte": r.payload_lengte,
    }  # fmt: skip
    gegevens = {
        "metadata": metadata,
        "leaf": r.leaf.hex(),
        "payload": base64.b64encode(r.payload).decode() if r.payload is not None else None,
        "grootte": inclusie.grootte if inclusie else None,
        "pad": [h.hex() for h in inclusie.pad] if inclusie else [],
        "checkpoint": inclusie.checkpoint.xml.decode() if inclusie else None,
    }
    antwoord = c.pagina(
        v.operator, "regel.html", titel=f"Logregel {n}", actief="log", r=r, metadata=metadata,
        mooi=_mooi(r.payload) if r.payload is not None else None, inclusie=inclusie,
        gegevens=json.dumps(gegevens).replace("</", "<\\/"),
    )  # fmt: skip
    antwoord.operatie, antwoord.inzage = "regel", {"volgnummer": n}
    return antwoord


# --- checkpoints -------------------------------------------------------------------------------------


def checkpoints(c: Console, v: Verzoek) -> Antwoord:
    with c.db.transaction(write=False) as s:
        lijst = opslag.checkpoints(s, PAGINA)
    antwoord = c.pagina(v.operator, "checkpoints.html", titel="Checkpoints", actief="checkpoints", lijst=lijst)
    antwoord.operatie, antwoord.inzage = "checkpoints", {"getoond": len(lijst)}
    return antwoord


def checkpoint_xml(c: Console, v: Verzoek, grootte: str) -> Antwoord:
    with c.db.transaction(write=False) as s:
        cp = opslag.checkpoint(s, int(grootte))
    if cp is None:
        return c.pagina(v.operator, "fout.html", titel="Niet gevonden", status="404 Not Found")
    schijf = [("Content-Disposition", f'attachment; filename="checkpoint-{cp.grootte}.xml"')]
    return Antwoord(
        cp.xml, ctype="application/xml", koppen=schijf, operatie="checkpoint", inzage={"grootte": cp.grootte}
    )


def bundel(c: Console, v: Verzoek) -> Antwoord:
    """A self-contained bundle (``vir-gateway log verify --bundle``) up to the newest signed checkpoint."""
    with c.db.transaction(write=False) as s:
        cp = opslag.laatste_checkpoint(s)
        if cp is None:
            return c.pagina(v.operator, "fout.html", titel="Nog geen checkpoint", status="409 Conflict")
        van = int(v.query["van"]) if v.query.get("van", "").isdigit() else 0
        tot = min(int(v.query["tot"]) if v.query.get("tot", "").isdigit() else cp.grootte - 1, cp.grootte - 1)
        van = min(van, tot)
        with tempfile.TemporaryDirectory() as d:
            pad = Path(d) / "bundel.zip"
            bundle.schrijf(
                pad, van=van, tot=tot, grootte=cp.grootte, uitgever=c.settings.gateway_oin,
                regels=iter(opslag.regels_tussen(s, van, tot)), redacties=redactie.redacties_tot(s, cp.grootte),
                leaves=bewijs.leaves(s, cp.grootte),
                checkpoints=opslag.checkpoints_tot(s, cp.grootte), cert_pem=c.logboek.cert_path.read_bytes(),
            )  # fmt: skip
            inhoud = pad.read_bytes()
    naam = f"vir-log-{van}-{tot}.zip"
    return Antwoord(
        inhoud, ctype="application/zip", koppen=[("Content-Disposition", f'attachment; filename="{naam}"')],
        operatie="bundel", inzage={"van": van, "tot": tot, "grootte": cp.grootte},
    )  # fmt: skip


# --- federation --------------------------------------------------------------------------------------


def federatie(c: Console, v: Verzoek) -> Antwoord:
    with c.db.transaction(write=False) as s:
        peers = opslag.peers(s)
        leveringen = opslag.leveringen_per_peer(s)
        dood = opslag.dode_leveringen(s)
    namen = list(leveringen)
    grafiek_ = grafiek.staven(
        "Leveringen per peer en status", namen, [(st, [leveringen[p][st] for p in namen]) for st in opslag.STATUSSEN]
    )
    antwoord = c.pagina(
        v.operator, "federatie.html", titel="Federatie", actief="federatie", peers=peers, leveringen=leveringen,
        statussen=opslag.STATUSSEN, dood=dood, grafiek=grafiek_, opnieuw=v.query.get("opnieuw"),
    )  # fmt: skip
    antwoord.operatie, antwoord.inzage = "federatie", {"dood": len(dood)}
    return antwoord


def opnieuw(c: Console, v: Verzoek) -> Antwoord:
    ids = sorted({int(i) for i in v.form.get("id", []) if i.isdigit()})
    with c.db.transaction() as s:
        gedaan = opslag.opnieuw_aanbieden(s, ids, c.klok()) if ids else []
        c.schrijf(s, v, "federatie-opnieuw", {"gevraagd": ids, "opnieuw": gedaan})
    return _terug(f"/beheer/federatie?opnieuw={len(gedaan)}")


# --- instanties --------------------------------------------------------------------------------------


def instanties(c: Console, v: Verzoek) -> Antwoord:
    with c.db.transaction(write=False) as s:
        lijst = [profiel_json(i) for i in opslag.instanties(s)]
    antwoord = c.pagina(v.operator, "instanties.html", titel="Instanties", actief="instanties", lijst=lijst)
    antwoord.operatie, antwoord.inzage = "instanties", {"getoond": len(lijst)}
    return antwoord


def instantie(c: Console, v: Verzoek, oin: str, fouten: list[str] | None = None) -> Antwoord:
    with c.db.transaction(write=False) as s:
        inst = opslag.instantie(s, oin)
        profiel = profiel_json(inst) if inst is not None else None
        wijzigingen = opslag.profielwijzigingen(s, oin) if inst is not None else []
    if profiel is None:
        return c.pagina(v.operator, "fout.html", titel="Niet gevonden", status="404 Not Found")
    antwoord = c.pagina(
        v.operator, "instantie.html", titel=f"Instantie {profiel['naam']}", actief="instanties", p=profiel,
        wijzigingen=wijzigingen, fouten=fouten or [], gewijzigd=v.query.get("gewijzigd") == "1",
        max_jaren=c.settings.max_melding_jaren, status="422 Unprocessable Entity" if fouten else "200 OK",
    )  # fmt: skip
    antwoord.operatie, antwoord.inzage = "instantie", {"oin": oin}
    return antwoord


def profiel_wijzigen(c: Console, v: Verzoek, oin: str) -> Antwoord:
    fouten: list[str] = []
    jaren_tekst = v.veld("melding_jaren")
    jaren = int(jaren_tekst) if jaren_tekst.isdigit() else None
    if jaren_tekst and (jaren is None or not 1 <= jaren <= c.settings.max_melding_jaren):
        fouten.append(f"Looptijd: een geheel aantal jaren van 1 tot en met {c.settings.max_melding_jaren}.")
    callback = v.veld("callback_url")
    if callback and not re.fullmatch(r"https?://[^\s]{1,390}", callback):
        fouten.append("Callback-adres: een http(s)-adres, of leeg.")
    casustypen = sorted({t.strip() for t in v.veld("auto_casustypen").split(",") if t.strip()})
    if any(not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", t) for t in casustypen):
        fouten.append("Casustypen: namen van letters, cijfers, - en _, gescheiden door komma's.")
    if fouten:
        return instantie(c, v, oin, fouten)
    with c.db.transaction() as s:
        inst = opslag.instantie(s, oin)
        if inst is None:
            return c.pagina(v.operator, "fout.html", titel="Niet gevonden", status="404 Not Found")
        voor = profiel_json(inst)
        inst.melding_jaren = jaren
        inst.mag_regievoeren = "mag_regievoeren" in v.form
        inst.bsn_toegestaan = "bsn_toegestaan" in v.form
        inst.actief = "actief" in v.form
        inst.auto_casustypen = json.dumps(casustypen)
        if (callback or None) != inst.callback_url:
            inst.callback_url = callback or None
            inst.push_pogingen, inst.push_volgende, inst.push_fout = 0, None, None
        s.flush()
        na = profiel_json(inst)
        gewijzigd = sorted(k for k in na if na[k] != voor[k])
        c.schrijf(s, v, "instantie-profiel", {"profiel": na, "gewijzigd": gewijzigd})
    return _terug(f"/beheer/instanties/{oin}?gewijzigd=1")


# --- management information ----------------------------------------------------------------------------


def _rapport(c: Console, v: Verzoek) -> tuple[dict[str, Any], list[str], list[rapport.Rij]]:
    vandaag = c.klok().date()
    tot = _datum(v.query.get("tot", ""), vandaag)
    van = _datum(v.query.get("van", ""), tot.replace(day=1) - timedelta(days=365))
    per = v.query.get("per", "")
    per = per if per in rapport.PERIODES else "maand"
    instantie = v.query.get("instantie", "")
    rijen = [r for r in rapport_rijen(c.db, van, tot, per) if not instantie or r.instantie_oin == instantie]
    keuze = {"van": van.isoformat(), "tot": tot.isoformat(), "per": per, "instantie": instantie}
    return keuze, rapport.perioden_tussen(van, tot, per), rijen


def rapporten(c: Console, v: Verzoek) -> Antwoord:
    keuze, perioden, rijen = _rapport(c, v)
    tabel = rapport.tabel(rijen, perioden=perioden)
    totalen = [r for r in tabel if r["instantie_naam"] == rapport.TOTAAL]
    labels = [str(r["periode"]) for r in totalen]
    grafiek_ = grafiek.staven(
        "Tellingen per periode", labels, [(s, [int(str(r[s])) for r in totalen]) for s in rapport.SOORTEN],
        breedte=860, elke=max(1, len(labels) // 12),
    )  # fmt: skip
    per_instantie = [r for r in tabel if r["instantie_naam"] != rapport.TOTAAL]
    namen = sorted({str(r["instantie_naam"]) for r in per_instantie})
    som = {n: {k: sum(int(str(r[k])) for r in per_instantie if r["instantie_naam"] == n) for k in rapport.SOORTEN}
           for n in namen}  # fmt: skip
    grafiek_instanties = grafiek.staven(
        "Tellingen per instantie over de hele periode", namen,
        [(k, [som[n][k] for n in namen]) for k in rapport.SOORTEN], breedte=860,
    )  # fmt: skip
    with c.db.transaction(write=False) as s:
        keuzes = [(i.oin, i.naam) for i in opslag.instanties(s)]
    antwoord = c.pagina(
        v.operator, "rapporten.html", titel="Rapporten", actief="rapporten", keuze=keuze, tabel=tabel,
        soorten=rapport.SOORTEN, grafiek=grafiek_, grafiek_instanties=grafiek_instanties, instanties=keuzes,
        periodes=rapport.PERIODES,
        csv=urlencode(keuze),
    )  # fmt: skip
    antwoord.operatie, antwoord.inzage = "rapport", keuze
    return antwoord


def rapport_csv(c: Console, v: Verzoek) -> Antwoord:
    keuze, perioden, rijen = _rapport(c, v)
    uit = io.StringIO(newline="")
    rapport.schrijf_csv(rijen, uit, perioden=perioden)
    naam = f"vir-rapport-{keuze['van']}-{keuze['tot']}-{keuze['per']}.csv"
    return Antwoord(
        uit.getvalue().encode(), ctype="text/csv; charset=utf-8",
        koppen=[("Content-Disposition", f'attachment; filename="{naam}"')], operatie="rapport-csv", inzage=keuze,
    )  # fmt: skip


def _r(patroon: str) -> re.Pattern[str]:
    return re.compile("/beheer" + patroon)


ROUTES = [
    Route("GET", _r("/"), Recht.LEZEN, overzicht),
    Route("GET", _r("/log"), Recht.LEZEN, log_zoeken),
    Route("POST", _r("/log/bsn"), Recht.BSN_ZOEKEN, log_bsn),
    Route("GET", _r(r"/log/(?P<volgnummer>[0-9]{1,18})"), Recht.LEZEN, log_regel),
    Route("GET", _r("/checkpoints"), Recht.LEZEN, checkpoints),
    Route("GET", _r(r"/checkpoints/(?P<grootte>[0-9]{1,18})\.xml"), Recht.LEZEN, checkpoint_xml),
    Route("GET", _r("/checkpoints/bundel"), Recht.LEZEN, bundel),
    Route("GET", _r("/federatie"), Recht.FEDERATIE, federatie),
    Route("POST", _r("/federatie/opnieuw"), Recht.WIJZIGEN, opnieuw),
    Route("GET", _r("/instanties"), Recht.INSTANTIES, instanties),
    Route("GET", _r("/instanties/(?P<oin>[0-9]{20})"), Recht.INSTANTIES, instantie),
    Route("POST", _r("/instanties/(?P<oin>[0-9]{20})"), Recht.WIJZIGEN, profiel_wijzigen),
    Route("GET", _r("/rapporten"), Recht.RAPPORTEN, rapporten),
    Route("GET", _r(r"/rapporten\.csv"), Recht.RAPPORTEN, rapport_csv),
]
