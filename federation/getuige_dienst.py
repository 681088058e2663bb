"""``CheckpointGetuigen`` on the Federatie service: this node as a witness of a peer's log (docs/getuigen.md).

Who may call: a registered, active peer, as itself (``federation.toegang``, like every federation message).
Then, in the request's transaction:

    no checkpoint certificate registered for the peer    → VIR-CHECKPOINT-SLEUTEL-ONBEKEND
    signature does not verify with it, or the uitgever
      is not the peer's OIN                              → VIR-CHECKPOINT-ONGELDIG
    same size as one we cosigned, other root; or no
      consistency from the newest we cosigned            → VIR-CHECKPOINT-GESPLITST (a split view)
    older than the newest we cosigned, or a proof from
      another size                                       → getuigd=false, bekendeGrootte (prove from there)
    otherwise                                            → cosigned: stored with the checkpoint, returned

A split view is refused like every fault (the request changes nothing), and then recorded in a transaction
of its own: a row with both checkpoints (``gesplitst_zicht``), an entry in the signed log, and an error line
in the process log. ``vir-gateway log getuigen`` shows it to the operator.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from federation import berichten as F
from gateway.errors import GatewayError, RuleError
from gateway.log import checkpoint, getuige
from gateway.log.getuige import Bekend, Uitkomst
from gateway.log.regel import Logregel
from gateway.pipeline import Deps, Verzoek
from store.db import DatabaseUnavailable
from store.getuigen import Getuigen

log = logging.getLogger(__name__)

_OP = "CheckpointGetuigen"


def _xpath(veld: str) -> str:
    return f"/fed:{_OP}/fed:{veld}"


@dataclass(frozen=True)
class Gesplitst:
    """The evidence of a split view: the checkpoint we cosigned and the one that contradicts it."""

    peer: str
    reden: str
    bekend: tuple[int, bytes]
    nieuw: tuple[int, bytes]


class GesplitstZicht(RuleError):
    code = "VIR-CHECKPOINT-GESPLITST"

    def __init__(self, bewijs: Gesplitst) -> None:
        super().__init__(bewijs.reden, xpath=_xpath("checkpoint"))
        self.bewijs = bewijs


def checkpoint_getuigen(v: Verzoek, req: Any) -> Any:
    peer = v.zender
    if not peer.checkpoint_certificaat:
        raise RuleError(code="VIR-CHECKPOINT-SLEUTEL-ONBEKEND", xpath=_xpath("afzender"))
    xml = base64.b64decode(req.checkpoint)
    try:
        data = checkpoint.verify(xml, peer.checkpoint_certificaat.encode())
    except checkpoint.CheckpointError as exc:
        raise RuleError(code="VIR-CHECKPOINT-ONGELDIG", xpath=_xpath("checkpoint")) from exc
    if data.uitgever != peer.oin:
        raise RuleError(
            "Het checkpoint is van een ander systeem.",
            detail_en="The checkpoint is another system's.",
            code="VIR-CHECKPOINT-ONGELDIG",
            xpath=_xpath("checkpoint"),
        )
    getuigen = Getuigen(v.repo.s)
    laatst = getuigen.laatst_getuigd(peer.systeem)
    zelfde = getuigen.getuigd_van_grootte(peer.systeem, data.grootte)
    bewijs = [base64.b64decode(h) for h in req.consistentiebewijs or []]
    oordeel = getuige.beoordeel(
        Bekend(laatst.grootte, laatst.wortel) if laatst else None,
        Bekend(zelfde.grootte, zelfde.wortel) if zelfde else None,
        data,
        req.vorigeGrootte,
        bewijs,
    )
    if oordeel.uitkomst is Uitkomst.GESPLITST:
        bekend = zelfde or laatst
        assert bekend is not None
        raise GesplitstZicht(
            Gesplitst(peer.systeem, oordeel.reden, (bekend.grootte, bekend.checkpoint), (data.grootte, xml))
        )
    if oordeel.uitkomst is Uitkomst.AL_GETUIGD:
        assert zelfde is not None
        return F.CheckpointGetuigenResponse(getuigd=True, cosignatuur=base64.b64encode(zelfde.cosignatuur).decode())
    if oordeel.uitkomst is Uitkomst.ANDERE_BASIS:
        assert laatst is not None
        return F.CheckpointGetuigenResponse(getuigd=False, bekendeGrootte=laatst.grootte)
    nu = v.deps.logboek.nu()
    cosignatuur = getuige.cosigneer(v.deps.logboek.signer, data, v.deps.settings.gateway_oin, nu)
    getuigen.bewaar_getuigd(peer.systeem, data.grootte, data.wortel, xml, cosignatuur, nu)
    return F.CheckpointGetuigenResponse(getuigd=True, cosignatuur=base64.b64encode(cosignatuur).decode())


def na_afwijzing(deps: Deps, error: GatewayError) -> None:
    """After a refused request rolled back: a split view is recorded with its evidence and logged (its own
    transaction), and the operator is told on the process log."""
    if not isinstance(error, GesplitstZicht):
        return
    b = error.bewijs
    log.error(
        "split view: peer %s presented checkpoint %d inconsistent with checkpoint %d we cosigned (%s)",
        b.peer,
        b.nieuw[0],
        b.bekend[0],
        b.reden,
    )
    payload = json.dumps(
        {
            "peer": b.peer,
            "reden": b.reden,
            "bekend": {"grootte": b.bekend[0], "checkpoint": base64.b64encode(b.bekend[1]).decode()},
            "nieuw": {"grootte": b.nieuw[0], "checkpoint": base64.b64encode(b.nieuw[1]).decode()},
        },
        sort_keys=True,
    ).encode()
    t = deps.logboek.nu()
    try:
        with deps.db.transaction() as s:
            bewijzen = deps.logboek.schrijf(
                s,
                [
                    Logregel(
                        t,
                        "fout",
                        "federatie:gesplitst zicht",
                        f"systeem:{b.peer}",
                        payload,
                        foutcode=error.code,
                    )
                ],
            )
            volgnummer = bewijzen[0].volgnummer if bewijzen[0].volgnummer >= 0 else None
            Getuigen(s).gesplitst_vastleggen(b.peer, t, b.reden, b.bekend, b.nieuw, volgnummer)
    except DatabaseUnavailable:
        log.error("could not record the split view of peer %s", b.peer)
