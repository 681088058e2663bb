"""Changing and ending a melding (MeldingWijzigen, MeldingBeeindigen, retention), and the signals about a
melding's own life: its end date drawing near, its youth moving."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.domain import matching
from gateway.domain.model import Meldingsbevoegde
from gateway.domain.onderdrukking import EINDE_TELLING
from gateway.domain.regels import plus_jaren
from gateway.domain.soorten import ARCHIVEREN, BUITEN_FILER, MatchStatus, MeldingStatus, Reden, SignaalSoort
from gateway.index.indienen import Afgegeven, Indienen
from store import models as m
from store.register import Profiel


@dataclass(frozen=True)
class Beeindigd:
    melding_id: str
    resultaat: str  # gearchiveerd | verwijderd
    beeindigde_matches: int


class Wijzigen(Indienen):
    def wijzigen(
        self,
        zender: Profiel,
        melding_id: str,
        meldingsbevoegde: Meldingsbevoegde | None,
        einddatum: date | None,
        bronsysteem: str,
    ) -> Afgegeven:
        """A new professional or end date for the sender's own melding; refusals name ``meldingId`` or
        ``geplandeEinddatum``."""
        melding = self._eigen_melding(zender, melding_id)
        jongere = self.repo.lock_jongere_by_id(melding.jongere_id)
        if einddatum is not None:
            melding.geplande_einddatum = self.einddatum(zender, einddatum, melding.afgegeven.date())
            melding.verloop_gemeld = False  # a new end date earns a new advance notice
        kaart_gewijzigd = False
        if meldingsbevoegde is not None:
            nieuw = meldingsbevoegde
            oud = (melding.mb_naam, melding.mb_functie, melding.mb_telefoon, melding.mb_email, melding.bronsysteem)
            melding.mb_naam, melding.mb_functie = nieuw.naam, nieuw.functie
            melding.mb_telefoon, melding.mb_email = nieuw.telefoon, nieuw.email
            melding.bronsysteem = bronsysteem
            kaart_gewijzigd = oud != (nieuw.naam, nieuw.functie, nieuw.telefoon, nieuw.email, bronsysteem)
        melding.gewijzigd = self.nu
        melding.versie += 1
        self.repo.flush()
        self._doorgeven(melding, zender, jongere.sleutel)
        match = self.repo.actieve_match(melding.jongere_id)
        if match is None:
            return Afgegeven(melding.melding_id, melding.geplande_einddatum, ())
        actieve = list(self.repo.actieve_meldingen(melding.jongere_id))
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        if kaart_gewijzigd:
            wijziging = matching.bij_wijziging({a.instantie_id for a in actieve}, zender.id)
            self._signaleer(wijziging, match, actieve, melding, instanties)
        return Afgegeven(
            melding.melding_id, melding.geplande_einddatum, (self._beeld(match, melding, actieve, instanties),)
        )

    def beeindigen(self, zender: Profiel, melding_id: str, reden: str) -> Beeindigd:
        """The sender ends its own melding; refusals name ``meldingId``."""
        return self.einde(self._eigen_melding(zender, melding_id), reden)

    def einde(self, melding: m.Melding, reden: str) -> Beeindigd:
        """An active melding ends: its matches shrink or end (the other parties are notified), the
        other systems learn it, and it is archived (``risicoWeggenomen``, ``verlopen``) or deleted
        (``onterecht``, ``leeftijd``, ``overlijden``)."""
        jongere = self.repo.lock_jongere_by_id(melding.jongere_id)
        beeindigde = self._vertrek(melding)
        eigen = melding.bron_systeem is None
        if eigen:
            self._intrekken(melding)
            melding.versie += 1
        melding.status = MeldingStatus.GEARCHIVEERD if eigen and reden in ARCHIVEREN else MeldingStatus.BEEINDIGD
        melding.beeindigd, melding.reden = self.nu, reden
        self.repo.flush()
        self._gezin_na_wijziging(melding.jongere_id, jongere.sleutel)
        # Counted where its filing was counted (None for one filed before counts had a municipality), so
        # the stock per municipality adds up (docs/rapportage.md).
        if reden == Reden.VERLOPEN and eigen:
            self._tel_in(melding.gemeente, melding.instantie_id, "verlopen")
        if eigen:  # management information: endings by reason
            self._tel_in(melding.gemeente, melding.instantie_id, EINDE_TELLING[Reden(reden)])
        if eigen and reden in BUITEN_FILER:
            # Its record system stays in sync: the reason only, nothing of the youth (it outlives the melding).
            self._signaal(melding.instantie_id, SignaalSoort.MELDING_BEEINDIGD, melding.melding_id, {"reden": reden})
        if melding.status == MeldingStatus.GEARCHIVEERD:
            melding.archief_tot = plus_jaren(self.vandaag, self.regels.archief_jaren)
            self.repo.flush()
            return Beeindigd(melding.melding_id, "gearchiveerd", beeindigde)
        if not eigen:  # another system's copy (expired, the youth erased, 23, died): gone, with a tombstone
            self._kopie_weg(melding, tombstone=True)
            return Beeindigd(melding.melding_id, "verwijderd", beeindigde)
        self.repo.delete(melding)
        self.repo.sporen().vergeet([melding.melding_id])
        if reden == Reden.ONTERECHT:
            self.te_redigeren.append(melding.melding_id)
        return Beeindigd(melding.melding_id, "verwijderd", beeindigde)

    def _vertrek(self, melding: m.Melding) -> int:
        """An active melding ends: shrink or end its match and notify our parties; 1 if it had one."""
        actieve = list(self.repo.actieve_meldingen(melding.jongere_id))
        blijvers = [a for a in actieve if a.melding_id != melding.melding_id]
        wijziging = matching.bij_vertrek({a.instantie_id for a in blijvers}, melding.instantie_id)
        match = self.repo.actieve_match(melding.jongere_id)
        if match is None or wijziging.gebeurtenis is matching.Gebeurtenis.GEEN:
            return 0
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        if wijziging.gebeurtenis is matching.Gebeurtenis.BEEINDIGD:
            match.status = MatchStatus.BEEINDIGD
            match.beeindigd = self.nu
        self._signaleer(wijziging, match, blijvers, melding, instanties)
        return 1

    def verloopsignaal(self, melding: m.Melding) -> None:
        """The melding reaches its planned end date soon; its instantie may extend it."""
        inhoud = {"einddatum": melding.geplande_einddatum.isoformat()}
        self._signaal(melding.instantie_id, SignaalSoort.MELDING_VERLOOPT_BINNENKORT, melding.melding_id, inhoud)

    def verhuissignaal(self, melding: m.Melding) -> None:
        """The youth of this active melding moved (population register); the address itself is not told."""
        self._signaal(melding.instantie_id, SignaalSoort.VERHUIZING, melding.melding_id, None)
