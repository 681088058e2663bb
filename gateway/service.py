"""The Ketenpartner service: translates request bodies into domain calls and results into answers.

Every operation runs in one database transaction. Mutating operations first claim
(zender, berichtId) in the ``bericht`` table: a retry of the same request gets the stored original
answer, a different request under the same berichtId is refused, and two identical requests racing
each other are serialised by the unique constraint.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

from lxml import etree
from spyne import ServiceBase, rpc
from spyne.util.xml import get_xml_as_object
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from federation.outbox import Uitgaand
from gateway import __version__, ns
from gateway import models as M
from gateway.config import Settings
from gateway.contract import schema_findings
from gateway.domain import model as d
from gateway.domain.jongere import Jongere
from gateway.domain.regels import Regels
from gateway.errors import FAULTS, GatewayError, RuleError, ServerError
from gateway.index import Aanvraag, Afgegeven, Verwijsindex
from gateway.log.bewijs import inclusie
from gateway.log.logboek import Logboek, key_paths
from gateway.log.regel import Regel
from gateway.log.writer import Ontvangstbewijs
from gateway.protocol import RequestInfo, VirFault, info
from gateway.render import als_xml
from store.db import Database
from store.models import Instantie, LogRegel, Peer
from store.repository import Repository

log = logging.getLogger(__name__)

MUTEREND = {
    "MeldingAfgeven",
    "MeldingenAfgeven",
    "MeldingWijzigen",
    "MeldingBeeindigen",
    "SignalenBevestigen",
    "RegievoerderVastleggen",
    "AfstemmingVastleggen",
    "CasusGebeurtenis",
}


@dataclass
class Deps:
    """What the service needs, created once per process."""

    settings: Settings
    db: Database
    regels: Regels
    logboek: Logboek
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def uitgaand(self, session: Any, nu: datetime) -> Uitgaand:
        """The federation outbox of one transaction."""
        return Uitgaand(session, self.settings.systeem, self.settings.federatie_hub, nu)

    def wss_profiel(self, oin: str | None) -> tuple[bytes | None, bool]:
        """The sender's registered signing certificate (PEM) and whether it must sign its requests."""
        if oin is None:
            return None, False
        with self.db.transaction(write=False) as s:
            rij = s.execute(
                select(Instantie.certificaat, Instantie.wss_verplicht).where(Instantie.oin == oin)
            ).one_or_none()
            if rij is None:
                # Another verwijsindex system: a registered certificate means its messages must be signed.
                pem = s.execute(
                    select(Peer.certificaat).where(Peer.oin == oin, Peer.actief.is_(True)).limit(1)
                ).scalar_one_or_none()
                return (pem.encode(), True) if pem else (None, False)
        return (rij[0].encode() if rij[0] else None), bool(rij[1])

    def gezien(self, message_id: str) -> bool:
        """Record a verified request's MessageID; True when it was recorded before (a replay). Its own
        transaction: a replay stays refused even if the first request failed later on."""
        with self.db.transaction() as s:
            return Repository(s).onthoud_message_id(message_id, datetime.now(UTC)) is False

    @cached_property
    def ondertekening(self) -> tuple[bytes, bytes]:
        """Key and certificate (PEM) that sign our answers to signed requests: ``VIR_WSS_KEY``/``VIR_WSS_CERT``,
        else the key that signs log checkpoints."""
        s = self.settings
        if s.wss_key is not None and s.wss_cert is not None:
            return s.wss_key.read_bytes(), s.wss_cert.read_bytes()
        key, cert, _ = key_paths(s)
        return key.read_bytes(), cert.read_bytes()


class _DryRun(Exception):
    pass


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


# --- domain → answer ------------------------------------------------------------------------


def _kaart(k: d.Contactkaart) -> Any:
    mb = k.meldingsbevoegde
    return M.Contactkaart(
        instantie=M.Instantie(oin=k.oin, naam=k.naam, vestiging=k.vestiging),
        meldingsbevoegde=M.Meldingsbevoegde(naam=mb.naam, functie=mb.functie, telefoon=mb.telefoon, email=mb.email),
        bronsysteem=k.bronsysteem,
    )


def _match(b: d.MatchBeeld) -> Any:
    return M.Match(
        matchId=b.match_id,
        meldingId=b.melding_id,
        soort=b.soort,
        status=b.status,
        sinds=_utc(b.sinds),
        partij=[_kaart(p) for p in b.partijen],
        regievoerder=b.regievoerder,
        laatsteAfstemming=b.laatste_afstemming,
    )


def _archief(kaarten: tuple[d.Contactkaart, ...] | None) -> Any:
    return M.Archiefsignaal(partij=[_kaart(k) for k in kaarten]) if kaarten else None


def signaal(s: d.SignaalBeeld) -> Any:
    """A notification as the pull queue and the push endpoint carry it."""
    return M.Signaal(
        volgnummer=s.volgnummer,
        soort=s.soort,
        tijdstip=_utc(s.tijdstip),
        meldingId=s.melding_id,
        match=_match(s.match) if s.match else None,
        archiefsignaal=_archief(s.archief),
        einddatum=s.einddatum,
    )


def _mb(x: Any) -> d.Meldingsbevoegde:
    return d.Meldingsbevoegde(x.naam, x.functie, x.telefoon, x.email)


# --- request → domain -----------------------------------------------------------------------


def _jongere(j: Any, zender: Instantie, regels: Regels, vandaag: date, xp: str) -> Jongere:
    if j.bsn is not None:
        if not zender.bsn_toegestaan:
            raise RuleError(code="VIR-BSN-NIET-TOEGESTAAN", xpath=f"{xp}/g:bsn")
        regels.controleer_bsn(j.bsn, f"{xp}/g:bsn")
        regels.controleer_leeftijd(j.geboortedatum, vandaag, f"{xp}/g:geboortedatum")
        return Jongere.met_bsn(j.bsn, j.geboortedatum)
    z = j.zonderBsn
    regels.controleer_leeftijd(z.geboortedatum, vandaag, f"{xp}/g:zonderBsn/g:geboortedatum")
    return Jongere.zonder_bsn(z.geslachtsnaam, z.voorvoegsel, z.geboortedatum, z.geslacht)


# --- the operations, on the domain ----------------------------------------------------------


def _afgeven(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    xp = "/kp:MeldingAfgeven"
    jongere = _jongere(req.jongere, zender, ix.regels, ix.vandaag, f"{xp}/kp:jongere")
    app = req.stuurgegevens.zender.applicatie
    r = ix.afgeven(zender, jongere, _mb(req.meldingsbevoegde), req.geplandeEinddatum, app, bool(req.afgeschermd))
    return M.MeldingAfgevenResponse(
        meldingId=r.melding_id,
        geplandeEinddatum=r.geplande_einddatum,
        match=[_match(b) for b in r.matches],
        archiefsignaal=_archief(r.archief),
    )


def _bevinding(exc: GatewayError) -> Any:
    return M.Bevinding(
        code=exc.code,
        xpath=exc.xpath,
        melding=[M.Foutmelding(taal="nl", tekst=exc.message_nl), M.Foutmelding(taal="en", tekst=exc.message_en)],
    )


def _batch(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    """MeldingenAfgeven: the items filed set-based where the index can (``afgeven_reeks``), the rest one
    by one, each in a savepoint of its own, so a refused item leaves no trace and does not sink the
    others; the accepted ones commit with the batch. Results follow the order of the items."""
    app = req.stuurgegevens.zender.applicatie
    items = list(req.item or [])
    uitkomst: list[Afgegeven | RuleError | None] = [None] * len(items)
    aanvragen: list[tuple[int, Aanvraag]] = []
    for i, item in enumerate(items):
        xp = f"/kp:MeldingenAfgeven/kp:item[{i + 1}]"
        try:
            jongere = _jongere(item.jongere, zender, ix.regels, ix.vandaag, f"{xp}/kp:jongere")
        except RuleError as exc:
            uitkomst[i] = exc
            continue
        mb = _mb(item.meldingsbevoegde)
        aanvragen.append((i, Aanvraag(jongere, mb, item.geplandeEinddatum, bool(item.afgeschermd), xp)))
    for (i, _), r in zip(aanvragen, ix.afgeven_reeks(zender, [a for _, a in aanvragen], app), strict=True):
        uitkomst[i] = r
    for i, a in aanvragen:
        if uitkomst[i] is not None:
            continue
        try:
            with ix.repo.s.begin_nested():
                uitkomst[i] = ix.afgeven(zender, a.jongere, a.mb, a.einddatum, app, a.afgeschermd, xp=a.xp)
        except RuleError as exc:
            uitkomst[i] = exc
    resultaten = []
    for item, r in zip(items, uitkomst, strict=True):
        if isinstance(r, RuleError):
            resultaten.append(M.MeldingResultaat(referentie=item.referentie, fout=_bevinding(r)))
        else:
            assert r is not None
            resultaten.append(
                M.MeldingResultaat(
                    referentie=item.referentie,
                    meldingId=r.melding_id,
                    geplandeEinddatum=r.geplande_einddatum,
                    match=[_match(b) for b in r.matches],
                    archiefsignaal=_archief(r.archief),
                )
            )
    geweigerd = sum(1 for r in resultaten if r.fout is not None)
    return M.MeldingenAfgevenResponse(afgegeven=len(resultaten) - geweigerd, geweigerd=geweigerd, resultaat=resultaten)


def _regievoerder(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    return M.RegievoerderVastleggenResponse(match=_match(ix.regievoerder(zender, req.matchId, req.regievoerder)))


def _afstemming(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    return M.AfstemmingVastleggenResponse(match=_match(ix.afstemming(zender, req.matchId, req.datum)))


def _casus(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    xp = "/kp:CasusGebeurtenis"
    jongere = _jongere(req.jongere, zender, ix.regels, ix.vandaag, f"{xp}/kp:jongere")
    mb = _mb(req.meldingsbevoegde) if req.meldingsbevoegde is not None else None
    r = ix.casus(zender, req.gebeurtenis, req.casustype, jongere, mb, req.reden, req.stuurgegevens.zender.applicatie)
    m = r.melding
    return M.CasusGebeurtenisResponse(
        actie=r.actie,
        uitleg=r.uitleg,
        meldingId=m.melding_id if m else None,
        match=[_match(b) for b in m.matches] if m else [],
        archiefsignaal=_archief(m.archief) if m else None,
    )


def _wijzigen(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    mb = _mb(req.meldingsbevoegde) if req.meldingsbevoegde is not None else None
    r = ix.wijzigen(zender, req.meldingId, mb, req.geplandeEinddatum, req.stuurgegevens.zender.applicatie)
    return M.MeldingWijzigenResponse(
        meldingId=r.melding_id, geplandeEinddatum=r.geplande_einddatum, match=[_match(b) for b in r.matches]
    )


def _beeindigen(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    r = ix.beeindigen(zender, req.meldingId, req.reden)
    return M.MeldingBeeindigenResponse(
        meldingId=r.melding_id, resultaat=r.resultaat, beeindigdeMatches=r.beeindigde_matches
    )


def _matches(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    pagina = req.pagina or 1
    grootte = req.paginaGrootte or s.max_pagina_grootte
    totaal, beelden = ix.matches(zender, req.meldingId, pagina, grootte)
    return M.MatchesOpvragenResponse(totaal=totaal, pagina=pagina, match=[_match(b) for b in beelden])


def _ophalen(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    r = ix.signalen_ophalen(zender, req.vanafVolgnummer, req.maximaal or s.max_signalen)
    signalen = [signaal(x) for x in r.signalen]
    return M.SignalenOphalenResponse(bevestigdTotEnMet=r.bevestigd, meer=r.meer, signaal=signalen)


def _bevestigen(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    return M.SignalenBevestigenResponse(bevestigdTotEnMet=ix.signalen_bevestigen(zender, req.totEnMetVolgnummer))


def _ontvangstbewijs(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    """The inclusion proof of a receipt, only for the instantie whose request it acknowledged."""
    xp = "/kp:OntvangstbewijsOpvragen/kp:ontvangstbewijs"
    ob = req.ontvangstbewijs
    regel = ix.repo.s.get(LogRegel, ob.volgnummer)
    if (
        regel is None
        or regel.soort != "inkomend"
        or regel.actor != zender.oin
        or base64.b64encode(regel.leaf).decode() != ob.leafHash
    ):
        raise RuleError(code="VIR-ONTVANGSTBEWIJS-ONBEKEND", xpath=xp)
    bewijs = inclusie(ix.repo.s, regel.volgnummer, regel.leaf)
    if bewijs is None:
        return M.OntvangstbewijsOpvragenResponse(status="nogGeenCheckpoint")
    return M.OntvangstbewijsOpvragenResponse(
        status="bewezen",
        boomgrootte=bewijs.grootte,
        auditpad=[base64.b64encode(h).decode() for h in bewijs.pad],
        checkpoint=etree.fromstring(bewijs.checkpoint.xml),
    )


def _ping(ix: Verwijsindex, zender: Instantie, req: Any, s: Settings) -> Any:
    return M.PingResponse(versie=__version__)


OPERATIES: dict[str, tuple[Any, Callable[[Verwijsindex, Instantie, Any, Settings], Any]]] = {
    "MeldingAfgeven": (M.MeldingAfgeven, _afgeven),
    "MeldingenAfgeven": (M.MeldingenAfgeven, _batch),
    "RegievoerderVastleggen": (M.RegievoerderVastleggen, _regievoerder),
    "AfstemmingVastleggen": (M.AfstemmingVastleggen, _afstemming),
    "CasusGebeurtenis": (M.CasusGebeurtenis, _casus),
    "MeldingWijzigen": (M.MeldingWijzigen, _wijzigen),
    "MeldingBeeindigen": (M.MeldingBeeindigen, _beeindigen),
    "MatchesOpvragen": (M.MatchesOpvragen, _matches),
    "SignalenOphalen": (M.SignalenOphalen, _ophalen),
    "SignalenBevestigen": (M.SignalenBevestigen, _bevestigen),
    "OntvangstbewijsOpvragen": (M.OntvangstbewijsOpvragen, _ontvangstbewijs),
    "Ping": (M.Ping, _ping),
}
RESPONSES = {op: getattr(M, f"{op}Response") for op in [*OPERATIES, "BerichtValideren"]}


def stuurgegevens_antwoord(deps: Deps, req: Any, nu: datetime) -> Any:
    return M.StuurgegevensAntwoord(
        berichtId=str(uuid.uuid4()),
        tijdstip=nu,
        zender=M.Zender(oin=deps.settings.gateway_oin, applicatie=deps.settings.applicatie),
        ontvanger=M.Ontvanger(oin=req.stuurgegevens.zender.oin),
        kruisverwijzing=req.stuurgegevens.berichtId,
    )


def _controleer_ontvanger(deps: Deps, op: str, req: Any) -> None:
    if req.stuurgegevens.ontvanger.oin != deps.settings.gateway_oin:
        raise RuleError(code="VIR-ONTVANGER-ONJUIST", xpath=f"/kp:{op}/kp:stuurgegevens/g:ontvanger/g:oin")


def regels_voor(
    deps: Deps,
    ri: RequestInfo,
    op: str,
    oin: str,
    sg: Any,
    antwoord: Any | bytes,
    gerenderd: list[bytes],
    response_cls: Any = None,
) -> list[Regel | Callable[[list[Ontvangstbewijs]], Regel]]:
    """The request and its answer as log entries; the answer carries the request's receipt."""
    t = deps.logboek.nu()
    inkomend = Regel(t, "inkomend", op, oin, ri.verzoek, bericht_id=sg.berichtId, correlatie_id=ri.correlatie_id)

    def uitgaand(bewijzen: list[Ontvangstbewijs]) -> Regel:
        if isinstance(antwoord, bytes):  # a stored answer, returned again unchanged
            payload, bericht_id = antwoord, None
        else:
            if deps.logboek.aan:
                b = bewijzen[0]
                antwoord.stuurgegevens.ontvangstbewijs = M.Ontvangstbewijs(
                    volgnummer=b.volgnummer, leafHash=base64.b64encode(b.leaf).decode()
                )
            payload, bericht_id = (
                etree.tostring(als_xml(antwoord, response_cls or RESPONSES[op])),
                antwoord.stuurgegevens.berichtId,
            )
        gerenderd.append(payload)
        return Regel(
            t,
            "uitgaand",
            op,
            oin,
            payload,
            bericht_id=bericht_id,
            kruisverwijzing=sg.berichtId,
            correlatie_id=ri.correlatie_id,
        )

    return [inkomend, uitgaand]


def _inzage(deps: Deps, ri: RequestInfo, op: str, sg: Any, gezien: list[dict[str, Any]]) -> Regel:
    """The access-log entry of a read of youths' matches (NEN 7513): who (instantie, application, the
    professional when the partner names one), when, and which meldingen and matches were shown; the
    youths themselves only through those pseudonymous ids."""
    wie = {
        "instantie": sg.zender.oin,
        "applicatie": sg.zender.applicatie,
        "gebruiker": sg.gebruiker,
        "geauthenticeerd": ri.geauthenticeerd,
        "gezien": gezien,
    }
    payload = json.dumps(wie, sort_keys=True).encode()
    return Regel(
        deps.logboek.nu(), "inzage", op, sg.zender.oin, payload, bericht_id=sg.berichtId, correlatie_id=ri.correlatie_id
    )


def _uitvoeren(deps: Deps, op: str, req: Any, ri: RequestInfo, *, dry_run: bool = False) -> Any:
    """Run one operation in one transaction; the heart of every request. The work, the stored
    answer and the log entries of request and answer commit together. Once committed, the answer is
    sent as it was rendered for the log: the bytes logged (and stored for a retry) are the bytes sent."""
    gerenderd: list[bytes] = []
    antwoord = _in_transactie(deps, op, req, ri, gerenderd, dry_run=dry_run)
    if gerenderd:
        ri.antwoord_xml = gerenderd[-1]
    return antwoord


def _in_transactie(
    deps: Deps, op: str, req: Any, ri: RequestInfo, gerenderd: list[bytes], *, dry_run: bool = False
) -> Any:
    fn = OPERATIES[op][1]
    _controleer_ontvanger(deps, op, req)
    sg = req.stuurgegevens
    oin = sg.zender.oin
    mutating = op in MUTEREND and not dry_run
    nu = deps.clock()
    with deps.db.transaction(write=op in MUTEREND or not dry_run) as session:
        repo = Repository(session)
        claim = None
        if mutating:
            claim = repo.claim_bericht(oin, sg.berichtId, op, ri.verzoek_hash, nu)
            if claim is None:
                eerder = repo.bericht(oin, sg.berichtId)
                assert eerder is not None
                if eerder.verzoek_hash != ri.verzoek_hash:
                    raise RuleError(code="VIR-BERICHTID-HERGEBRUIKT", xpath=f"/kp:{op}/kp:stuurgegevens/g:berichtId")
                deps.logboek.schrijf(session, regels_voor(deps, ri, op, oin, sg, eerder.antwoord, gerenderd))
                return get_xml_as_object(etree.fromstring(eerder.antwoord), RESPONSES[op])
        zender = repo.instantie(oin)
        if zender is None or not zender.actief:
            raise RuleError(code="VIR-INSTANTIE-ONBEKEND", xpath=f"/kp:{op}/kp:stuurgegevens/g:zender/g:oin")
        ix = Verwijsindex(repo, deps.regels, nu, deps.uitgaand(session, nu) if mutating else None)
        antwoord = fn(ix, zender, req, deps.settings)
        antwoord.stuurgegevens = stuurgegevens_antwoord(deps, req, nu)
        if dry_run:
            raise _DryRun()
        regels = regels_voor(deps, ri, op, oin, sg, antwoord, gerenderd)
        if ix.inzage:
            regels.insert(1, _inzage(deps, ri, op, sg, ix.inzage))
        deps.logboek.schrijf(session, regels)
        if claim is not None:
            repo.bewaar_antwoord(
                claim, gerenderd[-1] if gerenderd else etree.tostring(als_xml(antwoord, RESPONSES[op]))
            )
        return antwoord


def run_operation(ctx: Any, op: str, req: Any, fn: Callable[[Deps, str, Any, RequestInfo], Any]) -> Any:
    """Run ``fn`` (one transaction) for a Spyne method and map every error to a fault; shared by the
    chain-partner and the federation service."""
    deps: Deps = ctx.app.vir
    ri = info(ctx)
    try:
        for poging in (1, 2):
            try:
                antwoord = fn(deps, op, req, ri)
                deps.logboek.misschien_checkpoint()
                return antwoord
            except (IntegrityError, OperationalError) as exc:
                # A concurrent twin committed first (the same berichtId, or two deliveries of the same
                # new melding): the second round sees its row. Or PostgreSQL broke a deadlock between
                # two filings on related youths (family matches lock each other's youths): run again.
                # Anything else repeating here is a bug.
                deadlock = getattr(getattr(exc, "orig", None), "sqlstate", None) == "40P01"
                if poging == 2 or (isinstance(exc, OperationalError) and not deadlock):
                    raise
        raise AssertionError("unreachable")
    except GatewayError as exc:
        raise VirFault(exc) from exc
    except Exception as exc:
        log.exception("internal error in %s [correlatie %s]", op, ri.correlatie_id)
        raise VirFault(ServerError()) from exc


def uitvoeren(ctx: Any, op: str, req: Any) -> Any:
    """Entry point of every chain-partner method."""
    return run_operation(ctx, op, req, _uitvoeren)


def valideren(ctx: Any, req: Any) -> Any:
    """BerichtValideren: all schema findings, then the business rules in a transaction that is
    always rolled back."""
    deps: Deps = ctx.app.vir
    bevindingen: list[Any] = []

    def vind(code: str, nl: str, en: str, xpath: str | None) -> None:
        bevindingen.append(
            M.Bevinding(
                code=code, xpath=xpath, melding=[M.Foutmelding(taal="nl", tekst=nl), M.Foutmelding(taal="en", tekst=en)]
            )
        )

    # Spyne hands over the first element inside kp:bericht (or kp:bericht itself when it is empty).
    wrapper = req.bericht
    if wrapper is None or wrapper.tag == f"{{{ns.KETENPARTNER}}}bericht":
        inner = [c for c in wrapper if isinstance(c.tag, str)] if wrapper is not None else []
    else:
        inner = [wrapper, *(c for c in wrapper.itersiblings() if isinstance(c.tag, str))]
    if len(inner) != 1:
        vind(
            "VIR-SCHEMA-ONGELDIG",
            "bericht moet precies één element bevatten.",
            "bericht must hold exactly one element.",
            "/kp:BerichtValideren/kp:bericht",
        )
    else:
        element = inner[0]
        for f in schema_findings(element):
            vind(f.code, f"{FAULTS[f.code].nl} {f.detail_nl}", f"{FAULTS[f.code].en} {f.detail_en}", f.xpath)
        op = etree.QName(element).localname
        if not bevindingen and op in OPERATIES:
            inner_req = get_xml_as_object(element, OPERATIES[op][0])
            try:
                _uitvoeren(deps, op, inner_req, RequestInfo(), dry_run=True)
            except _DryRun:
                pass
            except GatewayError as exc:
                vind(exc.code, exc.message_nl, exc.message_en, exc.xpath)
    antwoord = M.BerichtValiderenResponse(
        stuurgegevens=stuurgegevens_antwoord(deps, req, deps.clock()), geldig=not bevindingen, bevinding=bevindingen
    )
    ri = info(ctx)
    sg = req.stuurgegevens
    with deps.db.transaction() as session:
        deps.logboek.schrijf(session, regels_voor(deps, ri, "BerichtValideren", sg.zender.oin, sg, antwoord, []))
    deps.logboek.misschien_checkpoint()
    return antwoord


class Ketenpartner(ServiceBase):
    """The operations of wsdl/ketenpartner.wsdl (document/literal, bare elements)."""

    @rpc(M.MeldingAfgeven, _returns=M.MeldingAfgevenResponse, _body_style="bare")
    def MeldingAfgeven(ctx, req):
        return uitvoeren(ctx, "MeldingAfgeven", req)

    @rpc(M.MeldingenAfgeven, _returns=M.MeldingenAfgevenResponse, _body_style="bare")
    def MeldingenAfgeven(ctx, req):
        return uitvoeren(ctx, "MeldingenAfgeven", req)

    @rpc(M.RegievoerderVastleggen, _returns=M.RegievoerderVastleggenResponse, _body_style="bare")
    def RegievoerderVastleggen(ctx, req):
        return uitvoeren(ctx, "RegievoerderVastleggen", req)

    @rpc(M.AfstemmingVastleggen, _returns=M.AfstemmingVastleggenResponse, _body_style="bare")
    def AfstemmingVastleggen(ctx, req):
        return uitvoeren(ctx, "AfstemmingVastleggen", req)

    @rpc(M.CasusGebeurtenis, _returns=M.CasusGebeurtenisResponse, _body_style="bare")
    def CasusGebeurtenis(ctx, req):
        return uitvoeren(ctx, "CasusGebeurtenis", req)

    @rpc(M.MeldingWijzigen, _returns=M.MeldingWijzigenResponse, _body_style="bare")
    def MeldingWijzigen(ctx, req):
        return uitvoeren(ctx, "MeldingWijzigen", req)

    @rpc(M.MeldingBeeindigen, _returns=M.MeldingBeeindigenResponse, _body_style="bare")
    def MeldingBeeindigen(ctx, req):
        return uitvoeren(ctx, "MeldingBeeindigen", req)

    @rpc(M.MatchesOpvragen, _returns=M.MatchesOpvragenResponse, _body_style="bare")
    def MatchesOpvragen(ctx, req):
        return uitvoeren(ctx, "MatchesOpvragen", req)

    @rpc(M.SignalenOphalen, _returns=M.SignalenOphalenResponse, _body_style="bare")
    def SignalenOphalen(ctx, req):
        return uitvoeren(ctx, "SignalenOphalen", req)

    @rpc(M.SignalenBevestigen, _returns=M.SignalenBevestigenResponse, _body_style="bare")
    def SignalenBevestigen(ctx, req):
        return uitvoeren(ctx, "SignalenBevestigen", req)

    @rpc(M.BerichtValideren, _returns=M.BerichtValiderenResponse, _body_style="bare")
    def BerichtValideren(ctx, req):
        try:
            return valideren(ctx, req)
        except GatewayError as exc:
            raise VirFault(exc) from exc

    @rpc(M.OntvangstbewijsOpvragen, _returns=M.OntvangstbewijsOpvragenResponse, _body_style="bare")
    def OntvangstbewijsOpvragen(ctx, req):
        return uitvoeren(ctx, "OntvangstbewijsOpvragen", req)

    @rpc(M.Ping, _returns=M.PingResponse, _body_style="bare")
    def Ping(ctx, req):
        return uitvoeren(ctx, "Ping", req)
