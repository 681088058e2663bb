"""Care coordination of a match (RegievoerderVastleggen, AfstemmingVastleggen): who coordinates, and when
the parties last had contact."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from gateway.domain import matching
from gateway.domain.model import MatchBeeld
from gateway.domain.soorten import MatchSoort, MatchStatus, MeldingStatus, SignaalSoort
from gateway.errors import RuleError
from gateway.index.uitwisseling import Uitwisseling
from store import models as m
from store.register import Profiel


class Regie(Uitwisseling):
    def regievoerder(self, zender: Profiel, match_id: str, oin: str) -> MatchBeeld:
        """The party ``oin`` coordinates the care of the match; refusals name ``matchId`` or
        ``regievoerder``."""
        match, eigen = self._eigen_match(zender, match_id)
        partijen = [a for a in self._partijen_van(match) if a.status == MeldingStatus.ACTIEF]
        instanties = self.repo.instanties_by_id(a.instantie_id for a in partijen)
        kandidaat = next((a for a in partijen if instanties[a.instantie_id].oin == oin and not a.afgeschermd), None)
        # Another system's party: its own system keeps its profile, as it does for its own partners' choices.
        if kandidaat is None or not (
            instanties[kandidaat.instantie_id].mag_regievoeren or instanties[kandidaat.instantie_id].systeem
        ):
            raise RuleError(code="VIR-REGIEVOERDER-NIET-TOEGESTAAN", veld="regievoerder")
        if match.regievoerder_id != kandidaat.instantie_id:
            match.regievoerder_id = kandidaat.instantie_id
            match.regie_tijdstip, match.regie_systeem = self.nu, self.outbox.systeem if self.outbox else None
            self.repo.flush()
            self._tel(kandidaat.instantie_id, "regie", jongere_id=match.jongere_id)
            self._regie_gewijzigd(match, zender.id)
            self._regie_doorgeven(match)
        return self._beeld(match, eigen, self.repo.actieve_meldingen(match.jongere_id), instanties)

    def afstemming(self, zender: Profiel, match_id: str, datum: date) -> MatchBeeld:
        """The parties had contact on ``datum``; refusals name ``matchId`` or ``datum``."""
        match, eigen = self._eigen_match(zender, match_id)
        if datum > self.vandaag or datum < match.ontstaan.date():
            raise RuleError(code="VIR-AFSTEMMING-DATUM-ONGELDIG", veld="datum")
        # The first contact recorded on the match carries the days since the match arose (the median is
        # management information); later ones are counted only.
        eerste = self.repo.laatste_afstemming(match.id) is None
        self.repo.insert(m.Afstemming(match_id=match.id, instantie_id=zender.id, datum=datum, vastgelegd=self.nu))
        dagen = (datum - match.ontstaan.date()).days if eerste else None
        self._tel(zender.id, "afstemmingen", jongere_id=match.jongere_id, waarde=dagen)
        self._regie_doorgeven(match)
        actieve = self.repo.actieve_meldingen(match.jongere_id)
        return self._beeld(match, eigen, actieve, self.repo.instanties_by_id(a.instantie_id for a in actieve))

    def regie_ontvangen(self, afzender: str, pseudoniem: str, staat: dict[str, Any]) -> bool:
        """Another system chose a coordinator or recorded a contact on the match on this youth: merged
        (``Uitwisseling._regie_samenvoegen``); our parties learn a new coordinator; a hub passes a change on to the
        other systems. Whether it changed anything here."""
        jongere_id = self.repo.federatie().jongere_met_pseudoniem(pseudoniem)
        if jongere_id is None:
            return False
        self.repo.lock_jongere_by_id(jongere_id)
        return self._regie_toepassen(jongere_id, staat, afzender)

    def _regie_toepassen(self, jongere_id: int, staat: dict[str, Any], afzender: str) -> bool:
        match = self.repo.actieve_match(jongere_id)
        if match is None:
            return False
        anders, regievoerder_anders = self._regie_samenvoegen(match, staat)
        if regievoerder_anders:
            self._regie_gewijzigd(match, -1)
        if anders and self.outbox is not None and self.outbox.hub:
            self._regie_doorgeven(match, behalve=afzender)
        return anders

    def _eigen_match(self, zender: Profiel, match_id: str) -> tuple[m.Match, m.Melding]:
        """An active match on which the caller has an active melding (and so may see it)."""
        match = self.repo.match(match_id)
        eigen = None
        if match is not None and match.status == MatchStatus.ACTIEF:
            self.repo.lock_jongere_by_id(match.jongere_id)
            eigen = next(
                (a for a in self.repo.actieve_meldingen(match.jongere_id) if a.instantie_id == zender.id), None
            )
        if match is None or eigen is None:
            raise RuleError(code="VIR-MATCH-ONBEKEND", veld="matchId")
        return match, eigen

    def _partijen_van(self, match: m.Match) -> list[m.Melding]:
        if match.soort == MatchSoort.GEZINSMATCH:
            ids = json.loads(match.leden or "{}")
            return self._meldingen([*ids.get("leden", []), *ids.get("kijkers", [])])
        return list(self.repo.actieve_meldingen(match.jongere_id))

    def _regie_gewijzigd(self, match: m.Match, door: int) -> None:
        """The other parties of the match learn who coordinates (gewijzigdeMatch)."""
        actieve = list(self.repo.actieve_meldingen(match.jongere_id))
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        if match.soort == MatchSoort.GEZINSMATCH:
            for a in actieve:
                if a.instantie_id != door and instanties[a.instantie_id].systeem is None:
                    beeld = self._gezinsbeeld(match, a, None)
                    if beeld.partijen:
                        self._signaal(a.instantie_id, SignaalSoort.GEWIJZIGDE_MATCH, a.melding_id, beeld.to_json())
            return
        self._signaleer(
            matching.bij_wijziging({a.instantie_id for a in actieve}, door), match, actieve, actieve[0], instanties
        )
