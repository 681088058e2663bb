"""Having our log witnessed (docs/getuigen.md): the worker sends our newest signed checkpoint to every active
peer whose checkpoint certificate is registered, with a consistency proof from the newest of ours that peer
cosigned, every ``VIR_GETUIGEN_SECONDEN``. A peer that knows another size says so (``bekendeGrootte``,
like tlog-witness's 409); we ask once more with a proof from there. A cosignature is kept only after it
verified with the peer's checkpoint certificate and states our checkpoint's size and root; it is stored
with the exchange's log entries in one transaction."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from federation.client import DeliveryError, PeerClient
from gateway.config import Settings
from gateway.log import bewijs
from gateway.log.checkpoint import CheckpointError
from gateway.log.getuige import verifieer_cosignatuur
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from store.db import Database
from store.getuigen import Getuigen
from store.repository import Repository

log = logging.getLogger(__name__)

_OP = "federatie:CheckpointGetuigen"


@dataclass(frozen=True)
class Getuige:
    systeem: str
    url: str
    oin: str
    certificaat: bytes
    vanaf: int  # the size of our newest checkpoint it cosigned (0: none)


@dataclass(frozen=True)
class Eigen:
    grootte: int
    wortel: bytes
    xml: bytes


class Getuigenis:
    def __init__(
        self, settings: Settings, db: Database, logboek: Logboek, client: Callable[[str, str], PeerClient]
    ) -> None:
        self.settings = settings
        self.db = db
        self.logboek = logboek
        self.client = client

    def te_vragen(self) -> tuple[Eigen | None, list[Getuige]]:
        """Our newest checkpoint and the peers that have not cosigned it yet."""
        with self.db.transaction(write=False) as s:
            getuigen = Getuigen(s)
            cp = getuigen.laatste_checkpoint()
            if cp is None:
                return None, []
            wie = [
                Getuige(p.systeem, p.url, p.oin, p.checkpoint_certificaat.encode(), vanaf)
                for p in Repository(s).peers()
                if p.actief
                and p.checkpoint_certificaat
                and (vanaf := getuigen.laatst_gecosigneerd_door(p.systeem)) < cp.grootte
            ]
            return Eigen(cp.grootte, cp.wortel, cp.xml), wie

    def run_once(self, pool: ThreadPoolExecutor) -> int:
        """Ask every peer that has not cosigned our newest checkpoint; returns how many cosigned it now."""
        eigen, wie = self.te_vragen()
        if eigen is None:
            return 0
        return sum(pool.map(lambda g: self.vraag(eigen, g), wie))

    def _bewijs(self, vanaf: int, grootte: int) -> list[bytes]:
        if vanaf == 0 or vanaf >= grootte:
            return []
        with self.db.transaction(write=False) as s:
            return bewijs.consistency(s, vanaf, grootte)

    def vraag(self, eigen: Eigen, getuige: Getuige) -> bool:
        """One peer: ask, once more from the size it names, and keep a cosignature that verifies."""
        vanaf = getuige.vanaf
        for _ in range(2):
            bericht_id = str(uuid.uuid4())
            client = self.client(getuige.url, getuige.oin)
            try:
                antwoord = client.checkpoint_getuigen(eigen.xml, vanaf, self._bewijs(vanaf, eigen.grootte), bericht_id)
            except DeliveryError as exc:
                if "VIR-CHECKPOINT-GESPLITST" in str(exc):
                    log.error("peer %s reports a split view of our log at %d", getuige.systeem, eigen.grootte)
                else:
                    log.warning("peer %s did not cosign checkpoint %d (%s)", getuige.systeem, eigen.grootte, exc)
                return False
            if antwoord.getuigd:
                return self._bewaar(eigen, getuige, antwoord.cosignatuur or b"", client, bericht_id)
            bekend = antwoord.bekendeGrootte
            if bekend is None or bekend == vanaf or bekend > eigen.grootte:
                log.warning(
                    "peer %s knows our checkpoint %s and cannot be given a proof to %d",
                    getuige.systeem,
                    bekend,
                    eigen.grootte,
                )
                return False
            vanaf = bekend
        return False

    def _bewaar(self, eigen: Eigen, getuige: Getuige, xml: bytes, client: PeerClient, bericht_id: str) -> bool:
        try:
            cos = verifieer_cosignatuur(xml, getuige.certificaat)
        except CheckpointError:
            log.warning("peer %s returned a cosignature that does not verify", getuige.systeem)
            return False
        if (cos.uitgever, cos.grootte, cos.wortel) != (self.settings.gateway_oin, eigen.grootte, eigen.wortel):
            log.warning("peer %s cosigned another checkpoint than ours of %d", getuige.systeem, eigen.grootte)
            return False
        verzoek, antwoord = client.enveloppen()
        t = self.logboek.nu()
        actor = f"systeem:{getuige.systeem}"
        with self.db.transaction() as s:
            if not Getuigen(s).bewaar_cosignatuur(getuige.systeem, eigen.grootte, xml, t):
                return True  # another worker kept it (and logged its exchange) first
            self.logboek.schrijf(
                s,
                [
                    Logregel(t, "uitgaand", _OP, actor, verzoek, bericht_id=bericht_id),
                    Logregel(t, "inkomend", _OP, actor, antwoord, kruisverwijzing=bericht_id),
                ],
            )
        return True
