"""Filing a melding (MeldingAfgeven): the planned end date, the new row, the client match it joins or
creates, and what the archive tells the new filer.

Concurrency: every change to a youth's meldingen first locks the youth's row, so two instanties filing on
the same youth at once are serialised and the second one sees the first one's melding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, cast

from gateway.domain import matching
from gateway.domain.ids import nieuw_id
from gateway.domain.jongere import Jongere
from gateway.domain.model import Contactkaart, MatchBeeld, Meldingsbevoegde
from gateway.domain.soorten import MatchSoort, MatchStatus, MeldingStatus, SignaalSoort
from gateway.errors import RuleError
from gateway.index.gezin import Gezin
from gateway.index.kern import kaart
from store import models as m
from store.basis import Nieuw
from store.register import Profiel


@dataclass(frozen=True)
class Afgegeven:
    melding_id: str
    geplande_einddatum: date
    matches: tuple[MatchBeeld, ...]
    archief: tuple[Contactkaart, ...] = ()


class Indienen(Gezin):
    def einddatum(self, zender: Profiel, gevraagd: date | None, afgegeven: date) -> date:
        """The planned end date within the instantie's melding lifetime (never above the law's); a refusal
        names the field ``geplandeEinddatum``."""
        regels = self.regels
        if zender.melding_jaren is not None and zender.melding_jaren < regels.max_melding_jaren:
            regels = replace(regels, max_melding_jaren=zender.melding_jaren)
        return regels.geplande_einddatum(gevraagd, afgegeven, self.vandaag)

    def afgeven(
        self,
        zender: Profiel,
        jongere: Jongere,
        meldingsbevoegde: Meldingsbevoegde,
        gevraagde_einddatum: date | None,
        bronsysteem: str,
        afgeschermd: bool = False,
        mb_code: str | None = None,
    ) -> Afgegeven:
        """A new melding of ``zender`` (``mb_code``: the id of its designated professional). Refusals name the
        field of the request: ``afgeschermd``, ``geplandeEinddatum`` or ``jongere`` (also when the loaded
        population register says the youth died or turned 23)."""
        if afgeschermd and not zender.mag_afschermen:
            raise RuleError(code="VIR-AFSCHERMEN-NIET-TOEGESTAAN", veld="afgeschermd")
        einddatum = self.einddatum(zender, gevraagde_einddatum, self.vandaag)
        jongere_id, leeg = self.repo.lock_jongere_met_stand(jongere.sleutel, jongere.geboortedatum)
        if jongere.sleutel.startswith("bsn:") and self._brp_gevuld():
            # A refusal rolls back the youth's row with the rest (or with the item's savepoint in a batch).
            self.regels.controleer_register(
                self.repo.bevolkingsregister().levensdata(jongere.sleutel[4:]), self.vandaag
            )
        bekend = [] if leeg else self.repo.meldingen_van_jongere(jongere_id)
        if any(a.status == MeldingStatus.GEARCHIVEERD and not a.archief_gemeld for a in bekend):
            bekend = self.repo.meldingen_van_jongere_te_wijzigen(jongere_id)  # the archived get marked signalled
        actieve = [a for a in bekend if a.status == MeldingStatus.ACTIEF]
        archief = [a for a in bekend if a.status == MeldingStatus.GEARCHIVEERD and not a.archief_gemeld]
        if any(a.instantie_id == zender.id for a in actieve):
            raise RuleError(code="VIR-MELDING-BESTAAT-AL", veld="jongere")
        # A plain row (``store.basis.Nieuw``), as a batch's: built and written without the ORM's instrumentation.
        melding = self._nieuwe_melding(
            zender.id, jongere_id, meldingsbevoegde, einddatum, bronsysteem, afgeschermd, in_bulk=True
        )
        melding.gemeente = self._gemeente(zender.id, jongere_id)
        melding.mb_code = mb_code
        self.repo.insert(melding)
        self._tel_in(melding.gemeente, zender.id, "meldingen")
        self._doorgeven(melding, zender, jongere.sleutel)
        beelden, match = self._toetreden(melding, actieve, self.repo.actieve_match)
        if match is not None:
            self._schrijf_match(match)
        kaarten = self._archiefsignaal(melding, zender, archief)
        self._gezin_na_wijziging(jongere_id, jongere.sleutel, zonder_gezinsmatch=leeg)
        beelden = (*beelden, *self._gezinsbeelden(melding))
        return Afgegeven(melding.melding_id, einddatum, beelden, kaarten)

    def _nieuwe_melding(
        self,
        instantie_id: int,
        jongere_id: int,
        meldingsbevoegde: Meldingsbevoegde,
        einddatum: date,
        bronsysteem: str,
        afgeschermd: bool = False,
        bron: dict[str, Any] | None = None,
        *,
        in_bulk: bool = False,
    ) -> m.Melding:
        """The row of a new active melding, not yet written: ours, or another system's (``bron``: its
        system, meldingId and version). ``in_bulk``: a plain row (``store.basis.Nieuw``), read and written
        like a mapped one but never part of the session, for a batch that writes its rows with
        ``insert_alle``."""
        waarden: dict[str, Any] = {
            "melding_id": nieuw_id(),
            "instantie_id": instantie_id,
            "jongere_id": jongere_id,
            "status": MeldingStatus.ACTIEF,
            "afgegeven": self.nu,
            "gewijzigd": self.nu,
            "geplande_einddatum": einddatum,
            "versie": 1 if bron is None else bron["versie"],
            "mb_naam": meldingsbevoegde.naam,
            "mb_functie": meldingsbevoegde.functie,
            "mb_telefoon": meldingsbevoegde.telefoon,
            "mb_email": meldingsbevoegde.email,
            "bronsysteem": bronsysteem,
            "afgeschermd": afgeschermd,
            "verloop_gemeld": False,
            "archief_gemeld": False,
        }
        if bron is not None:  # set only then: a batch builds thousands of rows, and each attribute costs
            waarden["bron_systeem"], waarden["bron_melding_id"] = bron["systeem"], bron["meldingId"]
        if in_bulk:
            return cast(m.Melding, Nieuw(m.Melding, **waarden))
        return m.Melding(**waarden)

    def _toetreden(
        self, melding: m.Melding, actieve: list[m.Melding], clientmatch: Callable[[int], m.Match | None]
    ) -> tuple[tuple[MatchBeeld, ...], m.Match | None]:
        """A new active melding joins the youth's active ones (``actieve``, which it is added to): the
        client match grows or arises, and our parties are notified. ``clientmatch`` finds the youth's
        active client match. Returns the melding's view of the match, and the match when it is new (not
        yet written: the caller writes it)."""
        wijziging = matching.bij_toetreden({a.instantie_id for a in actieve}, melding.instantie_id)
        if wijziging.gebeurtenis is matching.Gebeurtenis.GEEN:
            return (), None
        actieve.append(melding)
        match = clientmatch(melding.jongere_id)
        nieuw = None
        if match is None:
            waarden = {
                "match_id": nieuw_id(),
                "jongere_id": melding.jongere_id,
                "soort": MatchSoort.CLIENTMATCH,
                "status": MatchStatus.ACTIEF,
                "ontstaan": self.nu,
            }
            # as plain as the melding that makes it: a batch writes both with ``insert_alle``
            bulk = isinstance(melding, Nieuw)
            match = nieuw = cast(m.Match, Nieuw(m.Match, **waarden)) if bulk else m.Match(**waarden)
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        # The filer's signal carries its view of the match: the same view is its answer.
        beeld = self._signaleer(wijziging, match, actieve, melding, instanties).get(melding.instantie_id)
        return (beeld or self._beeld(match, melding, actieve, instanties),), nieuw

    def _schrijf_match(self, match: m.Match) -> None:
        self.repo.insert(match)
        self._afstemming[match.id] = None  # arose in this transaction: no recorded contact yet

    def _archiefsignaal(
        self, melding: m.Melding, zender: Profiel, archief: list[m.Melding]
    ) -> tuple[Contactkaart, ...]:
        """A new melding on a youth with archived meldingen: once per archived melding, the new filer
        learns who was involved before, and that party (when it is ours) learns of the new filer."""
        if not archief:
            return ()
        instanties = self.repo.instanties_by_id([zender.id, *(a.instantie_id for a in archief)])
        kaarten = []
        for a in archief:
            a.archief_gemeld = True
            if a.instantie_id == zender.id:
                continue  # its own history
            kaarten.append(kaart(a, instanties[a.instantie_id]))
            if instanties[a.instantie_id].systeem is None:
                nieuw = kaart(melding, zender).naar_json()
                self._signaal(a.instantie_id, SignaalSoort.ARCHIEFSIGNAAL, a.melding_id, {"archief": [nieuw]})
        self.repo.flush()
        if kaarten:
            inhoud = {"archief": [k.naar_json() for k in kaarten]}
            self._signaal(zender.id, SignaalSoort.ARCHIEFSIGNAAL, melding.melding_id, inhoud)
        return tuple(kaarten)
