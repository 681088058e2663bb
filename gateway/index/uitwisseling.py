"""Exchange with other verwijsindex systems on need-to-know (docs/federation.md): what this node sends, to whom,
and what it forgets.

    our melding, new or changed   → the peers that hold it already, the hub (always), and the peers with a
                                    melding on the same youth here; a new one is announced (by the youth's
                                    pseudonym only) to the other peers of a mesh
    an announcement we can answer → our meldingen on that youth to the announcer
    a new copy from a peer        → our meldingen on that youth to that peer (so both hold each other's);
                                    a hub sends the sender every other system's meldingen on the youth, and
                                    the new one to every system with a melding on the youth
    our melding ends              → withdrawn from the peers that hold it; a node that is no hub then forgets
                                    the other systems' meldingen on the youth when it has none of its own left

A node that is no hub stores another system's melding only while it has an active melding of its own on the
same youth (``Ontvangst``), so what it forgets comes back when it files again: no tombstone for that. A
withdrawn, expired or erased copy leaves a tombstone of (system, meldingId, version), and its contact card
leaves the signals and stored answers that showed it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from gateway.domain.soorten import MatchStatus, MeldingStatus
from gateway.domain.tijd import in_utc
from gateway.index.kern import Kern, kaart
from store import models as m
from store.register import Profiel


class Uitwisseling(Kern):
    def _gezin_na_wijziging(self, jongere_id: int, sleutel: str, *, zonder_gezinsmatch: bool = False) -> None:
        """The youth's family matches follow a change of its meldingen (``Gezin``). ``zonder_gezinsmatch``: the
        caller knows the youth has no family match (it had nothing in the index when it was locked)."""

    def _federeert(self) -> bool:
        return self.outbox is not None and bool(self.outbox.peers())

    # --- what crosses the border ------------------------------------------------------------------

    def _bron_van(self, melding: m.Melding, versie: int | None = None) -> dict[str, Any]:
        """(system, meldingId, version) of a melding held here: ours, or the copy's source."""
        assert self.outbox is not None
        if melding.bron_systeem is None:
            systeem, melding_id = self.outbox.systeem, melding.melding_id
        else:
            systeem, melding_id = melding.bron_systeem, melding.bron_melding_id or ""
        return {"systeem": systeem, "meldingId": melding_id, "versie": melding.versie if versie is None else versie}

    def _inhoud(self, melding: m.Melding, instantie: Profiel | m.Instantie, pseudoniem: str) -> dict[str, Any]:
        """What crosses the border of a melding: the youth's pseudonym, the contact card (another system's as
        that system made it), the planned end date, and the coordination of the youth's match if it has one.
        Never a BSN, a name of the youth, or a birth date."""
        vorm = kaart(melding, instantie)
        if melding.bron_systeem is not None:
            vorm = replace(vorm, bronsysteem=vorm.bronsysteem.removeprefix(f"{melding.bron_systeem}/"))
        inhoud = {
            "jongere": pseudoniem,
            "contactkaart": vorm.naar_json(),
            "geplandeEinddatum": melding.geplande_einddatum.isoformat(),
        }
        if (regie := self._regie_staat(melding.jongere_id)) is not None:
            inhoud["regie"] = regie
        return inhoud

    # --- coordination across systems (one coordinator per match, nationally) ---------------------------

    def _partij_van(self, instantie: Profiel | m.Instantie) -> dict[str, str]:
        assert self.outbox is not None
        return {"systeem": instantie.systeem or self.outbox.systeem, "oin": instantie.oin}

    def _regie_staat(self, jongere_id: int) -> dict[str, Any] | None:
        """The coordination of the youth's client match as this node knows it (the federation message's shape):
        the coordinator, when and in which system it was chosen, and the latest recorded contact."""
        assert self.outbox is not None
        match = self.repo.actieve_match(jongere_id)
        if match is None or match.id is None:
            return None
        staat: dict[str, Any] = {}
        if match.regievoerder_id is not None:
            regievoerder = self.repo.instanties_by_id([match.regievoerder_id])[match.regievoerder_id]
            staat["regievoerder"] = self._partij_van(regievoerder)
            staat["gekozen"] = in_utc(match.regie_tijdstip or match.ontstaan).isoformat()
            staat["gekozenDoor"] = match.regie_systeem or self.outbox.systeem
        if (laatste := self.repo.federatie().laatste_afstemming(match.id)) is not None:
            staat["laatsteAfstemming"] = {"datum": laatste[0].isoformat(), "partij": self._partij_van(laatste[1])}
        return staat or None

    def _regie_doorgeven(self, match: m.Match, behalve: str | None = None) -> None:
        """The coordination of a match changed here: to the peers that hold a melding on its youth (a hub: the
        systems with one), never back to ``behalve``."""
        if self.outbox is None or not self._federeert():
            return
        peers = {p.systeem: p for p in self.outbox.peers()}
        naar = {a.bron_systeem for a in self.repo.actieve_meldingen(match.jongere_id) if a.bron_systeem}
        if not self.outbox.hub:
            naar |= {s for s, p in peers.items() if p.hub}
        naar = (naar & peers.keys()) - {behalve}
        staat = self._regie_staat(match.jongere_id)
        if naar and staat is not None:
            inhoud = {"jongere": self._pseudoniem_van(match.jongere_id), "regie": staat}
            self.outbox.regie(match.match_id, inhoud, sorted(naar))

    def _regie_samenvoegen(self, match: m.Match, staat: dict[str, Any]) -> tuple[bool, bool]:
        """Another system's coordination of the youth's match, merged into ours: its coordinator when its choice
        is later (at the same instant: the system code that sorts last), its contact when it is later. (changed,
        coordinator changed)."""
        assert self.outbox is not None
        federatie = self.repo.federatie()
        regie_anders = afstemming_anders = False
        if (partij := staat.get("regievoerder")) is not None:
            keuze = (datetime.fromisoformat(staat["gekozen"]), str(staat["gekozenDoor"]))
            huidig = None
            if match.regievoerder_id is not None:
                huidig = (in_utc(match.regie_tijdstip or match.ontstaan), match.regie_systeem or self.outbox.systeem)
            regievoerder = federatie.partij(partij["systeem"], partij["oin"], self.outbox.systeem)
            if regievoerder is not None and (huidig is None or keuze > huidig):
                regie_anders = match.regievoerder_id != regievoerder.id
                match.regievoerder_id, (match.regie_tijdstip, match.regie_systeem) = regievoerder.id, keuze
                self.repo.flush()
        if (afstemming := staat.get("laatsteAfstemming")) is not None:
            datum = date.fromisoformat(afstemming["datum"])
            laatste = federatie.laatste_afstemming(match.id)
            wie = federatie.partij(afstemming["partij"]["systeem"], afstemming["partij"]["oin"], self.outbox.systeem)
            if wie is not None and (laatste is None or datum > laatste[0]):
                self.repo.insert(m.Afstemming(match_id=match.id, instantie_id=wie.id, datum=datum, vastgelegd=self.nu))
                self._afstemming[match.id] = datum
                afstemming_anders = True
        return regie_anders or afstemming_anders, regie_anders

    def _pseudoniem_van(self, jongere_id: int, sleutel: str | None = None) -> str:
        """The youth's pseudonym under the federation key in use, recorded on its row (peers name it so)."""
        assert self.outbox is not None and self.outbox.pseudoniem is not None
        if sleutel is None:
            jongere = self.repo.jongere(jongere_id)
            assert jongere is not None
            sleutel = jongere.sleutel
        pseudoniem = self.outbox.pseudoniem(sleutel)
        self.repo.federatie().zet_pseudoniem(jongere_id, pseudoniem)
        return pseudoniem

    def _ontvangers(self, melding: m.Melding) -> list[str]:
        """The peers that should hold this melding: those that were sent it, the hub, and the systems with a
        melding on the same youth here (never its own system)."""
        assert self.outbox is not None
        peers = {p.systeem: p for p in self.outbox.peers()}
        naar = set(self.outbox.afnemers(melding.melding_id))
        if not self.outbox.hub:
            naar |= {s for s, p in peers.items() if p.hub}
        naar |= {a.bron_systeem for a in self.repo.actieve_meldingen(melding.jongere_id) if a.bron_systeem}
        naar.discard(melding.bron_systeem or self.outbox.systeem)
        return sorted(naar & peers.keys())

    # --- sending ------------------------------------------------------------------------------------

    def _doorgeven(self, melding: m.Melding, instantie: Profiel | m.Instantie, sleutel: str) -> None:
        """Our own melding, as it is now, to the peers that should hold it; a new one is announced to the other
        peers of a mesh by its youth's pseudonym only."""
        if self.outbox is None or not self._federeert():
            return
        pseudoniem = self._pseudoniem_van(melding.jongere_id, sleutel)
        naar = self._ontvangers(melding)
        bron = self._bron_van(melding)
        self.outbox.doorgeven(bron, self._inhoud(melding, instantie, pseudoniem), naar, melding.melding_id)
        if melding.versie == 1 and not self.outbox.hub:
            rest = [p.systeem for p in self.outbox.peers() if not p.hub and p.systeem not in naar]
            if rest:
                self.outbox.aankondigen(bron, pseudoniem, rest)

    def _verspreiden(self, melding: m.Melding) -> None:
        """(A hub) another system's melding, as it is now, to the systems that should hold it."""
        assert self.outbox is not None
        instantie = self.repo.instanties_by_id([melding.instantie_id])[melding.instantie_id]
        inhoud = self._inhoud(melding, instantie, self._pseudoniem_van(melding.jongere_id))
        self.outbox.doorgeven(self._bron_van(melding), inhoud, self._ontvangers(melding), melding.melding_id)

    def _uitwisselen(self, jongere_id: int, peer: str, behalve: str) -> int:
        """The meldingen on the youth that ``peer`` should hold, to it: ours, and on a hub every system's but
        ``behalve``'s. How many."""
        assert self.outbox is not None
        hub = self.outbox.hub
        actieve = [
            a
            for a in self.repo.actieve_meldingen(jongere_id)
            if a.bron_systeem is None or (hub and a.bron_systeem != behalve)
        ]
        if not actieve or peer not in {p.systeem for p in self.outbox.peers()}:
            return 0
        pseudoniem = self._pseudoniem_van(jongere_id)
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        for a in actieve:
            inhoud = self._inhoud(a, instanties[a.instantie_id], pseudoniem)
            self.outbox.doorgeven(self._bron_van(a), inhoud, [peer], a.melding_id)
        return len(actieve)

    # --- ending and forgetting ------------------------------------------------------------------------

    def _intrekken(self, melding: m.Melding) -> None:
        """Our own melding ends: withdrawn from the peers that hold it. A node that is no hub then forgets the
        other systems' meldingen on the youth if it has no active melding of its own left there."""
        if self.outbox is None:
            return
        self.outbox.intrekken(self._bron_van(melding, melding.versie + 1), melding.melding_id)
        if self.outbox.hub or not self._federeert():
            return
        actieve = self.repo.actieve_meldingen(melding.jongere_id)
        if not any(a.bron_systeem is None and a.id != melding.id for a in actieve):
            self.kennis_vervalt(melding.jongere_id, [a for a in actieve if a.bron_systeem is not None])

    def kennis_vervalt(self, jongere_id: int, kopieen: list[m.Melding]) -> None:
        """No melding of ours is left on the youth: the other systems' copies go (without a tombstone: they
        come back when we file on the youth again), and with them the match between them."""
        for kopie in kopieen:
            self._kopie_weg(kopie, tombstone=False)
        match = self.repo.actieve_match(jongere_id)
        if match is not None:
            match.status, match.beeindigd = MatchStatus.BEEINDIGD, self.nu
            self.repo.flush()

    def _kopie_weg(self, kopie: m.Melding, *, tombstone: bool) -> None:
        """Another system's melding leaves this node: its row, its card from the signals and stored answers
        that showed it, and (withdrawn, expired, erased) a tombstone that keeps a late upsert out."""
        assert kopie.bron_systeem is not None
        if kopie.status == MeldingStatus.ACTIEF:  # the family matches it is in change first, while it is known
            kopie.status = MeldingStatus.BEEINDIGD
            self.repo.flush()
            jongere = self.repo.jongere(kopie.jongere_id)
            assert jongere is not None
            self._gezin_na_wijziging(kopie.jongere_id, jongere.sleutel)
        instantie = self.repo.instanties_by_id([kopie.instantie_id])[kopie.instantie_id]
        federatie = self.repo.federatie()
        if tombstone:
            federatie.onthoud_intrekking(kopie.bron_systeem, kopie.bron_melding_id or "", kopie.versie)
        getoond = federatie.matches_met(kopie.jongere_id, kopie.id)
        self.repo.sporen().zonder_kaart(getoond, instantie.oin, kopie.bron_systeem)
        federatie.regie_vergeten(kopie.jongere_id, instantie.id)
        self.repo.delete(kopie)
        self.repo.sporen().vergeet([kopie.melding_id])
