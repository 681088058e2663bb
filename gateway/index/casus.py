"""Automation (CasusGebeurtenis): a case event of a partner's record system, applied as its instantie's
profile says: file, hand over or end the melding, or do nothing and say why."""

from __future__ import annotations

import json
from dataclasses import dataclass

from gateway.domain.jongere import Jongere
from gateway.domain.model import Meldingsbevoegde
from gateway.domain.soorten import Reden
from gateway.errors import RuleError
from gateway.index.indienen import Afgegeven
from gateway.index.wijzigen import Wijzigen
from store import models as m
from store.register import Profiel


@dataclass(frozen=True)
class CasusResultaat:
    actie: str  # afgegeven | overgedragen | beeindigd | geen
    uitleg: str
    melding: Afgegeven | None = None


class Casus(Wijzigen):
    def casus(
        self,
        zender: Profiel,
        gebeurtenis: str,
        casustype: str,
        jongere: Jongere,
        meldingsbevoegde: Meldingsbevoegde | None,
        reden: str | None,
        bronsysteem: str,
    ) -> CasusResultaat:
        """Refusals name the field of the request (``meldingsbevoegde``, or those of ``afgeven``)."""
        if gebeurtenis in ("gestart", "overgedragen") and meldingsbevoegde is None:
            raise RuleError(code="VIR-MELDINGSBEVOEGDE-ONTBREEKT", veld="meldingsbevoegde")
        jongere_id = self.repo.bestaande_jongere(jongere.sleutel)
        eigen = None
        if jongere_id is not None:
            self.repo.lock_jongere_by_id(jongere_id)
            eigen = next((a for a in self.repo.actieve_meldingen(jongere_id) if a.instantie_id == zender.id), None)
        if gebeurtenis == "gestart":
            assert meldingsbevoegde is not None
            if casustype not in set(json.loads(zender.auto_casustypen or "[]")):
                return CasusResultaat("geen", "casustypeHandmatig")
            if eigen is not None:
                return CasusResultaat("geen", "meldingBestaatAl", self._huidig(eigen))
            afgegeven = self.afgeven(zender, jongere, meldingsbevoegde, None, bronsysteem)
            return CasusResultaat("afgegeven", "casustypeAutomatisch", afgegeven)
        if eigen is None:
            return CasusResultaat("geen", "geenActieveMelding")
        if gebeurtenis == "overgedragen":
            overgedragen = self.wijzigen(zender, eigen.melding_id, meldingsbevoegde, None, bronsysteem)
            return CasusResultaat("overgedragen", "meldingOvergedragen", overgedragen)
        self.einde(eigen, reden or Reden.RISICO_WEGGENOMEN)
        return CasusResultaat(
            "beeindigd", "meldingBeeindigd", Afgegeven(eigen.melding_id, eigen.geplande_einddatum, ())
        )

    def _huidig(self, melding: m.Melding) -> Afgegeven:
        """The melding as it stands, with its matches."""
        actieve = self.repo.actieve_meldingen(melding.jongere_id)
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        beelden = [
            self._beeld(match, melding, actieve, instanties) for match in self.repo.actieve_matches(melding.jongere_id)
        ]
        return Afgegeven(melding.melding_id, melding.geplande_einddatum, tuple(b for b in beelden if b.partijen))
