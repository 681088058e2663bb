"""The Federatie service (``wsdl/federatie.wsdl``): receiving other systems' announcements and meldingen, on the
same request pipeline as the chain-partner service (``gateway.pipeline``): validated against the committed XSD,
one transaction, the answer logged as it is sent. Receipt is idempotent on (system, meldingId, version), so
the service claims no berichtId. What a node stores and sends on is docs/federation.md
(``gateway.index.ontvangst``, ``gateway.index.uitwisseling``)."""

from __future__ import annotations

from typing import Any

from spyne import ServiceBase, rpc

from federation import berichten as F
from federation.getuige_dienst import checkpoint_getuigen, na_afwijzing
from federation.toegang import authenticeer_peer
from gateway.domain.jongere import pseudoniem_versie
from gateway.errors import RuleError
from gateway.pipeline import Dienst, Verzoek
from gateway.protocol import VirFault
from gateway.sleutels import pseudoniemen, sleutelring
from gateway.vertaling import kaart_naar_bericht, kaart_uit_bericht, regie_uit_bericht

FEDERATIE = Dienst(prefix="fed", logprefix="federatie:", authenticeer=authenticeer_peer, claimt=False)


def _bron(req: Any) -> dict[str, Any]:
    return {"systeem": req.bron.systeem, "meldingId": req.bron.meldingId, "versie": req.bron.versie}


def _bron_van_afzender(v: Verzoek, req: Any, op: str) -> None:
    """A peer speaks for its own meldingen. Only a relay (the national hub) passes on meldingen of other systems,
    and only of systems this node is not coupled with itself: never ours, never another peer's."""
    systeem = req.bron.systeem
    if systeem == v.zender.systeem:
        return
    if systeem == v.deps.settings.systeem or systeem in {p.systeem for p in v.repo.peers()}:
        raise RuleError(code="VIR-BRON-ONJUIST", xpath=f"/fed:{op}/fed:bron/fed:systeem")


def _pseudoniem(v: Verzoek, sleutel: str, op: str) -> str:
    """The youth as a pseudonym under the federation key in use here. A key in clear (``bsn:``, ``vsn:``, which
    senders of this release never send) is pseudonymised at once and stored nowhere but in the message log; a
    pseudonym of another key version cannot be matched and is refused."""
    versie = pseudoniem_versie(sleutel)
    if versie is None:
        return pseudoniemen(v.deps.settings)(sleutel)
    if versie != sleutelring(v.deps.settings, "federatie").huidig:
        raise RuleError(code="VIR-PSEUDONIEM-VERSIE", xpath=f"/fed:{op}/fed:jongere")
    return sleutel


def melding_doorgeven(v: Verzoek, req: Any) -> Any:
    """An answer names local parties only for a message that was accepted: a stale or repeated version (which
    anyone holding a used meldingId could send with any youth), or one on a youth this node holds nothing on,
    touches nothing and reveals nothing."""
    _bron_van_afzender(v, req, "MeldingDoorgeven")
    if v.repo.is_lokale_instantie(req.contactkaart.instantie.oin):
        # Another system's party is (system, OIN): a card with one of our OINs would speak for our instantie.
        raise RuleError(code="VIR-KAART-OIN-LOKAAL", xpath="/fed:MeldingDoorgeven/fed:contactkaart/g:instantie/g:oin")
    pseudoniem = _pseudoniem(v, req.jongere, "MeldingDoorgeven")
    verwerkt, lokaal = v.index.ontvangen(
        req.afzender,
        _bron(req),
        pseudoniem,
        kaart_uit_bericht(req.contactkaart),
        req.geplandeEinddatum,
        regie_uit_bericht(req.regie),
    )
    return F.MeldingDoorgevenResponse(verwerkt=verwerkt, lokaleMatch=[kaart_naar_bericht(k) for k in lokaal])


def jongere_aankondigen(v: Verzoek, req: Any) -> Any:
    """A peer files on a youth: ``bekend`` when we hold a melding on it too (ours then go to the peer)."""
    pseudoniem = _pseudoniem(v, req.jongere, "JongereAankondigen")
    return F.JongereAankondigenResponse(bekend=v.index.aangekondigd(req.afzender, pseudoniem))


def melding_intrekken(v: Verzoek, req: Any) -> Any:
    _bron_van_afzender(v, req, "MeldingIntrekken")
    return F.MeldingIntrekkenResponse(verwerkt=v.index.ingetrokken(req.afzender, _bron(req)))


def regie_doorgeven(v: Verzoek, req: Any) -> Any:
    """Another system's choice of coordinator, or recorded contact, on a match across systems."""
    pseudoniem = _pseudoniem(v, req.jongere, "RegieDoorgeven")
    staat = regie_uit_bericht(req.regie) or {}
    return F.RegieDoorgevenResponse(verwerkt=v.index.regie_ontvangen(req.afzender, pseudoniem, staat))


def gezinsmatch_doorgeven(v: Verzoek, req: Any) -> Any:
    """The hub's family match of one of our meldingen: contact cards only."""
    kaarten = [kaart_uit_bericht(k) for k in req.partij or []]
    return F.GezinsmatchDoorgevenResponse(verwerkt=v.index.gezin_ontvangen(req.meldingId, req.tijdstip, kaarten))


def ping(v: Verzoek, req: Any) -> Any:
    return F.PingResponse(systeem=v.deps.settings.systeem, hub=v.deps.settings.federatie_hub)


FEDERATIE.registreer_muterend("MeldingDoorgeven", F.MeldingDoorgeven, F.MeldingDoorgevenResponse, melding_doorgeven)
FEDERATIE.registreer_muterend("MeldingIntrekken", F.MeldingIntrekken, F.MeldingIntrekkenResponse, melding_intrekken)
FEDERATIE.registreer_muterend(
    "JongereAankondigen", F.JongereAankondigen, F.JongereAankondigenResponse, jongere_aankondigen
)
FEDERATIE.registreer_muterend("RegieDoorgeven", F.RegieDoorgeven, F.RegieDoorgevenResponse, regie_doorgeven)
FEDERATIE.registreer_muterend(
    "GezinsmatchDoorgeven", F.GezinsmatchDoorgeven, F.GezinsmatchDoorgevenResponse, gezinsmatch_doorgeven
)
FEDERATIE.registreer("Ping", F.Ping, F.PingResponse, ping)
FEDERATIE.registreer_muterend(
    "CheckpointGetuigen", F.CheckpointGetuigen, F.CheckpointGetuigenResponse, checkpoint_getuigen
)


class Federatie(ServiceBase):
    """The operations of wsdl/federatie.wsdl."""

    @rpc(F.MeldingDoorgeven, _returns=F.MeldingDoorgevenResponse, _body_style="bare")
    def MeldingDoorgeven(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "MeldingDoorgeven", req)

    @rpc(F.MeldingIntrekken, _returns=F.MeldingIntrekkenResponse, _body_style="bare")
    def MeldingIntrekken(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "MeldingIntrekken", req)

    @rpc(F.JongereAankondigen, _returns=F.JongereAankondigenResponse, _body_style="bare")
    def JongereAankondigen(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "JongereAankondigen", req)

    @rpc(F.RegieDoorgeven, _returns=F.RegieDoorgevenResponse, _body_style="bare")
    def RegieDoorgeven(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "RegieDoorgeven", req)

    @rpc(F.GezinsmatchDoorgeven, _returns=F.GezinsmatchDoorgevenResponse, _body_style="bare")
    def GezinsmatchDoorgeven(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "GezinsmatchDoorgeven", req)

    @rpc(F.Ping, _returns=F.PingResponse, _body_style="bare")
    def Ping(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "Ping", req)

    @rpc(F.CheckpointGetuigen, _returns=F.CheckpointGetuigenResponse, _body_style="bare")
    def CheckpointGetuigen(ctx, req):
        try:
            return FEDERATIE.uitvoeren(ctx, "CheckpointGetuigen", req)
        except VirFault as fault:
            na_afwijzing(ctx.app.vir, fault.error)  # a split view is recorded even though it is refused
            raise
