"""Meldingen of other verwijsindex systems (the federation service): announced, received, renewed, withdrawn.

Need-to-know: a node that is no hub stores another system's melding only while it has an active melding of its
own on the same youth, which it finds by the youth's pseudonym; otherwise the message is answered "not
processed" and nothing is stored. The hub (the national index) stores every one. Receipt is idempotent on
(system, meldingId, version); an older version never overwrites a newer one, and a tombstone keeps a withdrawn
melding out. What is sent on afterwards is ``Uitwisseling``'s.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.domain import matching
from gateway.domain.model import Contactkaart
from gateway.domain.soorten import MeldingStatus
from gateway.index.kern import kaart
from gateway.index.regie import Regie
from gateway.index.wijzigen import Wijzigen
from store import models as m


class Ontvangst(Wijzigen, Regie):
    def _jongere_voor(self, pseudoniem: str) -> int | None:
        """The youth a received melding is about, locked, if this node may store it: one with an active melding
        of ours (a hub: any youth, created when new). None: not here."""
        assert self.outbox is not None
        federatie = self.repo.federatie()
        jongere_id = federatie.jongere_met_pseudoniem(pseudoniem)
        if jongere_id is None:
            if not self.outbox.hub:
                return None
            jongere_id = self.repo.lock_jongere(pseudoniem, None)
            federatie.zet_pseudoniem(jongere_id, pseudoniem)
            return jongere_id
        self.repo.lock_jongere_by_id(jongere_id)
        if not self.outbox.hub and federatie.aantal_actief(jongere_id, None) == 0:
            return None
        return jongere_id

    def aangekondigd(self, afzender: str, pseudoniem: str) -> bool:
        """A peer announced a melding on the youth with this pseudonym: when we hold one, ours go to it (and it
        answers with its own). Whether we hold one."""
        jongere_id = self.repo.federatie().jongere_met_pseudoniem(pseudoniem)
        if jongere_id is None:
            return False
        self.repo.lock_jongere_by_id(jongere_id)
        return self._uitwisselen(jongere_id, afzender, behalve=afzender) > 0

    def ontvangen(
        self,
        afzender: str,
        bron: dict[str, Any],
        sleutel: str,
        contactkaart: Contactkaart,
        einddatum: date,
        regie: dict[str, Any] | None = None,
    ) -> tuple[bool, tuple[Contactkaart, ...]]:
        """Another system's melding (new or a newer version), with the coordination of its youth's match at the
        sender (``regie``). Returns (processed, our matching parties)."""
        assert self.outbox is not None and self.outbox.pseudoniem is not None
        federatie = self.repo.federatie()
        bestaand = federatie.melding_van_bron(bron["systeem"], bron["meldingId"])
        if bestaand is not None:
            jongere_id = bestaand.jongere_id
            self.repo.lock_jongere_by_id(jongere_id)
        else:
            if (federatie.intrekking(bron["systeem"], bron["meldingId"]) or -1) >= bron["versie"]:
                return False, ()  # withdrawn before it arrived
            gevonden = self._jongere_voor(self.outbox.pseudoniem(sleutel))
            if gevonden is None:
                return False, ()  # need-to-know: nothing of ours on this youth
            jongere_id = gevonden
        # Again under the youth's lock: a concurrent delivery of the same melding (or its withdrawal) may have
        # come first.
        bestaand = federatie.melding_van_bron(bron["systeem"], bron["meldingId"])
        if bestaand is not None and (bestaand.versie >= bron["versie"] or bestaand.status != MeldingStatus.ACTIEF):
            return False, ()
        if bestaand is None and (
            (federatie.intrekking(bron["systeem"], bron["meldingId"]) or -1) >= bron["versie"]
            or (not self.outbox.hub and federatie.aantal_actief(jongere_id, None) == 0)
        ):
            return False, ()
        instantie = federatie.externe_instantie(
            contactkaart.oin, bron["systeem"], contactkaart.naam, contactkaart.vestiging, self.nu
        )
        bronsysteem = f"{bron['systeem']}/{contactkaart.bronsysteem}"[:80]
        if bestaand is not None:
            self._vernieuwd(bestaand, instantie, contactkaart, bronsysteem, bron["versie"], einddatum)
            melding = bestaand
        else:
            actieve = list(self.repo.actieve_meldingen(jongere_id))
            for dubbel in [a for a in actieve if a.instantie_id == instantie.id]:
                # The same party re-filed in its system under a new id: the old one is gone.
                self._vertrek(dubbel)
                actieve.remove(dubbel)
                self._kopie_weg(dubbel, tombstone=True)
            melding = self._nieuwe_melding(
                instantie.id, jongere_id, contactkaart.meldingsbevoegde, einddatum, bronsysteem, bron=bron
            )
            self.repo.insert(melding)
            _, match = self._toetreden(melding, actieve, self.repo.actieve_match)
            if match is not None:
                self._schrijf_match(match)
            jongere = self.repo.jongere(jongere_id)
            assert jongere is not None
            self._gezin_na_wijziging(jongere_id, jongere.sleutel)
        if regie is not None:
            self._regie_toepassen(jongere_id, regie, afzender)
        if self.outbox.hub:
            self._verspreiden(melding)
        if bestaand is None and (self.outbox.hub or not self._is_hub(afzender)):
            # The sender holds a melding on the youth: it gets what it should hold of it (the reply that
            # completes a mesh's exchange; a hub gives the other systems' meldingen).
            self._uitwisselen(jongere_id, afzender, behalve=bron["systeem"])
        eigen = [a for a in self.repo.actieve_meldingen(jongere_id) if a.bron_systeem is None]
        instanties = self.repo.instanties_by_id(a.instantie_id for a in eigen)
        return True, tuple(kaart(a, instanties[a.instantie_id]) for a in eigen)

    def _is_hub(self, systeem: str) -> bool:
        assert self.outbox is not None
        return any(p.hub for p in self.outbox.peers() if p.systeem == systeem)

    def _vernieuwd(
        self,
        melding: m.Melding,
        instantie: m.Instantie,
        contactkaart: Contactkaart,
        bronsysteem: str,
        versie: int,
        einddatum: date,
    ) -> None:
        """A newer version of another system's active melding; our parties learn a changed contact card."""
        oud = kaart(melding, instantie)
        meldingsbevoegde = contactkaart.meldingsbevoegde
        melding.mb_naam, melding.mb_functie = meldingsbevoegde.naam, meldingsbevoegde.functie
        melding.mb_telefoon, melding.mb_email = meldingsbevoegde.telefoon, meldingsbevoegde.email
        melding.bronsysteem, melding.versie = bronsysteem, versie
        melding.geplande_einddatum, melding.gewijzigd = einddatum, self.nu
        self.repo.flush()
        match = self.repo.actieve_match(melding.jongere_id)
        if match is not None and oud != kaart(melding, instantie):
            actieve = list(self.repo.actieve_meldingen(melding.jongere_id))
            instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
            wijziging = matching.bij_wijziging({a.instantie_id for a in actieve}, instantie.id)
            self._signaleer(wijziging, match, actieve, melding, instanties)

    def ingetrokken(self, afzender: str, bron: dict[str, Any]) -> bool:
        """Another system withdrew (or ended) its melding: the copy goes, with a tombstone, and a hub passes the
        withdrawal on to the systems it sent the melding."""
        federatie = self.repo.federatie()
        bestaand = federatie.melding_van_bron(bron["systeem"], bron["meldingId"])
        if bestaand is not None:
            jongere = self.repo.lock_jongere_by_id(bestaand.jongere_id)
            bestaand = federatie.melding_van_bron(bron["systeem"], bron["meldingId"])  # again, under the lock
        if bestaand is None:
            # Unknown here (yet): remember the withdrawal so that a late, older upsert is ignored.
            federatie.onthoud_intrekking(bron["systeem"], bron["meldingId"], bron["versie"])
            return False
        if bestaand.versie >= bron["versie"] or bestaand.status != MeldingStatus.ACTIEF:
            return False
        self._vertrek(bestaand)
        if self.outbox is not None and self.outbox.hub:
            self.outbox.intrekken(bron, bestaand.melding_id)
        bestaand.versie = bron["versie"]
        self._kopie_weg(bestaand, tombstone=True)
        self._gezin_na_wijziging(jongere.id, jongere.sleutel)
        if (
            self.outbox is not None
            and bron["systeem"] == afzender
            and not self._is_hub(afzender)
            and federatie.aantal_actief(jongere.id, afzender) == 0
        ):
            # The system holds no melding on the youth any more: it no longer needs those held here.
            self.outbox.vergeet_afnemer(afzender, [a.melding_id for a in self.repo.actieve_meldingen(jongere.id)])
        return True
