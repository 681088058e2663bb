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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from gateway.domain import matching
from gateway.domain.jongere import Jongere
from gateway.domain.model import Contactkaart, MatchBeeld, Meldingsbevoegde, SignaalBeeld
from gateway.domain.regels import Regels, plus_jaren
from gateway.errors import RuleError
from store import models as m
from store.outbox import Outbox
from store.repository import ACTIEF, Repository

# Ending reasons that keep the melding in the archive (Jeugdwet: risk gone, or expired); the rest delete.
ARCHIVEREN = frozenset({"risicoWeggenomen", "verlopen"})
GEZINSMATCH = "gezinsmatch"


@dataclass(frozen=True)
class Afgegeven:
    melding_id: str
    geplande_einddatum: date
    matches: tuple[MatchBeeld, ...]
    archief: tuple[Contactkaart, ...] = ()


@dataclass(frozen=True)
class Aanvraag:
    """One filing of a batch, its fields read from the request (``xp``: the item's XPath)."""

    jongere: Jongere
    mb: Meldingsbevoegde
    einddatum: date | None
    afgeschermd: bool
    xp: str


@dataclass(frozen=True)
class CasusResultaat:
    actie: str  # afgegeven | overgedragen | beeindigd | geen
    uitleg: str
    melding: Afgegeven | None = None


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


# Shown for a shielded melding whose instantie no longer has a shielding contact in its profile.
ANONIEME_KAART = Contactkaart(
    "0" * 20, "Afgeschermde melding", None, Meldingsbevoegde("Neem contact op met de verwijsindex"), "vir-gateway"
)


def afschermkaart(instantie: m.Instantie) -> Contactkaart:
    if not instantie.afschermcontact:
        return ANONIEME_KAART
    return kaart_uit_json(json.loads(instantie.afschermcontact))


def kaart(melding: m.Melding, instantie: m.Instantie) -> Contactkaart:
    """The contact card others see of a melding: for a shielded one, the instantie's shielding contact
    and never the filing instantie or professional. Every card that leaves the index is made here."""
    if melding.afgeschermd:
        return afschermkaart(instantie)
    mb = Meldingsbevoegde(melding.mb_naam, melding.mb_functie, melding.mb_telefoon, melding.mb_email)
    return Contactkaart(instantie.oin, instantie.naam, instantie.vestiging, mb, melding.bronsysteem)


def signaal_beeld(r: m.Signaal) -> SignaalBeeld:
    return SignaalBeeld.uit_opslag(
        r.volgnummer, r.soort, r.tijdstip, r.melding_id, json.loads(r.inhoud) if r.inhoud else None
    )


def compact(d: Any) -> str:
    return json.dumps(d, separators=(",", ":"))


def kaart_json(k: Contactkaart) -> dict[str, Any]:
    mb = k.meldingsbevoegde
    return {
        "oin": k.oin,
        "naam": k.naam,
        "vestiging": k.vestiging,
        "meldingsbevoegde": {"naam": mb.naam, "functie": mb.functie, "telefoon": mb.telefoon, "email": mb.email},
        "bronsysteem": k.bronsysteem,
    }


def kaart_uit_json(d: dict[str, Any]) -> Contactkaart:
    return Contactkaart(**{**d, "meldingsbevoegde": Meldingsbevoegde(**d["meldingsbevoegde"])})


@dataclass
class _Uitgesteld:
    """The new rows of a set-based batch, written at its end with one executemany per table. Signals
    and counts are plain column values: no code reads them back, and building ORM objects for them
    cost more than writing them."""

    rijen: list[m.Melding | m.Match] = field(default_factory=list)
    signalen: list[dict[str, Any]] = field(default_factory=list)
    tellingen: list[dict[str, Any]] = field(default_factory=list)


class Verwijsindex:
    def __init__(self, repo: Repository, regels: Regels, nu: datetime, uitgaand: Outbox | None = None) -> None:
        self.repo = repo
        self.regels = regels
        self.nu = nu
        self.vandaag = nu.date()
        self.uitgaand = uitgaand
        self._brp: bool | None = None
        self._afstemming: dict[int, date | None] = {}
        # Set-based filing (``afgeven_reeks``): the youths' active client matches read in advance, and
        # the new rows, written together at the end instead of one statement each.
        self._clientmatches: dict[int, m.Match] | None = None
        self._uitgesteld: _Uitgesteld | None = None
        # Reads of youths' matches in this request, for the access log (NEN 7513): what was shown.
        self.inzage: list[dict[str, Any]] = []

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
        if self.uitgaand is None or not self.uitgaand.peers():
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
        if match.soort == GEZINSMATCH:
            return self._gezinsbeeld(match, voor, status)
        partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in actieve if a.instantie_id != voor.instantie_id)
        return self._met_regie(
            MatchBeeld(match.match_id, voor.melding_id, match.soort, status or match.status, match.ontstaan, partijen),
            match,
        )

    def _met_regie(self, beeld: MatchBeeld, match: m.Match) -> MatchBeeld:
        """Care coordination of a match: its coordinator's OIN and the latest recorded contact."""
        regievoerder = None
        if match.regievoerder_id is not None:
            regievoerder = self.repo.instanties_by_id([match.regievoerder_id])[match.regievoerder_id].oin
        if match.id is None:
            return replace(beeld, regievoerder=regievoerder, laatste_afstemming=None)  # new, not yet written
        if match.id not in self._afstemming:
            self._afstemming[match.id] = self.repo.laatste_afstemming(match.id)
        return replace(beeld, regievoerder=regievoerder, laatste_afstemming=self._afstemming[match.id])

    def _signaal(self, instantie_id: int, soort: str, melding_id: str, inhoud: dict[str, Any] | None) -> None:
        """One notification in the instantie's queue (pull, and push when it has a callback endpoint)."""
        waarden = {
            "instantie_id": instantie_id,
            "soort": soort,
            "tijdstip": self.nu,
            "melding_id": melding_id,
            "inhoud": compact(inhoud) if inhoud is not None else None,
        }
        if self._uitgesteld is not None:
            self._uitgesteld.signalen.append(waarden)  # numbered when written
            return
        signaal = m.Signaal(**waarden)
        signaal.volgnummer = self.repo.volgnummers(instantie_id, 1)
        self.repo.insert(signaal)

    def _tel(self, instantie_id: int, soort: str) -> None:
        if self._uitgesteld is not None:
            self._uitgesteld.tellingen.append({"tijdstip": self.nu, "instantie_id": instantie_id, "soort": soort})
        else:
            self.repo.tel(self.nu, instantie_id, soort)

    def _nieuw(self, row: m.Melding | m.Match) -> None:
        if self._uitgesteld is not None:
            self._uitgesteld.rijen.append(row)
        else:
            self.repo.insert(row)

    def _schrijf_uitgesteld(self) -> None:
        """Write the deferred rows: one executemany per table. Signal numbers are reserved per instantie
        (ascending instantie id, as everywhere) and handed out in the order the signals arose."""
        uitgesteld, self._uitgesteld = self._uitgesteld or _Uitgesteld(), None
        per_instantie: dict[int, list[dict[str, Any]]] = {}
        for signaal in uitgesteld.signalen:
            per_instantie.setdefault(signaal["instantie_id"], []).append(signaal)
        for instantie_id in sorted(per_instantie):
            eigen = per_instantie[instantie_id]
            eerste = self.repo.volgnummers(instantie_id, len(eigen))
            for n, signaal in enumerate(eigen):
                signaal["volgnummer"] = eerste + n
        for soort in (m.Melding, m.Match):
            self.repo.insert_alle(soort, [r for r in uitgesteld.rijen if isinstance(r, soort)])
        self.repo.insert_alle(m.Signaal, uitgesteld.signalen)
        self.repo.insert_alle(m.Telling, uitgesteld.tellingen)

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
                beeld = self._met_regie(
                    MatchBeeld(match.match_id, eigen.melding_id, match.soort, "beeindigd", match.ontstaan, partijen),
                    match,
                )
            else:
                beeld = self._beeld(match, eigen, actieve, instanties)
                if k.soort == "nieuweMatch":
                    self._tel(k.instantie, "clientmatches")
            self._signaal(k.instantie, k.soort, eigen.melding_id, beeld.to_json())

    # --- operations -------------------------------------------------------------------------

    def einddatum(self, zender: m.Instantie, gevraagd: date | None, afgegeven: date, xpath: str) -> date:
        """The planned end date within the instantie's melding lifetime (never above the law's)."""
        regels = self.regels
        if zender.melding_jaren is not None and zender.melding_jaren < regels.max_melding_jaren:
            regels = replace(regels, max_melding_jaren=zender.melding_jaren)
        return regels.geplande_einddatum(gevraagd, afgegeven, self.vandaag, xpath)

    def afgeven(
        self,
        zender: m.Instantie,
        jongere: Jongere,
        mb: Meldingsbevoegde,
        gevraagde_einddatum: date | None,
        bronsysteem: str,
        afgeschermd: bool = False,
        xp: str = "/kp:MeldingAfgeven",
    ) -> Afgegeven:
        if afgeschermd and not zender.mag_afschermen:
            raise RuleError(code="VIR-AFSCHERMEN-NIET-TOEGESTAAN", xpath=f"{xp}/kp:afgeschermd")
        einddatum = self.einddatum(zender, gevraagde_einddatum, self.vandaag, f"{xp}/kp:geplandeEinddatum")
        jongere_id = self.repo.lock_jongere(jongere.sleutel, jongere.geboortedatum)
        bekend = self.repo.meldingen_van_jongere(jongere_id)
        actieve = [a for a in bekend if a.status == ACTIEF]
        archief = [a for a in bekend if a.status == "gearchiveerd" and not a.archief_gemeld]
        if any(a.instantie_id == zender.id for a in actieve):
            raise RuleError(code="VIR-MELDING-BESTAAT-AL", xpath=f"{xp}/kp:jongere")
        melding = self._nieuwe_melding(zender, jongere_id, mb, einddatum, bronsysteem, afgeschermd)
        self.repo.insert(melding)
        self._tel(zender.id, "meldingen")
        self._doorgeven(melding, zender, jongere.sleutel)
        beelden = self._toetreden(melding, jongere_id, actieve, zender.id)
        kaarten = self._archiefsignaal(melding, zender, archief)
        self._gezin_na_wijziging(jongere_id, jongere.sleutel)
        return Afgegeven(melding.melding_id, einddatum, beelden, kaarten)

    def afgeven_reeks(
        self, zender: m.Instantie, aanvragen: Sequence[Aanvraag], bronsysteem: str
    ) -> list[Afgegeven | RuleError | None]:
        """A batch of filings, set-based: the youths locked in one statement, their meldingen and client
        matches read in one query each, and the new rows written with one executemany per table.

        The outcome per item is what ``afgeven`` would give, in the same order of checks. ``None`` for
        an item this path leaves to ``afgeven``: a youth that occurs more than once in the batch (the
        second filing must see the first), a youth with an archived melding not yet signalled, and every
        item while the population register relates youths (family matches). Those youths are not
        touched here, so the caller may file them one by one afterwards."""
        uitkomst: list[Afgegeven | RuleError | None] = [None] * len(aanvragen)
        if self._brp_gevuld():
            return uitkomst
        klaar: list[tuple[int, Aanvraag, date]] = []
        for i, a in enumerate(aanvragen):
            try:
                if a.afgeschermd and not zender.mag_afschermen:
                    raise RuleError(code="VIR-AFSCHERMEN-NIET-TOEGESTAAN", xpath=f"{a.xp}/kp:afgeschermd")
                klaar.append((i, a, self.einddatum(zender, a.einddatum, self.vandaag, f"{a.xp}/kp:geplandeEinddatum")))
            except RuleError as exc:
                uitkomst[i] = exc
        keer = Counter(a.jongere.sleutel for _, a, _ in klaar)
        klaar = [k for k in klaar if keer[k[1].jongere.sleutel] == 1]
        ids = self.repo.lock_jongeren({a.jongere.sleutel: a.jongere.geboortedatum for _, a, _ in klaar})
        bekend = self.repo.meldingen_van_jongeren(ids.values())
        self._clientmatches = self.repo.actieve_clientmatches(bekend)
        self._afstemming.update(self.repo.laatste_afstemmingen(x.id for x in self._clientmatches.values()))
        self._uitgesteld = _Uitgesteld()
        try:
            for i, a, einddatum in klaar:
                jongere_id = ids[a.jongere.sleutel]
                meldingen = bekend.get(jongere_id, [])
                if any(x.status == "gearchiveerd" and not x.archief_gemeld for x in meldingen):
                    continue
                actieve = [x for x in meldingen if x.status == ACTIEF]
                if any(x.instantie_id == zender.id for x in actieve):
                    uitkomst[i] = RuleError(code="VIR-MELDING-BESTAAT-AL", xpath=f"{a.xp}/kp:jongere")
                    continue
                melding = self._nieuwe_melding(zender, jongere_id, a.mb, einddatum, bronsysteem, a.afgeschermd)
                self._nieuw(melding)
                self._tel(zender.id, "meldingen")
                self._doorgeven(melding, zender, a.jongere.sleutel)
                beelden = self._toetreden(melding, jongere_id, actieve, zender.id)
                uitkomst[i] = Afgegeven(melding.melding_id, einddatum, beelden)
            self._schrijf_uitgesteld()
        finally:
            self._uitgesteld = None
            self._clientmatches = None
        return uitkomst

    def _nieuwe_melding(
        self,
        zender: m.Instantie,
        jongere_id: int,
        mb: Meldingsbevoegde,
        einddatum: date,
        bronsysteem: str,
        afgeschermd: bool,
    ) -> m.Melding:
        return m.Melding(
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
            afgeschermd=afgeschermd,
            verloop_gemeld=False,
            archief_gemeld=False,
        )

    def _archiefsignaal(
        self, melding: m.Melding, zender: m.Instantie, archief: list[m.Melding]
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
                nieuw = kaart(melding, zender)
                self._signaal(a.instantie_id, "archiefsignaal", a.melding_id, {"archief": [kaart_json(nieuw)]})
        self.repo.s.flush()
        if kaarten:
            self._signaal(
                zender.id, "archiefsignaal", melding.melding_id, {"archief": [kaart_json(k) for k in kaarten]}
            )
        return tuple(kaarten)

    def _toetreden(
        self, melding: m.Melding, jongere_id: int, actieve: list[m.Melding], instantie_id: int
    ) -> tuple[MatchBeeld, ...]:
        """A new active melding on a youth: create or widen the match and notify our parties."""
        wijziging = matching.bij_toetreden({a.instantie_id for a in actieve}, instantie_id)
        if wijziging.gebeurtenis is matching.Gebeurtenis.GEEN:
            return ()
        actieve.append(melding)
        if self._clientmatches is not None:
            match = self._clientmatches.get(jongere_id)
        else:
            match = self.repo.actieve_match(jongere_id)
        if match is None:
            match = m.Match(
                match_id=str(uuid.uuid4()), jongere_id=jongere_id, soort="clientmatch", status=ACTIEF, ontstaan=self.nu
            )
            self._nieuw(match)
            if match.id is not None:
                self._afstemming[match.id] = None  # arose in this transaction: no recorded contact yet
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
            melding.geplande_einddatum = self.einddatum(
                zender, einddatum, melding.afgegeven.date(), f"{xp}/kp:geplandeEinddatum"
            )
            melding.verloop_gemeld = False  # a new end date earns a new advance notice
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
        return self.einde(melding, reden)

    def einde(self, melding: m.Melding, reden: str) -> Beeindigd:
        """An active melding ends: its matches shrink or end (the other parties are notified), the
        other systems learn it, and it is archived (``risicoWeggenomen``, ``verlopen``) or deleted
        (``onterecht``, ``leeftijd``, ``overlijden``)."""
        jongere = self.repo.lock_jongere_by_id(melding.jongere_id)
        beeindigde = self._vertrek(melding)
        eigen = melding.bron_systeem is None
        if self.uitgaand is not None and eigen:
            self.uitgaand.intrekken(self._bron(melding, melding.versie + 1))
        melding.status = "gearchiveerd" if eigen and reden in ARCHIVEREN else "beeindigd"
        melding.beeindigd, melding.reden = self.nu, reden
        melding.versie += 1
        self.repo.s.flush()
        self._gezin_na_wijziging(melding.jongere_id, jongere.sleutel)
        if reden == "verlopen":
            self._tel(melding.instantie_id, "verlopen")
        if melding.status == "gearchiveerd":
            melding.archief_tot = plus_jaren(self.vandaag, self.regels.archief_jaren)
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

    def _brp_gevuld(self) -> bool:
        """Whether the population register holds anyone (asked once per transaction). An empty register
        relates no youths, and loading one recomputes every family match anyway."""
        if self._brp is None:
            self._brp = self.repo.brp_gevuld()
        return self._brp

    def verloopsignaal(self, melding: m.Melding) -> None:
        """The melding reaches its planned end date soon; its instantie may extend it."""
        inhoud = {"einddatum": melding.geplande_einddatum.isoformat()}
        self._signaal(melding.instantie_id, "meldingVerlooptBinnenkort", melding.melding_id, inhoud)

    def verhuissignaal(self, melding: m.Melding) -> None:
        """The youth of this active melding moved (population register); the address itself is not told."""
        self._signaal(melding.instantie_id, "verhuizing", melding.melding_id, None)

    # --- family matches (gezinsmatch) ---------------------------------------------------------

    def _gezin_na_wijziging(self, jongere_id: int, sleutel: str) -> None:
        """The youth's meldingen changed: recompute its family match and those of its related youths."""
        if not sleutel.startswith("bsn:") or not self._brp_gevuld():
            return  # only the population register relates youths, and it knows them by BSN
        verwanten = self.repo.verwanten(sleutel[4:])
        if not verwanten and self.repo.actieve_match(jongere_id, GEZINSMATCH) is None:
            return
        ids = {jongere_id, *self.repo.jongere_ids(f"bsn:{b}" for b in verwanten)}
        for jid in sorted(ids):
            self.herbereken_gezin(jid)

    def herbereken_gezin(self, jongere_id: int) -> None:
        """Bring one youth's family match up to date and notify each of our parties whose view changed.

        A youth's family match lists the active meldingen on related youths (a shared home address
        that is not an institution, or a shared parent, in the population register). Each party with
        an active melding on the youth sees those of *other* instanties: nieuweMatch when its view
        becomes non-empty, gewijzigdeMatch when it changes, beeindigdeMatch when it empties."""
        jongere = self.repo.s.get(m.Jongere, jongere_id)
        assert jongere is not None
        verwanten = self.repo.verwanten(jongere.sleutel[4:]) if jongere.sleutel.startswith("bsn:") else set()
        leden = [
            a for jid in self.repo.jongere_ids(f"bsn:{b}" for b in verwanten) for a in self.repo.actieve_meldingen(jid)
        ]
        kijkers = list(self.repo.actieve_meldingen(jongere_id))
        match = self.repo.actieve_match(jongere_id, GEZINSMATCH)
        oud: dict[str, list[int]] = json.loads(match.leden) if match is not None and match.leden else {}
        nieuw = {"leden": sorted(a.id for a in leden), "kijkers": sorted(k.id for k in kijkers)}
        if oud == nieuw:
            return
        meldingen = {a.id: a for a in [*leden, *kijkers]}
        for mid in {*oud.get("leden", []), *oud.get("kijkers", [])} - meldingen.keys():
            vroeger = self.repo.s.get(m.Melding, mid)
            if vroeger is not None:
                meldingen[mid] = vroeger
        instanties = self.repo.instanties_by_id(a.instantie_id for a in meldingen.values())

        def zicht(stand: dict[str, list[int]], kijker: int) -> list[m.Melding]:
            if kijker not in stand.get("kijkers", []):
                return []
            eigen = meldingen[kijker].instantie_id
            return [
                meldingen[i] for i in stand.get("leden", []) if i in meldingen and meldingen[i].instantie_id != eigen
            ]

        wijzigingen = []
        for kijker in sorted({*oud.get("kijkers", []), *nieuw["kijkers"]}):
            if kijker not in meldingen:
                continue
            voor, na = zicht(oud, kijker), zicht(nieuw, kijker)
            if {a.id for a in voor} != {a.id for a in na}:
                wijzigingen.append((meldingen[kijker], voor, na))
        actief = any(zicht(nieuw, k) for k in nieuw["kijkers"])
        if match is None:
            if not actief:
                return
            match = m.Match(
                match_id=str(uuid.uuid4()), jongere_id=jongere_id, soort=GEZINSMATCH, status=ACTIEF, ontstaan=self.nu
            )
            self.repo.add(match)
            self._afstemming[match.id] = None  # arose in this transaction: no recorded contact yet
        match.leden = compact(nieuw)
        if not actief:
            match.status, match.beeindigd = "beeindigd", self.nu
        self.repo.s.flush()
        for wie, voor, na in sorted(wijzigingen, key=lambda w: w[0].instantie_id):
            if instanties[wie.instantie_id].systeem is not None:
                continue  # another system's party: its own system notifies it
            soort = "nieuweMatch" if not voor else "beeindigdeMatch" if not na else "gewijzigdeMatch"
            partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in (na or voor))
            status = "beeindigd" if not na else ACTIEF
            beeld = MatchBeeld(match.match_id, wie.melding_id, GEZINSMATCH, status, match.ontstaan, partijen)
            if soort == "nieuweMatch":
                self._tel(wie.instantie_id, "gezinsmatches")
            self._signaal(wie.instantie_id, soort, wie.melding_id, self._met_regie(beeld, match).to_json())

    def _gezinsbeeld(self, match: m.Match, voor: m.Melding, status: str | None) -> MatchBeeld:
        ids = json.loads(match.leden or "{}").get("leden", [])
        leden = [a for a in (self.repo.s.get(m.Melding, i) for i in ids) if a is not None]
        leden = [a for a in leden if a.instantie_id != voor.instantie_id and a.status == ACTIEF]
        instanties = self.repo.instanties_by_id(a.instantie_id for a in leden)
        partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in leden)
        beeld = MatchBeeld(
            match.match_id, voor.melding_id, GEZINSMATCH, status or match.status, match.ontstaan, partijen
        )
        return self._met_regie(beeld, match)

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
                self._gezin_na_wijziging(jongere_id, sleutel)
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
        jongere = self.repo.lock_jongere_by_id(bestaand.jongere_id)
        self._gezin_na_wijziging(jongere.id, jongere.sleutel)
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
            beeld = self._beeld(match, melding, actieve, instanties)
            if beeld.partijen:
                beelden.append(beeld)
                gezien = {"meldingId": beeld.melding_id, "matchId": beeld.match_id, "soort": beeld.soort}
                self.inzage.append(gezien)
            else:
                totaal -= 1  # a family match of the youth in which this party sees only itself
        return totaal, tuple(beelden)

    # --- care coordination ---------------------------------------------------------------------

    def _eigen_match(self, zender: m.Instantie, match_id: str, xpath: str) -> tuple[m.Match, m.Melding]:
        """An active match on which the caller has an active melding (and so may see it)."""
        match = self.repo.match(match_id)
        eigen = None
        if match is not None and match.status == ACTIEF:
            self.repo.lock_jongere_by_id(match.jongere_id)
            eigen = next(
                (a for a in self.repo.actieve_meldingen(match.jongere_id) if a.instantie_id == zender.id), None
            )
        if match is None or eigen is None:
            raise RuleError(code="VIR-MATCH-ONBEKEND", xpath=xpath)
        return match, eigen

    def _partijen_van(self, match: m.Match) -> list[m.Melding]:
        if match.soort == GEZINSMATCH:
            ids = json.loads(match.leden or "{}")
            return [a for i in [*ids.get("leden", []), *ids.get("kijkers", [])] if (a := self.repo.s.get(m.Melding, i))]
        return list(self.repo.actieve_meldingen(match.jongere_id))

    def regievoerder(self, zender: m.Instantie, match_id: str, oin: str) -> MatchBeeld:
        xp = "/kp:RegievoerderVastleggen"
        match, eigen = self._eigen_match(zender, match_id, f"{xp}/kp:matchId")
        partijen = [a for a in self._partijen_van(match) if a.status == ACTIEF]
        instanties = self.repo.instanties_by_id(a.instantie_id for a in partijen)
        kandidaat = next((a for a in partijen if instanties[a.instantie_id].oin == oin and not a.afgeschermd), None)
        if kandidaat is None or not instanties[kandidaat.instantie_id].mag_regievoeren:
            raise RuleError(code="VIR-REGIEVOERDER-NIET-TOEGESTAAN", xpath=f"{xp}/kp:regievoerder")
        if match.regievoerder_id != kandidaat.instantie_id:
            match.regievoerder_id = kandidaat.instantie_id
            self.repo.s.flush()
            self._regie_gewijzigd(match, zender.id)
        return self._beeld(match, eigen, self.repo.actieve_meldingen(match.jongere_id), instanties)

    def afstemming(self, zender: m.Instantie, match_id: str, datum: date) -> MatchBeeld:
        xp = "/kp:AfstemmingVastleggen"
        match, eigen = self._eigen_match(zender, match_id, f"{xp}/kp:matchId")
        if datum > self.vandaag or datum < match.ontstaan.date():
            raise RuleError(code="VIR-AFSTEMMING-DATUM-ONGELDIG", xpath=f"{xp}/kp:datum")
        self.repo.insert(m.Afstemming(match_id=match.id, instantie_id=zender.id, datum=datum, vastgelegd=self.nu))
        self._tel(zender.id, "afstemmingen")
        actieve = self.repo.actieve_meldingen(match.jongere_id)
        return self._beeld(match, eigen, actieve, self.repo.instanties_by_id(a.instantie_id for a in actieve))

    def _regie_gewijzigd(self, match: m.Match, door: int) -> None:
        """The other parties of the match learn who coordinates (gewijzigdeMatch)."""
        actieve = list(self.repo.actieve_meldingen(match.jongere_id))
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        if match.soort == GEZINSMATCH:
            for a in actieve:
                if a.instantie_id != door and instanties[a.instantie_id].systeem is None:
                    beeld = self._gezinsbeeld(match, a, None)
                    if beeld.partijen:
                        self._signaal(a.instantie_id, "gewijzigdeMatch", a.melding_id, beeld.to_json())
            return
        self._signaleer(
            matching.bij_wijziging({a.instantie_id for a in actieve}, door), match, actieve, actieve[0], instanties
        )

    # --- automation ----------------------------------------------------------------------------

    def casus(
        self,
        zender: m.Instantie,
        gebeurtenis: str,
        casustype: str,
        jongere: Jongere,
        mb: Meldingsbevoegde | None,
        reden: str | None,
        bronsysteem: str,
    ) -> CasusResultaat:
        """A case event of the partner's record system, applied as its instantie's profile says."""
        xp = "/kp:CasusGebeurtenis"
        if gebeurtenis in ("gestart", "overgedragen") and mb is None:
            raise RuleError(code="VIR-MELDINGSBEVOEGDE-ONTBREEKT", xpath=f"{xp}/kp:meldingsbevoegde")
        jongere_id = self.repo.bestaande_jongere(jongere.sleutel)
        eigen = None
        if jongere_id is not None:
            self.repo.lock_jongere_by_id(jongere_id)
            eigen = next((a for a in self.repo.actieve_meldingen(jongere_id) if a.instantie_id == zender.id), None)
        if gebeurtenis == "gestart":
            assert mb is not None
            if casustype not in set(json.loads(zender.auto_casustypen or "[]")):
                return CasusResultaat("geen", "casustypeHandmatig")
            if eigen is not None:
                return CasusResultaat("geen", "meldingBestaatAl", self._huidig(eigen))
            return CasusResultaat(
                "afgegeven", "casustypeAutomatisch", self.afgeven(zender, jongere, mb, None, bronsysteem, xp=xp)
            )
        if eigen is None:
            return CasusResultaat("geen", "geenActieveMelding")
        if gebeurtenis == "overgedragen":
            r = self.wijzigen(zender, eigen.melding_id, mb, None, bronsysteem)
            return CasusResultaat("overgedragen", "meldingOvergedragen", r)
        self.einde(eigen, reden or "risicoWeggenomen")
        return CasusResultaat(
            "beeindigd", "meldingBeeindigd", Afgegeven(eigen.melding_id, eigen.geplande_einddatum, ())
        )

    def _huidig(self, melding: m.Melding) -> Afgegeven:
        actieve = self.repo.actieve_meldingen(melding.jongere_id)
        instanties = self.repo.instanties_by_id(a.instantie_id for a in actieve)
        beelden = [
            self._beeld(match, melding, actieve, instanties) for match in self.repo.actieve_matches(melding.jongere_id)
        ]
        return Afgegeven(melding.melding_id, melding.geplande_einddatum, tuple(b for b in beelden if b.partijen))

    def signalen_ophalen(self, zender: m.Instantie, vanaf: int | None, maximaal: int) -> Signalen:
        na = zender.signaal_bevestigd if vanaf is None else vanaf
        rijen = self.repo.signalen_na(zender.id, na, maximaal + 1)
        signalen = tuple(signaal_beeld(r) for r in rijen[:maximaal])
        for sig in signalen:
            if sig.match is not None:
                self.inzage.append(
                    {"meldingId": sig.melding_id, "matchId": sig.match.match_id, "soort": sig.match.soort}
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
