"""The Federatie service: receiving other systems' meldingen (``receive``). Validated against the
committed federatie XSD like every chain-partner message, logged in the same transaction, idempotent on
(system, meldingId, version)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from spyne import ServiceBase, rpc
from sqlalchemy import select

from federation import models as F
from gateway import models as M
from gateway.domain.model import Contactkaart, Meldingsbevoegde
from gateway.errors import RuleError
from gateway.index import Verwijsindex
from gateway.service import Deps, regels_voor, run_operation, stuurgegevens_antwoord
from store.models import Peer
from store.repository import Repository

log = logging.getLogger(__name__)


def _kaart(k: Any) -> Contactkaart:
    mb = k.meldingsbevoegde
    return Contactkaart(
        k.instantie.oin,
        k.instantie.naam,
        k.instantie.vestiging,
        Meldingsbevoegde(mb.naam, mb.functie, mb.telefoon, mb.email),
        k.bronsysteem,
    )


def _m_kaart(k: Contactkaart) -> Any:
    mb = k.meldingsbevoegde
    return M.Contactkaart(
        instantie=M.Instantie(oin=k.oin, naam=k.naam, vestiging=k.vestiging),
        meldingsbevoegde=M.Meldingsbevoegde(naam=mb.naam, functie=mb.functie, telefoon=mb.telefoon, email=mb.email),
        bronsysteem=k.bronsysteem,
    )


def inhoud_van(req: Any) -> dict[str, Any]:
    """The received melding as the outbox keeps it (for a hub's re-forwarding)."""
    from gateway.index import kaart_json

    return {
        "jongere": req.jongere,
        "contactkaart": kaart_json(_kaart(req.contactkaart)),
        "geplandeEinddatum": req.geplandeEinddatum.isoformat(),
    }


def _uitvoeren(deps: Deps, op: str, req: Any, ri: Any) -> Any:
    sg = req.stuurgegevens
    if sg.ontvanger.oin != deps.settings.gateway_oin:
        raise RuleError(code="VIR-ONTVANGER-ONJUIST", xpath=f"/fed:{op}/fed:stuurgegevens/g:ontvanger/g:oin")
    nu = deps.clock()
    with deps.db.transaction() as session:
        peer = session.execute(
            select(Peer).where(Peer.systeem == req.afzender, Peer.actief.is_(True))
        ).scalar_one_or_none()
        if peer is None:
            raise RuleError(code="VIR-SYSTEEM-ONBEKEND", xpath=f"/fed:{op}/fed:afzender")
        ix = Verwijsindex(Repository(session), deps.regels, nu, deps.uitgaand(session, nu))
        bron = (
            {"systeem": req.bron.systeem, "meldingId": req.bron.meldingId, "versie": req.bron.versie}
            if op != "Ping"
            else None
        )
        if op == "MeldingDoorgeven":
            assert bron is not None
            einddatum: date = req.geplandeEinddatum
            verwerkt, lokaal = ix.ontvangen(
                req.afzender, bron, req.jongere, _kaart(req.contactkaart), einddatum, inhoud_van(req)
            )
            antwoord = F.MeldingDoorgevenResponse(verwerkt=verwerkt, lokaleMatch=[_m_kaart(k) for k in lokaal])
        elif op == "MeldingIntrekken":
            assert bron is not None
            antwoord = F.MeldingIntrekkenResponse(verwerkt=ix.ingetrokken(req.afzender, bron))
        else:
            antwoord = F.PingResponse(systeem=deps.settings.systeem)
        antwoord.stuurgegevens = stuurgegevens_antwoord(deps, req, nu)
        response_cls = getattr(F, f"{op}Response")
        deps.logboek.schrijf(
            session, regels_voor(deps, ri, f"federatie:{op}", f"systeem:{req.afzender}", sg, antwoord, [], response_cls)
        )
        return antwoord


def uitvoeren(ctx: Any, op: str, req: Any) -> Any:
    return run_operation(ctx, op, req, _uitvoeren)


class Federatie(ServiceBase):
    """The operations of wsdl/federatie.wsdl."""

    @rpc(F.MeldingDoorgeven, _returns=F.MeldingDoorgevenResponse, _body_style="bare")
    def MeldingDoorgeven(ctx, req):
        return uitvoeren(ctx, "MeldingDoorgeven", req)

    @rpc(F.MeldingIntrekken, _returns=F.MeldingIntrekkenResponse, _body_style="bare")
    def MeldingIntrekken(ctx, req):
        return uitvoeren(ctx, "MeldingIntrekken", req)

    @rpc(F.Ping, _returns=F.PingResponse, _body_style="bare")
    def Ping(ctx, req):
        return uitvoeren(ctx, "Ping", req)
