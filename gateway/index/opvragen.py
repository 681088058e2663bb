"""What an instantie reads (MatchesOpvragen, SignalenOphalen, SignalenBevestigen). Every match shown is
noted for the access log (``inzage``)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.model import MatchBeeld, SignaalBeeld
from gateway.errors import RuleError
from gateway.index.kern import Kern, signaal_beeld
from store.register import Profiel


@dataclass(frozen=True)
class Signalen:
    bevestigd: int
    meer: bool
    signalen: tuple[SignaalBeeld, ...]


class Opvragen(Kern):
    def matches(
        self, zender: Profiel, melding_id: str | None, pagina: int, grootte: int
    ) -> tuple[int, tuple[MatchBeeld, ...]]:
        """The sender's active matches, paged (or that of one melding: refusals name ``meldingId``)."""
        if melding_id is not None:
            melding = self.repo.melding(melding_id)
            if melding is None:
                raise RuleError(code="VIR-MELDING-ONBEKEND", veld="meldingId")
            if melding.instantie_id != zender.id:
                raise RuleError(code="VIR-MELDING-NIET-EIGEN", veld="meldingId")
        totaal, rijen = self.repo.eigen_meldingen_met_match(zender.id, melding_id, (pagina - 1) * grootte, grootte)
        beelden = []
        for melding, match in rijen:
            actieve = self.repo.actieve_meldingen(melding.jongere_id)
            instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
            beeld = self._beeld(match, melding, actieve, instanties)
            if beeld.partijen:
                beelden.append(beeld)
                self.inzage.append({"meldingId": beeld.melding_id, "matchId": beeld.match_id, "soort": beeld.soort})
            else:
                totaal -= 1  # a family match of the youth in which this party sees only itself
        return totaal, tuple(beelden)

    def signalen_ophalen(self, zender: Profiel, vanaf: int | None, maximaal: int) -> Signalen:
        _, bevestigd = self.repo.signaalstand(zender.id)
        na = bevestigd if vanaf is None else vanaf
        rijen = self.repo.signalen_na(zender.id, na, maximaal + 1)
        signalen = tuple(signaal_beeld(r) for r in rijen[:maximaal])
        for signaal in signalen:
            if signaal.match is not None:
                self.inzage.append(
                    {"meldingId": signaal.melding_id, "matchId": signaal.match.match_id, "soort": signaal.match.soort}
                )
        return Signalen(bevestigd, len(rijen) > maximaal, signalen)

    def signalen_bevestigen(self, zender: Profiel, tot_en_met: int) -> int:
        """Acknowledging is monotonic: an older acknowledgement never reopens signals. A number never issued
        is refused (field ``totEnMetVolgnummer``)."""
        bevestigd = self.repo.bevestig(zender.id, tot_en_met)
        if bevestigd is None:
            hoogste, _ = self.repo.signaalstand(zender.id)
            raise RuleError(
                f"(hoogste: {hoogste})",
                detail_en=f"(highest: {hoogste})",
                code="VIR-VOLGNUMMER-ONGELDIG",
                veld="totEnMetVolgnummer",
            )
        return bevestigd
