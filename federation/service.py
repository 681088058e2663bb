"""The Federatie service (``wsdl/federatie.wsdl``): receiving other systems' meldingen, on the same request
pipeline as the chain-partner service (``gateway.pipeline``): validated against the committed XSD, one
transaction, the answer logged as it is sent. Receipt is idempotent on (system, meldingId, version), so
the service claims no berichtId."""

from __future__ import annotations

from typing import Any

from spyne import ServiceBase, rpc

from federation import berichten as F
from federation.getuige_dienst import checkpoint_getuigen, na_afwijzing
from federation.toegang import authenticeer_peer
from gateway.errors import RuleError
from gateway.pipeline import Dienst, Verzoek
from gateway.protocol import VirFault
from gateway.vertaling import kaart_naar_bericht, kaart_uit_bericht
from store.repository import ACTIEF, Repository

FEDERATIE = Dienst(prefix="fed", logprefix="federatie:", authenticeer=authenticeer_peer, claimt=False)


def _bron(req: Any) -> dict[str, Any]:
    return {"systeem": req.bron.systeem, "meldingId": req.bron.meldingId, "versie": req.bron.versie}


def inhoud_van(req: Any) -> dict[str, Any]:
    """The received melding as the outbox keeps it (for a hub's re-forwarding)."""
    return {
        "jongere": req.jongere,
        "contactkaart": kaart_uit_bericht(req.contactkaart).naar_json(),
        "geplandeEinddatum": req.geplandeEinddatum.isoformat(),
    }


def _bron_van_afzender(v: Verzoek, req: Any, op: str) -> None:
    """A peer speaks for its own meldingen. Only a relay (the national hub) passes on meldingen of other systems,
    and only of systems this node is not coupled with itself: never ours, never another peer's."""
    systeem = req.bron.systeem
    if systeem == v.zender.systeem:
        return
    if systeem == v.deps.settings.systeem or systeem in {p.systeem for p in v.repo.peers()}:
        raise RuleError(code="VIR-BRON-ONJUIST", xpath=f"/fed:{op}/fed:bron/fed:systeem")


def _wordt_verwerkt(repo: Repository, bron: dict[str, Any]) -> bool:
    """Whether receipt would process this version (as ``Verwijsindex.ontvangen`` decides): not when this or a
    newer version, or a withdrawal, is known already."""
    bestaand = repo.federatie().melding_van_bron(bron["systeem"], bron["meldingId"])
    if bestaand is not None:
        return bestaand.status == ACTIEF and bestaand.versie < bron["versie"]
    return (repo.federatie().intrekking(bron["systeem"], bron["meldingId"]) or -1) < bron["versie"]


def melding_doorgeven(v: Verzoek, req: Any) -> Any:
    """An answer names local parties only for a message that was accepted: a stale or repeated version (which
    anyone holding a used meldingId could send with any youth) touches nothing and reveals nothing."""
    _bron_van_afzender(v, req, "MeldingDoorgeven")
    if v.repo.is_lokale_instantie(req.contactkaart.instantie.oin):
        # Another system's party is (system, OIN): a card with one of our OINs would speak for our instantie.
        raise RuleError(code="VIR-KAART-OIN-LOKAAL", xpath="/fed:MeldingDoorgeven/fed:contactkaart/g:instantie/g:oin")
    if not _wordt_verwerkt(v.repo, _bron(req)):
        return F.MeldingDoorgevenResponse(verwerkt=False, lokaleMatch=[])
    verwerkt, lokaal = v.index.ontvangen(
        req.afzender,
        _bron(req),
        req.jongere,
        kaart_uit_bericht(req.contactkaart),
        req.geplandeEinddatum,
        inhoud_van(req),
    )
    if not verwerkt:  # a concurrent delivery of the same version came first
        lokaal = ()
    return F.MeldingDoorgevenResponse(verwerkt=verwerkt, lokaleMatch=[kaart_naar_bericht(k) for k in lokaal])


def melding_intrekken(v: Verzoek, req: Any) -> Any:
    _bron_van_afzender(v, req, "MeldingIntrekken")
    return F.MeldingIntrekkenResponse(verwerkt=v.index.ingetrokken(req.afzender, _bron(req)))


def ping(v: Verzoek, req: Any) -> Any:
    return F.PingResponse(systeem=v.deps.settings.systeem)


FEDERATIE.registreer_muterend("MeldingDoorgeven", F.MeldingDoorgeven, F.MeldingDoorgevenResponse, melding_doorgeven)
FEDERATIE.registreer_muterend("MeldingIntrekken", F.MeldingIntrekken, F.MeldingIntrekkenResponse, melding_intrekken)
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
