"""The verwijsindex operations, inside one transaction.

Each method takes the authenticated instantie and plain values, applies the rules of
``gateway.domain`` and persists through ``store.repository``. The caller owns the transaction, so
the melding, its matches, the signals and (later) the log entry and outbox rows commit together.

Concurrency: every change to a youth's meldingen first locks the youth's row, so two instanties
filing on the same youth at once are serialised and the second one sees the first one's melding.
Signal numbers are reserved per instantie in ascending instantie id, so transactions never wait
for each other in a cycle.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from federation.outbox import Uitgaand
from gateway.domain import matching
from gateway.domain.jongere import Jongere
from gateway.domain.model import Contactkaart, MatchBeeld, Meldingsbevoegde, SignaalBeeld
from gateway.domain.regels import Regels, plus_jaren
from gateway.errors import RuleError
from store import models as m
from store.repository import ACTIEF, Repository


@dataclass(frozen=True)
class Afgegeven:
    melding_id: str
    geplande_einddatum: date
    matches: tuple[MatchBeeld, ...]


@dataclass(frozen=True)
class Beeindigd:
    melding_id: str
    resultaat: str  # gearchiveerd | verwijderd
    beeindigde_matches: int


@dataclass(frozen=True)
class Signalen:
    bevestigd: int
    meer: bool
    signalen: tuple[SignaalBeeld, ...]


def kaart(melding: m.Melding, instantie: m.Instantie) -> Contactkaart:
    mb = Meldingsbevoegde(melding.mb_naam, melding.mb_functie, melding.mb_telefoon, melding.mb_email)
    return Contactkaart(instantie.oin, instantie.naam, instantie.vestiging, mb, melding.bronsysteem)


def kaart_json(k: Contactkaart) -> dict[str, Any]:
    return asdict(k)


def kaart_uit_json(d: dict[str, Any]) -> Contactkaart:
    return Contactkaart(**{**d, "meldingsbevoegde": Meldingsbevoegde(**d["meldingsbevoegde"])})


class Verwijsindex:
    def __init__(self, repo: Repository, regels: Regels, nu: datetime, uitgaand: Uitgaand | None = None) -> None:
        self.repo = repo
        self.regels = regels
        self.nu = nu
        self.vandaag = nu.date()
        self.uitgaand = uitgaand

    # --- federation -------------------------------------------------------------------------

    def _bron(self, melding: m.Melding, versie: int | None = None) -> dict[str, Any]:
        assert self.uitgaand is not None
        return {
            "systeem": self.uitgaand.systeem,
            "meldingId": melding.melding_id,
            "versie": melding.versie if versie is None else versie,
        }

    def _doorgeven(self, melding: m.Melding, instantie: m.Instantie, sleutel: str) -> None:
        """Our own melding, as it is now, to every peer (through the outbox)."""
        if self.uitgaand is None:
            return
        self.uitgaand.doorgeven(
            self._bron(melding),
            {
                "jongere": sleutel,
                "contactkaart": kaart_json(kaart(melding, instantie)),
                "geplandeEinddatum": melding.geplande_einddatum.isoformat(),
            },
        )

    # --- helpers ----------------------------------------------------------------------------

    def _eigen_melding(self, zender: m.Instantie, melding_id: str, xpath: str) -> m.Melding:
        melding = self.repo.melding(melding_id)
        if melding is None:
            raise RuleError(code="VIR-MELDING-ONBEKEND", xpath=xpath)
        if melding.instantie_id != zender.id:
            # The same answer shape as "unknown" would hide existence, but the owner needs to know
            # why; meldingIds are random UUIDs, so this reveals nothing about a youth.
            raise RuleError(code="VIR-MELDING-NIET-EIGEN", xpath=xpath)
        if melding.status != ACTIEF:
            raise RuleError(code="VIR-MELDING-NIET-ACTIEF", xpath=xpath)
        return melding

    def _beeld(
        self,
        match: m.Match,
        voor: m.Melding,
        actieve: Sequence[m.Melding],
        instanties: dict[int, m.Instantie],
        status: str | None = None,
    ) -> MatchBeeld:
        partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in actieve if a.instantie_id != voor.instantie_id)
        return MatchBeeld(
            match.match_id, voor.melding_id, match.soort, status or match.status, match.ontstaan, partijen
        )

    def _signaleer(
        self,
        wijziging: matching.MatchWijziging,
        match: m.Match,
        actieve: Sequence[m.Melding],
        betrokken: m.Melding,
        instanties: dict[int, m.Instantie],
    ) -> None:
        """Issue one signal per notice, reserving numbers in ascending instantie id."""
        per_instantie = {a.instantie_id: a for a in actieve}
        per_instantie.setdefault(betrokken.instantie_id, betrokken)
        for k in sorted(wijziging.kennisgevingen, key=lambda k: k.instantie):
            if instanties[k.instantie].systeem is not None:
                continue  # another system's party: its own system notifies it
            eigen = per_instantie[k.instantie]
            if k.soort == "beeindigdeMatch":
                # The parties the match was with, from this party's side.
                if k.instantie == betrokken.instantie_id:
                    anderen = [a for a in actieve if a.instantie_id != k.instantie]
                else:
                    anderen = [betrokken]
                partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in anderen)
                beeld = MatchBeeld(match.match_id, eigen.melding_id, match.soort, "beeindigd", match.ontstaan, partijen)
            else:
                beeld = self._beeld(match, eigen, actieve, instanties)
            nummer = self.repo.volgnummers(k.instantie, 1)
            self.repo.insert(
                m.Signaal(
                    instantie_id=k.instantie,
                    volgnummer=nummer,
                    soort=k.soort,
                    tijdstip=self.nu,
                    melding_id=eigen.melding_id,
                    inhoud=json.dumps(beeld.to_json(), separators=(",", ":")),
                )
            )

    # --- operations -------------------------------------------------------------------------

    def afgeven(
        self,
        zender: m.Instantie,
        jongere: Jongere,
        mb: Meldingsbevoegde,
        gevraagde_einddatum: date | None,
        bronsysteem: str,
    ) -> Afgegeven:
        einddatum = self.regels.geplande_einddatum(
            gevraagde_einddatum, self.vandaag, self.vandaag, "/kp:MeldingAfgeven/kp:geplandeEinddatum"
        )
        jongere_id = self.repo.lock_jongere(jongere.sleutel, jongere.geboortedatum)
        actieve = list(self.repo.actieve_meldingen(jongere_id))
        if any(a.instantie_id == zender.id for a in actieve):
            raise RuleError(code="VIR-MELDING-BESTAAT-AL", xpath="/kp:MeldingAfgeven/kp:jongere")
        melding = m.Melding(
            melding_id=str(uuid.uuid4()),
            instantie_id=zender.id,
            jongere_id=jongere_id,
            status=ACTIEF,
            afgegeven=self.nu,
            gewijzigd=self.nu,
            geplande_einddatum=einddatum,
            versie=1,
            mb_naam=mb.naam,
            mb_functie=mb.functie,
            mb_telefoon=mb.telefoon,
            mb_email=mb.email,
            bronsysteem=bronsysteem,
        )
        self.repo.insert(melding)
        self._doorgeven(melding, zender, jongere.sleutel)
        beelden = self._toetreden(melding, jongere_id, actieve, zender.id)
        return Afgegeven(melding.melding_id, einddatum, beelden)

    def _toetreden(
        self, melding: m.Melding, jongere_id: int, actieve: list[m.Melding], instantie_id: int
    ) -> tuple[MatchBeeld, ...]:
        """A new active melding on a youth: create or widen the match and notify our parties."""
        wijziging = matching.bij_toetreden({a.instantie_id for a in actieve}, instantie_id)
        if wijziging.gebeurtenis is matching.Gebeurtenis.GEEN:
            return ()
        actieve.append(melding)
        match = self.repo.actieve_match(jongere_id)
        if match is None:
            match = m.Match(
                match_id=str(uuid.uuid4()), jongere_id=jongere_id, soort="clientmatch", status=ACTIEF, ontstaan=self.nu
            )
            self.repo.insert(match)
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        self._signaleer(wijziging, match, actieve, melding, instanties)
        return (self._beeld(match, melding, actieve, instanties),)

    def wijzigen(
        self,
        zender: m.Instantie,
        melding_id: str,
        mb: Meldingsbevoegde | None,
        einddatum: date | None,
        bronsysteem: str,
    ) -> Afgegeven:
        xp = "/kp:MeldingWijzigen"
        melding = self._eigen_melding(zender, melding_id, f"{xp}/kp:meldingId")
        jongere = self.repo.lock_jongere_by_id(melding.jongere_id)
        if einddatum is not None:
            melding.geplande_einddatum = self.regels.geplande_einddatum(
                einddatum, melding.afgegeven.date(), self.vandaag, f"{xp}/kp:geplandeEinddatum"
            )
        kaart_gewijzigd = False
        if mb is not None:
            oud = (melding.mb_naam, melding.mb_functie, melding.mb_telefoon, melding.mb_email, melding.bronsysteem)
            melding.mb_naam, melding.mb_functie = mb.naam, mb.functie
            melding.mb_telefoon, melding.mb_email = mb.telefoon, mb.email
            melding.bronsysteem = bronsysteem
            kaart_gewijzigd = oud != (mb.naam, mb.functie, mb.telefoon, mb.email, bronsysteem)
        melding.gewijzigd = self.nu
        melding.versie += 1
        self.repo.s.flush()
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

    def beeindigen(self, zender: m.Instantie, melding_id: str, reden: str) -> Beeindigd:
        melding = self._eigen_melding(zender, melding_id, "/kp:MeldingBeeindigen/kp:meldingId")
        self.repo.lock_jongere_by_id(melding.jongere_id)
        beeindigde = self._vertrek(melding)
        if self.uitgaand is not None:
            self.uitgaand.intrekken(self._bron(melding, melding.versie + 1))
        if reden == "risicoWeggenomen":
            melding.status = "gearchiveerd"
            melding.beeindigd = self.nu
            melding.reden = reden
            melding.archief_tot = plus_jaren(self.vandaag, self.regels.archief_jaren)
            melding.versie += 1
            self.repo.s.flush()
            return Beeindigd(melding.melding_id, "gearchiveerd", beeindigde)
        self.repo.delete(melding)
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
            match.status = "beeindigd"
            match.beeindigd = self.nu
        self._signaleer(wijziging, match, blijvers, melding, instanties)
        return 1

    # --- meldingen of other systems -----------------------------------------------------------

    def ontvangen(
        self,
        afzender: str,
        bron: dict[str, Any],
        sleutel: str,
        k: Contactkaart,
        einddatum: date,
        inhoud: dict[str, Any],
    ) -> tuple[bool, tuple[Contactkaart, ...]]:
        """Another system's melding (new or a newer version). Idempotent on (system, id, version);
        an older version never overwrites a newer one. Returns (processed, our matching parties)."""
        jongere_id = self.repo.lock_jongere(sleutel, None)
        bestaand = self.repo.melding_van_bron(bron["systeem"], bron["meldingId"])
        verwerkt = bestaand is None or bestaand.versie < bron["versie"]
        if bestaand is None and (self.repo.intrekking(bron["systeem"], bron["meldingId"]) or -1) >= bron["versie"]:
            verwerkt = False  # withdrawn before it arrived
        if verwerkt:
            instantie = self.repo.externe_instantie(k.oin, bron["systeem"], k.naam, k.vestiging, self.nu)
            bronsysteem = f"{bron['systeem']}/{k.bronsysteem}"[:80]
            mb = k.meldingsbevoegde
            if bestaand is not None and bestaand.status == ACTIEF:
                oud = kaart(bestaand, instantie)
                bestaand.mb_naam, bestaand.mb_functie = mb.naam, mb.functie
                bestaand.mb_telefoon, bestaand.mb_email = mb.telefoon, mb.email
                bestaand.bronsysteem, bestaand.versie = bronsysteem, bron["versie"]
                bestaand.geplande_einddatum, bestaand.gewijzigd = einddatum, self.nu
                self.repo.s.flush()
                match = self.repo.actieve_match(jongere_id)
                if match is not None and oud != kaart(bestaand, instantie):
                    actieve = list(self.repo.actieve_meldingen(jongere_id))
                    instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
                    wijziging = matching.bij_wijziging({a.instantie_id for a in actieve}, instantie.id)
                    self._signaleer(wijziging, match, actieve, bestaand, instanties)
            elif bestaand is None:
                actieve = list(self.repo.actieve_meldingen(jongere_id))
                for dubbel in [a for a in actieve if a.instantie_id == instantie.id]:
                    # The same organisation re-filed in its system under a new id: the old one is gone.
                    self._vertrek(dubbel)
                    dubbel.status = "ingetrokken"
                    actieve.remove(dubbel)
                melding = m.Melding(
                    melding_id=str(uuid.uuid4()),
                    instantie_id=instantie.id,
                    jongere_id=jongere_id,
                    status=ACTIEF,
                    afgegeven=self.nu,
                    gewijzigd=self.nu,
                    geplande_einddatum=einddatum,
                    versie=bron["versie"],
                    mb_naam=mb.naam,
                    mb_functie=mb.functie,
                    mb_telefoon=mb.telefoon,
                    mb_email=mb.email,
                    bronsysteem=bronsysteem,
                    bron_systeem=bron["systeem"],
                    bron_melding_id=bron["meldingId"],
                )
                self.repo.insert(melding)
                self._toetreden(melding, jongere_id, actieve, instantie.id)
            else:
                verwerkt = False  # withdrawn with a newer version than this one
            if verwerkt and self.uitgaand is not None and self.uitgaand.hub:
                self.uitgaand.doorgeven(bron, inhoud, behalve=frozenset({afzender, bron["systeem"]}))
        eigen = [a for a in self.repo.actieve_meldingen(jongere_id) if a.bron_systeem is None]
        instanties = self.repo.instanties_by_id(a.instantie_id for a in eigen)
        return verwerkt, tuple(kaart(a, instanties[a.instantie_id]) for a in eigen)

    def ingetrokken(self, afzender: str, bron: dict[str, Any]) -> bool:
        """Another system withdrew (or ended) its melding."""
        bestaand = self.repo.melding_van_bron(bron["systeem"], bron["meldingId"])
        if bestaand is None:
            # Unknown here (yet): remember the withdrawal so that a late, older upsert is ignored.
            self.repo.onthoud_intrekking(bron["systeem"], bron["meldingId"], bron["versie"])
            return False
        self.repo.lock_jongere_by_id(bestaand.jongere_id)
        if bestaand.versie >= bron["versie"] or bestaand.status != ACTIEF:
            return False
        self._vertrek(bestaand)
        bestaand.status, bestaand.versie, bestaand.beeindigd = "ingetrokken", bron["versie"], self.nu
        self.repo.s.flush()
        if self.uitgaand is not None and self.uitgaand.hub:
            self.uitgaand.intrekken(bron, behalve=frozenset({afzender, bron["systeem"]}))
        return True

    def matches(
        self, zender: m.Instantie, melding_id: str | None, pagina: int, grootte: int
    ) -> tuple[int, tuple[MatchBeeld, ...]]:
        if melding_id is not None:
            melding = self.repo.melding(melding_id)
            if melding is None:
                raise RuleError(code="VIR-MELDING-ONBEKEND", xpath="/kp:MatchesOpvragen/kp:meldingId")
            if melding.instantie_id != zender.id:
                raise RuleError(code="VIR-MELDING-NIET-EIGEN", xpath="/kp:MatchesOpvragen/kp:meldingId")
        totaal, rijen = self.repo.eigen_meldingen_met_match(zender.id, melding_id, (pagina - 1) * grootte, grootte)
        beelden = []
        for melding, match in rijen:
            actieve = self.repo.actieve_meldingen(melding.jongere_id)
            instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
            beelden.append(self._beeld(match, melding, actieve, instanties))
        return totaal, tuple(beelden)

    def signalen_ophalen(self, zender: m.Instantie, vanaf: int | None, maximaal: int) -> Signalen:
        na = zender.signaal_bevestigd if vanaf is None else vanaf
        rijen = self.repo.signalen_na(zender.id, na, maximaal + 1)
        signalen = tuple(
            SignaalBeeld(
                r.volgnummer,
                r.soort,
                r.tijdstip,
                r.melding_id,
                MatchBeeld.from_json(json.loads(r.inhoud)) if r.inhoud else None,
            )
            for r in rijen[:maximaal]
        )
        return Signalen(zender.signaal_bevestigd, len(rijen) > maximaal, signalen)

    def signalen_bevestigen(self, zender: m.Instantie, tot_en_met: int) -> int:
        # Acknowledging is monotonic: an older acknowledgement never reopens signals.
        bevestigd = self.repo.bevestig(zender.id, tot_en_met)
        if bevestigd is None:
            raise RuleError(
                f"(hoogste: {zender.signaal_uitgegeven})",
                detail_en=f"(highest: {zender.signaal_uitgegeven})",
                code="VIR-VOLGNUMMER-ONGELDIG",
                xpath="/kp:SignalenBevestigen/kp:totEnMetVolgnummer",
            )
        return bevestigd
