"""The Ketenpartner service (``wsdl/ketenpartner.wsdl``): its operations on the request pipeline.

Each handler reads the request (``gateway.vertaling``), calls the index (``gateway.index``) and returns the
answer; the pipeline (``gateway.pipeline``) owns the transaction, the idempotent retry, the log and the
faults. ``BerichtValideren`` runs another operation's handler as a dry run and reports every finding.
"""

from __future__ import annotations

import base64
from typing import Any

from lxml import etree
from spyne import ServiceBase, rpc
from spyne.util.xml import get_xml_as_object

from gateway import __version__, ns, profielen
from gateway import berichten as B
from gateway.afgifte import GelezenItem, item_xpath, jongere_van, lees_casus, lees_melding, lees_meldingen
from gateway.contract import schema_findings
from gateway.domain.model import Meldingsbevoegde
from gateway.errors import FAULTS, GatewayError, RuleError
from gateway.index import Aanvraag, Afgegeven
from gateway.index.bevoegden import Bevoegden
from gateway.log.bewijs import inclusie
from gateway.pipeline import Afzender, Dienst, Verzoek, log_vraag_en_antwoord, stuurgegevens_antwoord, transactie
from gateway.protocol import RequestInfo, VirFault, info
from gateway.validatie import regelbevindingen
from gateway.vertaling import (
    archief_naar_bericht,
    bevinding_naar_bericht,
    eigen_melding_naar_bericht,
    fout_naar_bevinding,
    match_naar_bericht,
    meldingsbevoegde_uit_bericht,
    signaal_naar_bericht,
)
from store.getuigen import Getuigen
from store.repository import Repository


def _afzender(repo: Repository, op: str, req: Any, request_info: RequestInfo) -> Afzender:
    """A chain partner is a registered, active instantie; never a peer system."""
    zender = repo.profiel(req.stuurgegevens.zender.oin)
    if zender is None and repo.peers_met_oin(req.stuurgegevens.zender.oin):
        raise RuleError(code="VIR-KETENPARTNER-PEER", xpath=f"/kp:{op}/kp:stuurgegevens/g:zender/g:oin")
    if zender is None or not zender.actief:
        raise RuleError(code="VIR-INSTANTIE-ONBEKEND", xpath=f"/kp:{op}/kp:stuurgegevens/g:zender/g:oin")
    return Afzender(zender.oin, zender)


KETENPARTNER = Dienst(prefix="kp", logprefix="", authenticeer=_afzender)


def _meldingsbevoegde(req: Any) -> Meldingsbevoegde | None:
    return meldingsbevoegde_uit_bericht(req.meldingsbevoegde) if req.meldingsbevoegde is not None else None


def _applicatie(req: Any) -> str:
    return str(req.stuurgegevens.zender.applicatie)


def _aangewezen(v: Verzoek, mb: Any, sg: Any, basis: str, bevoegden: Bevoegden | None = None) -> str | None:
    """The professional who files or takes over must be designated (``gateway.index.bevoegden``); a batch passes
    the ``bevoegden`` of the whole request."""
    code = profielen.medewerker(mb, sg)
    return (bevoegden or profielen.bevoegden(v)).controleer(v.zender, code, profielen.xpath_medewerker(basis, mb, sg))


# --- the operations -------------------------------------------------------------------------------


def melding_afgeven(v: Verzoek, req: Any) -> Any:
    gelezen: GelezenItem = v.gelezen
    jongere = jongere_van(v, req.jongere, "/kp:MeldingAfgeven/kp:jongere", gelezen.jongere)
    meldingsbevoegde = gelezen.meldingsbevoegde or meldingsbevoegde_uit_bericht(req.meldingsbevoegde)
    code = _aangewezen(v, req.meldingsbevoegde, req.stuurgegevens, "/kp:MeldingAfgeven")
    r = v.index.afgeven(
        v.zender, jongere, meldingsbevoegde, req.geplandeEinddatum, _applicatie(req), bool(req.afgeschermd), code
    )
    return B.MeldingAfgevenResponse(
        meldingId=r.melding_id,
        geplandeEinddatum=r.geplande_einddatum,
        match=[match_naar_bericht(b) for b in r.matches],
        archiefsignaal=archief_naar_bericht(r.archief),
    )


def meldingen_afgeven(v: Verzoek, req: Any) -> Any:
    """MeldingenAfgeven: the items filed set-based where the index can (``afgeven_reeks``), the rest one
    by one, each in a savepoint of its own, so a refused item leaves no trace and does not sink the
    others; the accepted ones commit with the batch. Results follow the order of the items, a refusal with
    the XPath of its field within the item."""
    index, app = v.index, _applicatie(req)
    items = list(req.item or [])
    gelezen: list[GelezenItem] = v.gelezen
    bevoegden = profielen.bevoegden(v)
    uitkomst: list[Afgegeven | RuleError | None] = [None] * len(items)
    aanvragen: list[tuple[int, Aanvraag]] = []
    for i, (item, vooraf) in enumerate(zip(items, gelezen, strict=True)):
        try:
            jongere = jongere_van(v, item.jongere, f"{item_xpath(i)}/kp:jongere", vooraf.jongere)
            code = _aangewezen(v, item.meldingsbevoegde, req.stuurgegevens, item_xpath(i), bevoegden)
        except RuleError as exc:
            uitkomst[i] = exc
            continue
        meldingsbevoegde = vooraf.meldingsbevoegde or meldingsbevoegde_uit_bericht(item.meldingsbevoegde)
        aanvragen.append((i, Aanvraag(jongere, meldingsbevoegde, item.geplandeEinddatum, bool(item.afgeschermd), code)))
    for (i, _), r in zip(aanvragen, index.afgeven_reeks(v.zender, [a for _, a in aanvragen], app), strict=True):
        uitkomst[i] = r
    for i, a in aanvragen:
        if uitkomst[i] is not None:
            continue
        try:
            with index.savepoint():
                uitkomst[i] = index.afgeven(
                    v.zender, a.jongere, a.meldingsbevoegde, a.einddatum, app, a.afgeschermd, a.mb_code
                )
        except RuleError as exc:
            uitkomst[i] = exc
    resultaten = []
    for i, (item, r) in enumerate(zip(items, uitkomst, strict=True)):
        if isinstance(r, RuleError):
            r.in_bericht(item_xpath(i), "kp")
            resultaten.append(B.MeldingResultaat(referentie=item.referentie, fout=fout_naar_bevinding(r)))
        else:
            assert r is not None  # the professional's id was written with the melding
            resultaten.append(
                B.MeldingResultaat(
                    referentie=item.referentie,
                    meldingId=r.melding_id,
                    geplandeEinddatum=r.geplande_einddatum,
                    match=[match_naar_bericht(b) for b in r.matches],
                    archiefsignaal=archief_naar_bericht(r.archief),
                )
            )
    geweigerd = sum(1 for r in resultaten if r.fout is not None)
    return B.MeldingenAfgevenResponse(afgegeven=len(resultaten) - geweigerd, geweigerd=geweigerd, resultaat=resultaten)


def regievoerder_vastleggen(v: Verzoek, req: Any) -> Any:
    return B.RegievoerderVastleggenResponse(
        match=match_naar_bericht(v.index.regievoerder(v.zender, req.matchId, req.regievoerder))
    )


def afstemming_vastleggen(v: Verzoek, req: Any) -> Any:
    return B.AfstemmingVastleggenResponse(
        match=match_naar_bericht(v.index.afstemming(v.zender, req.matchId, req.datum))
    )


def casus_gebeurtenis(v: Verzoek, req: Any) -> Any:
    gelezen: GelezenItem = v.gelezen
    jongere = jongere_van(v, req.jongere, "/kp:CasusGebeurtenis/kp:jongere", gelezen.jongere)
    meldingsbevoegde = gelezen.meldingsbevoegde
    code = None
    if req.meldingsbevoegde is not None:
        code = _aangewezen(v, req.meldingsbevoegde, req.stuurgegevens, "/kp:CasusGebeurtenis")
    r = v.index.casus(v.zender, req.gebeurtenis, req.casustype, jongere, meldingsbevoegde, req.reden, _applicatie(req))
    melding = r.melding
    if melding is not None and req.meldingsbevoegde is not None:
        profielen.bevoegden(v).vastleggen(melding.melding_id, code)
    return B.CasusGebeurtenisResponse(
        actie=r.actie,
        uitleg=r.uitleg,
        meldingId=melding.melding_id if melding else None,
        match=[match_naar_bericht(b) for b in melding.matches] if melding else [],
        archiefsignaal=archief_naar_bericht(melding.archief) if melding else None,
    )


def melding_wijzigen(v: Verzoek, req: Any) -> Any:
    if req.meldingsbevoegde is None and req.geplandeEinddatum is None:
        # The contract's flat sequence lets both be absent (for client toolkits); there is nothing to change.
        raise RuleError(
            "Verwacht: meldingsbevoegde of geplandeEinddatum.",
            detail_en="Expected: meldingsbevoegde or geplandeEinddatum.",
            code="VIR-SCHEMA-ELEMENT-ONTBREEKT",
            xpath="/kp:MeldingWijzigen/kp:geplandeEinddatum",
        )
    code = None
    if req.meldingsbevoegde is not None:  # a transfer: the colleague must be designated
        code = _aangewezen(v, req.meldingsbevoegde, req.stuurgegevens, "/kp:MeldingWijzigen")
    r = v.index.wijzigen(v.zender, req.meldingId, _meldingsbevoegde(req), req.geplandeEinddatum, _applicatie(req))
    if req.meldingsbevoegde is not None:
        profielen.bevoegden(v).vastleggen(r.melding_id, code)
    return B.MeldingWijzigenResponse(
        meldingId=r.melding_id, geplandeEinddatum=r.geplande_einddatum, match=[match_naar_bericht(b) for b in r.matches]
    )


def melding_beeindigen(v: Verzoek, req: Any) -> Any:
    r = v.index.beeindigen(v.zender, req.meldingId, req.reden)
    return B.MeldingBeeindigenResponse(
        meldingId=r.melding_id, resultaat=r.resultaat, beeindigdeMatches=r.beeindigde_matches
    )


def _namens(v: Verzoek, req: Any, op: str) -> None:
    """A read that shows matches (contact cards) is accountable to a person (NEN 7513): the professional
    on whose behalf the system reads (``stuurgegevens/gebruiker``), unless the instantie's profile allows
    system-only reads (by default only in development mode). Filings name their professional already
    (``meldingsbevoegde``)."""
    if req.stuurgegevens.gebruiker:  # the schema refuses a blank one
        return
    toegestaan = v.zender.systeem_inzage
    if toegestaan if toegestaan is not None else v.deps.settings.development:
        return
    raise RuleError(code="VIR-GEBRUIKER-ONTBREEKT", xpath=f"/kp:{op}/kp:stuurgegevens/g:gebruiker")


def matches_opvragen(v: Verzoek, req: Any) -> Any:
    _namens(v, req, "MatchesOpvragen")
    profielen.controleer_lezer(v, req, "MatchesOpvragen")
    pagina = req.pagina or 1
    grootte = req.paginaGrootte or v.deps.settings.max_pagina_grootte
    totaal, beelden = v.index.matches(v.zender, req.meldingId, pagina, grootte)
    return B.MatchesOpvragenResponse(totaal=totaal, pagina=pagina, match=[match_naar_bericht(b) for b in beelden])


def eigen_meldingen_opvragen(v: Verzoek, req: Any) -> Any:
    """The sender's own meldingen with status and planned end date: nothing of the youth or of other parties,
    so no professional need be named; the request and answer are logged as every request is."""
    pagina = req.pagina or 1
    grootte = req.paginaGrootte or v.deps.settings.max_pagina_grootte
    totaal, rijen = v.repo.eigen_meldingen(v.zender.id, req.status, (pagina - 1) * grootte, grootte)
    return B.EigenMeldingenOpvragenResponse(
        totaal=totaal, pagina=pagina, melding=[eigen_melding_naar_bericht(r) for r in rijen]
    )


def signalen_ophalen(v: Verzoek, req: Any) -> Any:
    _namens(v, req, "SignalenOphalen")
    profielen.controleer_lezer(v, req, "SignalenOphalen")
    r = v.index.signalen_ophalen(v.zender, req.vanafVolgnummer, req.maximaal or v.deps.settings.max_signalen)
    return B.SignalenOphalenResponse(
        bevestigdTotEnMet=r.bevestigd, meer=r.meer, signaal=[signaal_naar_bericht(s) for s in r.signalen]
    )


def signalen_bevestigen(v: Verzoek, req: Any) -> Any:
    return B.SignalenBevestigenResponse(bevestigdTotEnMet=v.index.signalen_bevestigen(v.zender, req.totEnMetVolgnummer))


def ontvangstbewijs_opvragen(v: Verzoek, req: Any) -> Any:
    """The inclusion proof of a receipt, only for the instantie whose request it acknowledged."""
    ob = req.ontvangstbewijs
    regel = v.repo.logregel(ob.volgnummer)
    if (
        regel is None
        or regel.soort != "inkomend"
        or regel.actor != v.zender.oin
        or base64.b64encode(regel.leaf).decode() != ob.leafHash
    ):
        raise RuleError(code="VIR-ONTVANGSTBEWIJS-ONBEKEND", xpath="/kp:OntvangstbewijsOpvragen/kp:ontvangstbewijs")
    # Against a checkpoint other systems cosigned when there is one (docs/getuigen.md): then the partner
    # need not trust this system alone.
    getuigen = Getuigen(v.repo.s)
    cp = getuigen.gecosigneerd_checkpoint_voor(regel.volgnummer)
    bewijs = inclusie(v.repo.s, regel.volgnummer, regel.leaf, cp)
    if bewijs is None:
        return B.OntvangstbewijsOpvragenResponse(status="nogGeenCheckpoint")
    return B.OntvangstbewijsOpvragenResponse(
        status="bewezen",
        boomgrootte=bewijs.grootte,
        auditpad=[base64.b64encode(h).decode() for h in bewijs.pad],
        checkpoint=etree.fromstring(bewijs.checkpoint.xml),
        cosignatuur=[etree.fromstring(x) for x in getuigen.cosignaturen(bewijs.grootte)],
    )


def ping(v: Verzoek, req: Any) -> Any:
    return B.PingResponse(versie=__version__)


KETENPARTNER.registreer_muterend(
    "MeldingAfgeven", B.MeldingAfgeven, B.MeldingAfgevenResponse, melding_afgeven, lezen=lees_melding
)
KETENPARTNER.registreer_muterend(
    "MeldingenAfgeven", B.MeldingenAfgeven, B.MeldingenAfgevenResponse, meldingen_afgeven, lezen=lees_meldingen
)
KETENPARTNER.registreer_muterend(
    "CasusGebeurtenis", B.CasusGebeurtenis, B.CasusGebeurtenisResponse, casus_gebeurtenis, lezen=lees_casus
)
for _naam, _handler in (
    ("MeldingWijzigen", melding_wijzigen),
    ("MeldingBeeindigen", melding_beeindigen),
    ("SignalenBevestigen", signalen_bevestigen),
    ("RegievoerderVastleggen", regievoerder_vastleggen),
    ("AfstemmingVastleggen", afstemming_vastleggen),
):
    KETENPARTNER.registreer_muterend(_naam, getattr(B, _naam), getattr(B, f"{_naam}Response"), _handler)
for _naam, _handler in (
    ("MatchesOpvragen", matches_opvragen),
    ("EigenMeldingenOpvragen", eigen_meldingen_opvragen),
    ("SignalenOphalen", signalen_ophalen),
    ("OntvangstbewijsOpvragen", ontvangstbewijs_opvragen),
    ("Ping", ping),
):
    KETENPARTNER.registreer(_naam, getattr(B, _naam), getattr(B, f"{_naam}Response"), _handler)
# organisation profiles and designated professionals (gateway/profielen.py)
KETENPARTNER.registreer(
    "ProfielenOpvragen", B.ProfielenOpvragen, B.ProfielenOpvragenResponse, profielen.profielen_opvragen
)
KETENPARTNER.registreer_muterend(
    "MeldingsbevoegdeAanwijzen",
    B.MeldingsbevoegdeAanwijzen,
    B.MeldingsbevoegdeAanwijzenResponse,
    profielen.meldingsbevoegde_aanwijzen,
)


# --- BerichtValideren -----------------------------------------------------------------------------


def _binnenste(req: Any) -> list[Any]:
    """The elements inside kp:bericht. Spyne hands over the first of them (or kp:bericht itself when it
    is empty)."""
    wrapper = req.bericht
    if wrapper is None or wrapper.tag == f"{{{ns.KETENPARTNER}}}bericht":
        return [c for c in wrapper if isinstance(c.tag, str)] if wrapper is not None else []
    return [wrapper, *(c for c in wrapper.itersiblings() if isinstance(c.tag, str))]


def bericht_valideren(ctx: Any, req: Any) -> Any:
    """All schema findings, then the business rules in a transaction that is always rolled back.

    Never an oracle: only a registered, active instantie may ask, and only about a message it sends itself
    (the inner ``zender`` must be the outer one, which the front half has matched with the certificate);
    a dry run that read the index leaves an access entry."""
    deps = ctx.app.vir
    request_info = info(ctx)
    sg = req.stuurgegevens
    with transactie(deps.db, write=False) as session:
        _afzender(Repository(session), "BerichtValideren", req, request_info)
    bevindingen: list[Any] = []
    proef: str | None = None
    gezien: list[dict[str, Any]] = []
    binnenste = _binnenste(req)
    if len(binnenste) != 1:
        bevindingen.append(
            bevinding_naar_bericht(
                "VIR-SCHEMA-ONGELDIG",
                "bericht moet precies één element bevatten.",
                "bericht must hold exactly one element.",
                "/kp:BerichtValideren/kp:bericht",
            )
        )
    else:
        element = binnenste[0]
        for f in schema_findings(element):
            spec = FAULTS[f.code]
            bevindingen.append(
                bevinding_naar_bericht(f.code, f"{spec.nl} {f.detail_nl}", f"{spec.en} {f.detail_en}", f.xpath)
            )
        op = KETENPARTNER.operaties.get(etree.QName(element).localname)
        if not bevindingen and op is not None:
            binnen = get_xml_as_object(element, op.verzoek)
            fout = _andere_zender(binnen, sg, request_info, op.naam)
            if fout is not None:
                bevindingen.append(fout_naar_bevinding(fout))
            else:
                proef = op.naam
                regels = _regelbevindingen(deps, op.naam, binnen)
                bevindingen.extend(fout_naar_bevinding(f) for f in regels)
                try:
                    gezien = KETENPARTNER.in_transactie(deps, op, binnen, RequestInfo(), proef=True) or []
                except GatewayError as exc:
                    if (exc.code, exc.xpath) not in {(f.code, f.xpath) for f in regels}:
                        bevindingen.append(fout_naar_bevinding(exc))
    antwoord = B.BerichtValiderenResponse(
        stuurgegevens=stuurgegevens_antwoord(deps, req, deps.clock()), geldig=not bevindingen, bevinding=bevindingen
    )
    with transactie(deps.db) as session:
        request_info.antwoord_xml = log_vraag_en_antwoord(
            deps, session, "BerichtValideren", sg.zender.oin, request_info, req, antwoord, B.BerichtValiderenResponse,
            gezien, proef=proef,
        )  # fmt: skip
    deps.logboek.misschien_checkpoint()
    return antwoord


def _regelbevindingen(deps: Any, naam: str, binnen: Any) -> list[RuleError]:
    """Every stand-alone business-rule finding of the inner message (``gateway.validatie``)."""
    with transactie(deps.db, write=False) as session:
        repo = Repository(session)
        zender = repo.instantie(binnen.stuurgegevens.zender.oin)
        if zender is None:
            return []
        bevoegden = Bevoegden(repo, deps.settings.development)
        return regelbevindingen(naam, binnen, zender, deps.regels, deps.clock().date(), bevoegden)


def _andere_zender(binnen: Any, sg: Any, request_info: RequestInfo, naam: str) -> RuleError | None:
    """The inner message must come from the sender of BerichtValideren (and so from the certificate's
    holder): nobody validates, and so probes, a message in another instantie's name."""
    zender = binnen.stuurgegevens.zender.oin
    if zender == sg.zender.oin and request_info.geauthenticeerd in (None, zender):
        return None
    return RuleError(
        f"(bericht: {zender}, zender: {sg.zender.oin})",
        detail_en=f"(message: {zender}, sender: {sg.zender.oin})",
        code="VIR-ZENDER-ONJUIST",
        xpath=f"/kp:BerichtValideren/kp:bericht/kp:{naam}/kp:stuurgegevens/g:zender/g:oin",
    )


class Ketenpartner(ServiceBase):
    """The operations of wsdl/ketenpartner.wsdl (document/literal, bare elements)."""

    @rpc(B.MeldingAfgeven, _returns=B.MeldingAfgevenResponse, _body_style="bare")
    def MeldingAfgeven(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "MeldingAfgeven", req)

    @rpc(B.MeldingenAfgeven, _returns=B.MeldingenAfgevenResponse, _body_style="bare")
    def MeldingenAfgeven(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "MeldingenAfgeven", req)

    @rpc(B.RegievoerderVastleggen, _returns=B.RegievoerderVastleggenResponse, _body_style="bare")
    def RegievoerderVastleggen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "RegievoerderVastleggen", req)

    @rpc(B.AfstemmingVastleggen, _returns=B.AfstemmingVastleggenResponse, _body_style="bare")
    def AfstemmingVastleggen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "AfstemmingVastleggen", req)

    @rpc(B.CasusGebeurtenis, _returns=B.CasusGebeurtenisResponse, _body_style="bare")
    def CasusGebeurtenis(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "CasusGebeurtenis", req)

    @rpc(B.MeldingWijzigen, _returns=B.MeldingWijzigenResponse, _body_style="bare")
    def MeldingWijzigen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "MeldingWijzigen", req)

    @rpc(B.MeldingBeeindigen, _returns=B.MeldingBeeindigenResponse, _body_style="bare")
    def MeldingBeeindigen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "MeldingBeeindigen", req)

    @rpc(B.MatchesOpvragen, _returns=B.MatchesOpvragenResponse, _body_style="bare")
    def MatchesOpvragen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "MatchesOpvragen", req)

    @rpc(B.EigenMeldingenOpvragen, _returns=B.EigenMeldingenOpvragenResponse, _body_style="bare")
    def EigenMeldingenOpvragen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "EigenMeldingenOpvragen", req)

    @rpc(B.SignalenOphalen, _returns=B.SignalenOphalenResponse, _body_style="bare")
    def SignalenOphalen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "SignalenOphalen", req)

    @rpc(B.SignalenBevestigen, _returns=B.SignalenBevestigenResponse, _body_style="bare")
    def SignalenBevestigen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "SignalenBevestigen", req)

    @rpc(B.BerichtValideren, _returns=B.BerichtValiderenResponse, _body_style="bare")
    def BerichtValideren(ctx, req):
        try:
            return bericht_valideren(ctx, req)
        except GatewayError as exc:
            raise VirFault(exc) from exc

    @rpc(B.OntvangstbewijsOpvragen, _returns=B.OntvangstbewijsOpvragenResponse, _body_style="bare")
    def OntvangstbewijsOpvragen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "OntvangstbewijsOpvragen", req)

    # organisation profiles and designated professionals (gateway/profielen.py)
    @rpc(B.ProfielenOpvragen, _returns=B.ProfielenOpvragenResponse, _body_style="bare")
    def ProfielenOpvragen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "ProfielenOpvragen", req)

    @rpc(B.MeldingsbevoegdeAanwijzen, _returns=B.MeldingsbevoegdeAanwijzenResponse, _body_style="bare")
    def MeldingsbevoegdeAanwijzen(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "MeldingsbevoegdeAanwijzen", req)

    @rpc(B.Ping, _returns=B.PingResponse, _body_style="bare")
    def Ping(ctx, req):
        return KETENPARTNER.uitvoeren(ctx, "Ping", req)
