"""Meldingen of other verwijsindex systems (the federation service): received, renewed, withdrawn.

Receipt is idempotent on (system, meldingId, version); an older version never overwrites a newer one. A hub
passes what it processed on to its other peers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.domain import matching
from gateway.domain.model import Contactkaart
from gateway.domain.soorten import MeldingStatus
from gateway.index.kern import kaart
from gateway.index.wijzigen import Wijzigen
from store import models as m


class Ontvangst(Wijzigen):
    def ontvangen(
        self,
        afzender: str,
        bron: dict[str, Any],
        sleutel: str,
        contactkaart: Contactkaart,
        einddatum: date,
        inhoud: dict[str, Any],
    ) -> tuple[bool, tuple[Contactkaart, ...]]:
        """Another system's melding (new or a newer version). Returns (processed, our matching parties)."""
        jongere_id = self.repo.lock_jongere(sleutel, None)
        bestaand = self.repo.federatie().melding_van_bron(bron["systeem"], bron["meldingId"])
        verwerkt = bestaand is None or bestaand.versie < bron["versie"]
        if (
            bestaand is None
            and (self.repo.federatie().intrekking(bron["systeem"], bron["meldingId"]) or -1) >= bron["versie"]
        ):
            verwerkt = False  # withdrawn before it arrived
        if verwerkt:
            instantie = self.repo.federatie().externe_instantie(
                contactkaart.oin, bron["systeem"], contactkaart.naam, contactkaart.vestiging, self.nu
            )
            bronsysteem = f"{bron['systeem']}/{contactkaart.bronsysteem}"[:80]
            if bestaand is not None and bestaand.status == MeldingStatus.ACTIEF:
                self._vernieuwd(bestaand, instantie, contactkaart, bronsysteem, bron["versie"], einddatum)
            elif bestaand is None:
                actieve = list(self.repo.actieve_meldingen(jongere_id))
                for dubbel in [a for a in actieve if a.instantie_id == instantie.id]:
                    # The same organisation re-filed in its system under a new id: the old one is gone.
                    self._vertrek(dubbel)
                    dubbel.status = MeldingStatus.INGETROKKEN
                    actieve.remove(dubbel)
                melding = self._nieuwe_melding(
                    instantie.id, jongere_id, contactkaart.meldingsbevoegde, einddatum, bronsysteem, bron=bron
                )
                self.repo.insert(melding)
                _, match = self._toetreden(melding, actieve, self.repo.actieve_match)
                if match is not None:
                    self._schrijf_match(match)
                self._gezin_na_wijziging(jongere_id, sleutel)
            else:
                verwerkt = False  # withdrawn with a newer version than this one
            if verwerkt and self.outbox is not None and self.outbox.hub:
                self.outbox.doorgeven(bron, inhoud, behalve=frozenset({afzender, bron["systeem"]}))
        eigen = [a for a in self.repo.actieve_meldingen(jongere_id) if a.bron_systeem is None]
        instanties = self.repo.instanties_by_id(a.instantie_id for a in eigen)
        return verwerkt, tuple(kaart(a, instanties[a.instantie_id]) for a in eigen)

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
        """Another system withdrew (or ended) its melding."""
        bestaand = self.repo.federatie().melding_van_bron(bron["systeem"], bron["meldingId"])
        if bestaand is None:
            # Unknown here (yet): remember the withdrawal so that a late, older upsert is ignored.
            self.repo.federatie().onthoud_intrekking(bron["systeem"], bron["meldingId"], bron["versie"])
            return False
        self.repo.lock_jongere_by_id(bestaand.jongere_id)
        if bestaand.versie >= bron["versie"] or bestaand.status != MeldingStatus.ACTIEF:
            return False
        self._vertrek(bestaand)
        bestaand.status, bestaand.versie, bestaand.beeindigd = MeldingStatus.INGETROKKEN, bron["versie"], self.nu
        self.repo.flush()
        jongere = self.repo.lock_jongere_by_id(bestaand.jongere_id)
        self._gezin_na_wijziging(jongere.id, jongere.sleutel)
        # No stale copy: the row (with its contact card) goes; a tombstone without personal data keeps a late,
        # older upsert out.
        self.repo.federatie().onthoud_intrekking(bron["systeem"], bron["meldingId"], bron["versie"])
        self.repo.delete(bestaand)
        self.repo.sporen().vergeet([bestaand.melding_id])
        if self.outbox is not None and self.outbox.hub:
            self.outbox.intrekken(bron, behalve=frozenset({afzender, bron["systeem"]}))
        return True
