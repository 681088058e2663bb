"""Designated professionals (meldingsbevoegden, Jeugdwet art. 7.1.3.1): only a professional the instantie
designated may file, take over or read on its behalf, when its profile requires designation
(``instantie profiel --aanwijzing``; unset: required outside development mode).

A professional is known by their id in the instantie's own system: ``meldingsbevoegde/medewerkerId`` in a
filing or transfer, else ``stuurgegevens/gebruiker``. The id of a melding's professional is kept with the
melding (``mb_code``), so that revoking a designation can hand that professional's meldingen over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gateway.domain.model import Meldingsbevoegde
from gateway.errors import RuleError
from store import models as m
from store.profielen import Profielen
from store.repository import Repository


def aanwijzing_verplicht(aanwijzing: bool | None, development: bool) -> bool:
    """Whether the instantie's filers must be designated: its profile's choice (``aanwijzing``), else on
    outside development mode."""
    return aanwijzing if aanwijzing is not None else not development


@dataclass
class Bevoegden:
    """The designation rules of one request, over its transaction. What ``controleer`` read of a professional
    it keeps for the rest of the request: a batch of a thousand filings by one professional asks once, not a
    thousand times (designations are changed by requests of their own, never inside a filing)."""

    repo: Repository
    development: bool
    _gelezen: dict[tuple[int, str], bool] = field(default_factory=dict, repr=False)

    @property
    def _profielen(self) -> Profielen:
        return Profielen(self.repo.s)

    def verplicht(self, zender: m.Instantie) -> bool:
        return aanwijzing_verplicht(self.repo.inhoudkern(zender.id).aanwijzing, self.development)

    def _aangewezen(self, instantie_id: int, code: str) -> bool:
        """Whether ``code`` is an active designated professional of the instantie."""
        if (instantie_id, code) not in self._gelezen:
            self._gelezen[instantie_id, code] = self._profielen.is_aangewezen(instantie_id, code)
        return self._gelezen[instantie_id, code]

    def controleer(self, zender: m.Instantie, code: str | None, xpath: str) -> str | None:
        """The professional ``code`` may act for ``zender``: returns the code to keep with the melding, or
        refuses (``VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN`` at ``xpath``). Without designation anyone the
        instantie's system names may act."""
        if not self.verplicht(zender):
            return code
        if not code or not self._aangewezen(zender.id, code):
            raise RuleError(
                f"({code})" if code else "(geen medewerkerId of gebruiker)",
                detail_en=f"({code})" if code else "(no medewerkerId or gebruiker)",
                code="VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN",
                xpath=xpath,
            )
        return code

    def vastleggen(self, melding_id: str, code: str | None) -> None:
        """Keep the professional's id with the melding (filed or handed over)."""
        melding = self.repo.melding(melding_id)
        if melding is not None and melding.mb_code != code:
            melding.mb_code = code
            self.repo.flush()


def aanwijzen(
    repo: Repository,
    zender: m.Instantie,
    code: str,
    meldingsbevoegde: Meldingsbevoegde,
    nu: datetime,
) -> m.MeldingsbevoegdeRij:
    """Designate (again) a professional of ``zender``."""
    mb = meldingsbevoegde
    return Profielen(repo.s).aanwijzen(zender.id, code, mb.naam, mb.functie, mb.telefoon, mb.email, nu)
