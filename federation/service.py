"""The Federatie service (``wsdl/federatie.wsdl``): receiving other systems' meldingen, on the same request
pipeline as the chain-partner service (``gateway.pipeline``): validated against the committed XSD, one
transaction, the answer logged as it is sent. Receipt is idempotent on (system, meldingId, version), so
the service claims no berichtId."""

from __future__ import annotations

from typing import Any

from spyne import ServiceBase, rpc

from federation import berichten as F
from gateway.errors import RuleError
from gateway.pipeline import Afzender, Dienst, Verzoek
from gateway.vertaling import kaart_naar_bericht, kaart_uit_bericht
from store.repository import Repository


def _afzender(repo: Repository, op: str, req: Any) -> Afzender:
    """A peer is a registered, active verwijsindex system."""
    peer = repo.actieve_peer(req.afzender)
    if peer is None:
        raise RuleError(code="VIR-SYSTEEM-ONBEKEND", xpath=f"/fed:{op}/fed:afzender")
    return Afzender(f"systeem:{req.afzender}", peer)


FEDERATIE = Dienst(prefix="fed", logprefix="federatie:", authenticeer=_afzender, claimt=False)


def _bron(req: Any) -> dict[str, Any]:
    return {"systeem": req.bron.systeem, "meldingId": req.bron.meldingId, "versie": req.bron.versie}


def inhoud_van(req: Any) -> dict[str, Any]:
    """The received melding as the outbox keeps it (for a hub's re-forwarding)."""
    return {
        "jongere": req.jongere,
        "contactkaart": kaart_uit_bericht(req.contactkaart).naar_json(),
        "geplandeEinddatum": req.geplandeEinddatum.isoformat(),
    }


def melding_doorgeven(v: Verzoek, req: Any) -> Any:
    verwerkt, lokaal = v.index.ontvangen(
        req.afzender,
        _bron(req),
        req.jongere,
        kaart_uit_bericht(req.contactkaart),
        req.geplandeEinddatum,
        inhoud_van(req),
    )
    return F.MeldingDoorgevenResponse(verwerkt=verwerkt, lokaleMatch=[kaart_naar_bericht(k) for k in lokaal])


def melding_intrekken(v: Verzoek, req: Any) -> Any:
    return F.MeldingIntrekkenResponse(verwerkt=v.index.ingetrokken(req.afzender, _bron(req)))


def ping(v: Verzoek, req: Any) -> Any:
    return F.PingResponse(systeem=v.deps.settings.systeem)


FEDERATIE.registreer_muterend("MeldingDoorgeven", F.MeldingDoorgeven, F.MeldingDoorgevenResponse, melding_doorgeven)
FEDERATIE.registreer_muterend("MeldingIntrekken", F.MeldingIntrekken, F.MeldingIntrekkenResponse, melding_intrekken)
FEDERATIE.registreer("Ping", F.Ping, F.PingResponse, ping)


class Federatie(ServiceBase):
    """The operations of wsdl/federatie.wsdl."""

    @rpc(F.MeldingDoorgeven, _returns=F.MeldingDoorgevenResponse, _body_style="bare")
    def MeldingDoorgeven(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "MeldingDoorgeven", req)

    @rpc(F.MeldingIntrekken, _returns=F.MeldingIntrekkenResponse, _body_style="bare")
    def MeldingIntrekken(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "MeldingIntrekken", req)

    @rpc(F.Ping, _returns=F.PingResponse, _body_style="bare")
    def Ping(ctx, req):
        return FEDERATIE.uitvoeren(ctx, "Ping", req)
