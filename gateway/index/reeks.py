"""Filing a batch (MeldingenAfgeven), set-based: the youths locked in one statement, their meldingen and
client matches read in one query each, and the new rows written with one executemany per table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from gateway.domain.jongere import Jongere
from gateway.domain.model import Meldingsbevoegde
from gateway.domain.soorten import MeldingStatus
from gateway.errors import RuleError
from gateway.index.indienen import Afgegeven, Indienen
from store import models as m
from store.register import Profiel


@dataclass(frozen=True)
class Aanvraag:
    """One filing of a batch, its fields read from the request."""

    jongere: Jongere
    meldingsbevoegde: Meldingsbevoegde
    einddatum: date | None
    afgeschermd: bool
    mb_code: str | None = None
    """The id of the designated professional, kept with the melding."""


class Reeks(Indienen):
    def afgeven_reeks(
        self, zender: Profiel, aanvragen: Sequence[Aanvraag], bronsysteem: str
    ) -> list[Afgegeven | RuleError | None]:
        """The outcome per item is what ``afgeven`` would give, in the same order of checks (a refusal names
        the field within the item). ``None`` for an item this path leaves to ``afgeven``: a youth that
        occurs more than once in the batch (the second filing must see the first), a youth with an
        archived melding not yet signalled, and every item while the population register relates youths
        (family matches). Those youths are not touched here, so the caller may file them one by one
        afterwards."""
        uitkomst: list[Afgegeven | RuleError | None] = [None] * len(aanvragen)
        if self._brp_gevuld():
            return uitkomst
        klaar: list[tuple[int, Aanvraag, date]] = []
        for i, aanvraag in enumerate(aanvragen):
            try:
                if aanvraag.afgeschermd and not zender.mag_afschermen:
                    raise RuleError(code="VIR-AFSCHERMEN-NIET-TOEGESTAAN", veld="afgeschermd")
                klaar.append((i, aanvraag, self.einddatum(zender, aanvraag.einddatum, self.vandaag)))
            except RuleError as exc:
                uitkomst[i] = exc
        keer = Counter(aanvraag.jongere.sleutel for _, aanvraag, _ in klaar)
        klaar = [k for k in klaar if keer[k[1].jongere.sleutel] == 1]
        ids = self.repo.lock_jongeren({a.jongere.sleutel: a.jongere.geboortedatum for _, a, _ in klaar})
        bekend = self.repo.meldingen_van_jongeren(ids.values())
        clientmatches = self.repo.actieve_clientmatches(bekend)
        self._afstemming.update(self.repo.laatste_afstemmingen(match.id for match in clientmatches.values()))
        meldingen: list[m.Melding] = []
        matches: list[m.Match] = []
        for i, aanvraag, einddatum in klaar:
            jongere_id = ids[aanvraag.jongere.sleutel]
            eerder = bekend.get(jongere_id, [])
            if any(x.status == MeldingStatus.GEARCHIVEERD and not x.archief_gemeld for x in eerder):
                continue
            actieve = [x for x in eerder if x.status == MeldingStatus.ACTIEF]
            if any(x.instantie_id == zender.id for x in actieve):
                uitkomst[i] = RuleError(code="VIR-MELDING-BESTAAT-AL", veld="jongere")
                continue
            melding = self._nieuwe_melding(
                zender.id,
                jongere_id,
                aanvraag.meldingsbevoegde,
                einddatum,
                bronsysteem,
                aanvraag.afgeschermd,
                in_bulk=True,
            )
            melding.gemeente = self._gemeente(zender.id)  # the register is empty on this path
            melding.mb_code = aanvraag.mb_code
            meldingen.append(melding)
            self._tel_in(melding.gemeente, zender.id, "meldingen")
            self._doorgeven(melding, zender, aanvraag.jongere.sleutel)
            beelden, match = self._toetreden(melding, actieve, clientmatches.get)
            if match is not None:
                matches.append(match)
            uitkomst[i] = Afgegeven(melding.melding_id, einddatum, beelden)
        self.repo.insert_alle(m.Melding, meldingen)
        self.repo.insert_alle(m.Match, matches)
        return uitkomst
