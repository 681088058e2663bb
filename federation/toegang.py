"""Who may speak on the federation service: a registered, active peer, and only as itself.

A peer is another verwijsindex system registered with its system code, its gateway's OIN and the certificate
that signs its messages (``vir-gateway federatie peer add``). It is authenticated like a chain partner and
separately from them:

    identity      the client certificate's OIN (development mode: ``stuurgegevens/zender/oin``; with a
                  certificate the front half has already refused a ``zender/oin`` that differs from it)
    the OIN       an instantie's                → VIR-FEDERATIE-KETENPARTNER
                  no registered peer's          → VIR-PEER-ONBEKEND
                  only suspended peers'         → VIR-PEER-GESCHORST
    afzender      no active peer at all         → VIR-SYSTEEM-ONBEKEND
                  another peer than the caller  → VIR-AFZENDER-ONJUIST
    bron/systeem  ours, or another peer's       → VIR-BRON-ONJUIST (in the handlers, ``federation.service``: a
                  peer speaks for its own meldingen; a hub relays those of systems we are not coupled with)
    signature     verified in the front half against the peer's registered certificate, required outside
                  development mode (``VIR_FEDERATIE_WSS_VERPLICHT``; ``gateway.pipeline.Deps.wss_profiel``)

Every refusal is a fault raised before the handler runs: it reveals nothing of the store, the transaction is
rolled back, and the pipeline writes the refusal to the message log.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import RuleError
from gateway.pipeline import Afzender
from gateway.protocol import RequestInfo
from store.repository import Repository


def authenticeer_peer(repo: Repository, op: str, req: Any, info: RequestInfo) -> Afzender:
    """The peer that sent ``req``, or a ``RuleError`` with the refusal's own code."""
    oin = info.geauthenticeerd or req.stuurgegevens.zender.oin
    zender_xpath = f"/fed:{op}/fed:stuurgegevens/g:zender/g:oin"
    peers = repo.peers_met_oin(oin)
    if not peers:
        code = "VIR-FEDERATIE-KETENPARTNER" if repo.is_lokale_instantie(oin) else "VIR-PEER-ONBEKEND"
        raise RuleError(code=code, xpath=zender_xpath)
    actief = [p for p in peers if p.actief]
    if not actief:
        raise RuleError(code="VIR-PEER-GESCHORST", xpath=zender_xpath)
    for peer in actief:
        if peer.systeem == req.afzender:
            return Afzender(f"systeem:{peer.systeem}", peer)
    code = "VIR-AFZENDER-ONJUIST" if repo.actieve_peer(req.afzender) is not None else "VIR-SYSTEEM-ONBEKEND"
    raise RuleError(code=code, xpath=f"/fed:{op}/fed:afzender")
