"""What every use case of the index shares: the state of one transaction, the contact cards of meldingen,
the views of a match, and the signals and counts a request gives rise to.

Signals and counts are collected while a request runs and written by ``afronden`` at its end, one
executemany per table: nothing reads them back within the request, and the sequence numbers of the
signals are then reserved per instantie in ascending instantie id, so two transactions never wait for
each other in a cycle.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from gateway.domain import matching
from gateway.domain.model import Contactkaart, MatchBeeld, Meldingsbevoegde, SignaalBeeld, kaarten_uit_json
from gateway.domain.regels import Regels
from gateway.domain.soorten import MatchSoort, MatchStatus, MeldingStatus, SignaalSoort
from gateway.errors import RuleError
from store import models as m
from store.outbox import Outbox
from store.register import Profiel
from store.repository import Repository

# Shown for a shielded melding whose instantie no longer has a shielding contact in its profile.
ANONIEME_KAART = Contactkaart(
    "0" * 20, "Afgeschermde melding", None, Meldingsbevoegde("Neem contact op met de verwijsindex"), "vir-gateway"
)


def afschermkaart(instantie: Profiel | m.Instantie) -> Contactkaart:
    if not instantie.afschermcontact:
        return ANONIEME_KAART
    return Contactkaart.uit_json(json.loads(instantie.afschermcontact))


def kaart(melding: m.Melding, instantie: Profiel | m.Instantie) -> Contactkaart:
    """The contact card others see of a melding: for a shielded one, the instantie's shielding contact
    and never the filing instantie or professional. Every card that leaves the index is made here."""
    if melding.afgeschermd:
        return afschermkaart(instantie)
    meldingsbevoegde = Meldingsbevoegde(melding.mb_naam, melding.mb_functie, melding.mb_telefoon, melding.mb_email)
    return Contactkaart(instantie.oin, instantie.naam, instantie.vestiging, meldingsbevoegde, melding.bronsysteem)


def signaal_beeld(rij: m.Signaal) -> SignaalBeeld:
    return SignaalBeeld.uit_opslag(
        rij.volgnummer, rij.soort, rij.tijdstip, rij.melding_id, json.loads(rij.inhoud) if rij.inhoud else None
    )


_COMPACT = json.JSONEncoder(separators=(",", ":"))


def compact(d: Any) -> str:
    """``json.dumps(d, separators=(",", ":"))``, with one encoder for all: ``dumps`` builds a new one for every
    call that sets an option, a fifth of what encoding a match's view cost."""
    return _COMPACT.encode(d)


class Kern:
    """The index inside one transaction. The caller owns the transaction, so the meldingen, their matches,
    the signals and (later) the log entry and outbox rows commit together; it calls ``afronden`` when the
    use case is done."""

    def __init__(self, repo: Repository, regels: Regels, nu: datetime, outbox: Outbox | None = None) -> None:
        self.repo = repo
        self.regels = regels
        self.nu = nu
        self.vandaag = nu.date()
        self.outbox = outbox
        self._brp: bool | None = None
        self._afstemming: dict[int, date | None] = {}
        self._gemeenten: dict[tuple[str, int], str | None] = {}  # where counts belong, asked once per request
        # Signals and counts of this request, written by ``afronden`` (plain column values: building ORM
        # objects for them costs more than writing them).
        self._signalen: list[dict[str, Any]] = []
        self._tellingen: list[tuple[int, str, str | None, int | None]] = []  # (instantie, kind, municipality, number)
        # Reads of youths' matches in this request, for the access log (NEN 7513): what was shown.
        self.inzage: list[dict[str, Any]] = []
        # Meldingen ended as ``onterecht`` in this request: their log payloads are redacted at once.
        self.te_redigeren: list[str] = []

    # --- signals and counts ---------------------------------------------------------------------

    def _signaal(self, instantie_id: int, soort: SignaalSoort, melding_id: str, inhoud: dict[str, Any] | None) -> None:
        """One notification in the instantie's queue (pull, and push when it has a callback endpoint);
        numbered when written."""
        self._signalen.append(
            {
                "instantie_id": instantie_id,
                "soort": soort.value,
                "tijdstip": self.nu,
                "melding_id": melding_id,
                "inhoud": compact(inhoud) if inhoud is not None else None,
            }
        )

    def _gemeente(self, instantie_id: int, jongere_id: int | None = None) -> str | None:
        """Where a count belongs (docs/rapportage.md): the youth's municipality in the population register,
        else the instantie's (its profile); None when neither is known."""
        if jongere_id is not None and self._brp_gevuld():
            if ("jongere", jongere_id) not in self._gemeenten:
                self._gemeenten["jongere", jongere_id] = self.repo.bevolkingsregister().gemeente_van_jongere(jongere_id)
            if (woont := self._gemeenten["jongere", jongere_id]) is not None:
                return woont
        if ("instantie", instantie_id) not in self._gemeenten:
            self._gemeenten["instantie", instantie_id] = self.repo.inhoudkern(instantie_id).gemeente
        return self._gemeenten["instantie", instantie_id]

    def _tel(self, instantie_id: int, soort: str, *, jongere_id: int | None = None, waarde: int | None = None) -> None:
        """Count an event of the instantie for management information, where ``_gemeente`` places it;
        ``waarde`` for kinds that carry a number (never a youth)."""
        self._tel_in(self._gemeente(instantie_id, jongere_id), instantie_id, soort, waarde)

    def _tel_in(self, gemeente: str | None, instantie_id: int, soort: str, waarde: int | None = None) -> None:
        """Count an event in ``gemeente`` (None: unknown)."""
        self._tellingen.append((instantie_id, soort, gemeente, waarde))

    def afronden(self) -> None:
        """Write the signals and counts of the request: one executemany per table. Signal numbers are
        reserved per instantie (ascending instantie id, as everywhere) and handed out in the order the
        signals arose."""
        signalen, self._signalen = self._signalen, []
        tellingen, self._tellingen = self._tellingen, []
        per_instantie: dict[int, list[dict[str, Any]]] = {}
        for signaal in signalen:
            per_instantie.setdefault(signaal["instantie_id"], []).append(signaal)
        for instantie_id in sorted(per_instantie):
            eigen = per_instantie[instantie_id]
            eerste = self.repo.volgnummers(instantie_id, len(eigen))
            for n, signaal in enumerate(eigen):
                signaal["volgnummer"] = eerste + n
        self.repo.insert_alle(m.Signaal, signalen)
        self.repo.tellingen(self.nu, Counter(tellingen))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint of the store and of the signals and counts not yet written: leaving it with an
        exception undoes both."""
        signalen, tellingen = len(self._signalen), len(self._tellingen)
        try:
            with self.repo.savepoint():
                yield
        except BaseException:
            del self._signalen[signalen:]
            del self._tellingen[tellingen:]
            raise

    # --- reading ----------------------------------------------------------------------------------

    def _eigen_melding(self, zender: Profiel, melding_id: str) -> m.Melding:
        """The sender's own active melding (refusals name the field ``meldingId``)."""
        melding = self.repo.melding(melding_id)
        if melding is None:
            raise RuleError(code="VIR-MELDING-ONBEKEND", veld="meldingId")
        if melding.instantie_id != zender.id:
            # The same answer shape as "unknown" would hide existence, but the owner needs to know
            # why; meldingIds are random UUIDs, so this reveals nothing about a youth.
            raise RuleError(code="VIR-MELDING-NIET-EIGEN", veld="meldingId")
        if melding.status != MeldingStatus.ACTIEF:
            raise RuleError(code="VIR-MELDING-NIET-ACTIEF", veld="meldingId")
        return melding

    def _meldingen(self, rij_ids: Iterable[int]) -> list[m.Melding]:
        """Meldingen by row id (the members of a family match); one that is gone is left out."""
        return [melding for i in rij_ids if (melding := self.repo.melding_by_rij(i)) is not None]

    def _brp_gevuld(self) -> bool:
        """Whether the population register holds anyone (asked once per transaction). An empty register
        relates no youths, and loading one recomputes every family match anyway."""
        if self._brp is None:
            self._brp = self.repo.brp_gevuld()
        return self._brp

    # --- views of a match -------------------------------------------------------------------------

    def _beeld(
        self,
        match: m.Match,
        voor: m.Melding,
        actieve: Sequence[m.Melding],
        instanties: Mapping[int, Profiel],
        status: str | None = None,
    ) -> MatchBeeld:
        """The match as the party of melding ``voor`` sees it."""
        if match.soort == MatchSoort.GEZINSMATCH:
            return self._gezinsbeeld(match, voor, status)
        partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in actieve if a.instantie_id != voor.instantie_id)
        return self._met_regie(
            MatchBeeld(match.match_id, voor.melding_id, match.soort, status or match.status, match.ontstaan, partijen),
            match,
        )

    def _gezinsbeeld(self, match: m.Match, voor: m.Melding, status: str | None) -> MatchBeeld:
        stand = json.loads(match.leden or "{}")
        leden = [a for a in self._meldingen(stand.get("leden", [])) if a.instantie_id != voor.instantie_id]
        leden = [a for a in leden if a.status == MeldingStatus.ACTIEF]
        instanties = self.repo.instanties_by_id(a.instantie_id for a in leden)
        partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in leden)
        # What the hub found in other systems (docs/federation.md): contact cards only.
        partijen += kaarten_uit_json(stand.get("extern", {}).get(voor.melding_id, {}).get("kaarten", []))
        beeld = MatchBeeld(
            match.match_id, voor.melding_id, MatchSoort.GEZINSMATCH, status or match.status, match.ontstaan, partijen
        )
        return self._met_regie(beeld, match)

    def _met_regie(self, beeld: MatchBeeld, match: m.Match) -> MatchBeeld:
        """Care coordination of a match: its coordinator's OIN and the latest recorded contact."""
        regievoerder = None
        if match.regievoerder_id is not None:
            regievoerder = self.repo.instanties_by_id([match.regievoerder_id])[match.regievoerder_id].oin
        if match.id is None:
            afstemming = None  # new, not yet written
        else:
            if match.id not in self._afstemming:
                self._afstemming[match.id] = self.repo.laatste_afstemming(match.id)
            afstemming = self._afstemming[match.id]
        if regievoerder == beeld.regievoerder and afstemming == beeld.laatste_afstemming:
            return beeld  # a batch's new matches: nothing to add (a copy costs as much as the view)
        return replace(beeld, regievoerder=regievoerder, laatste_afstemming=afstemming)

    def _signaleer(
        self,
        wijziging: matching.MatchWijziging,
        match: m.Match,
        actieve: Sequence[m.Melding],
        betrokken: m.Melding,
        instanties: Mapping[int, Profiel],
    ) -> dict[int, MatchBeeld]:
        """One signal per notice of a client match that changed, to each of our parties. Returns the views
        the signals carry, by instantie id (a new filer's is also its answer)."""
        beelden: dict[int, MatchBeeld] = {}
        per_instantie = {a.instantie_id: a for a in actieve}
        per_instantie.setdefault(betrokken.instantie_id, betrokken)
        for kennisgeving in sorted(wijziging.kennisgevingen, key=lambda k: k.instantie):
            if instanties[kennisgeving.instantie].systeem is not None:
                continue  # another system's party: its own system notifies it
            eigen = per_instantie[kennisgeving.instantie]
            if kennisgeving.soort == SignaalSoort.BEEINDIGDE_MATCH:
                # The parties the match was with, from this party's side.
                # Other systems' cards do not outlive the match here: a node that is no hub forgets a copy
                # when its own last melding on the youth ends, and a copy leaves with its card
                # (docs/federation.md).
                if kennisgeving.instantie == betrokken.instantie_id:
                    anderen = [a for a in actieve if a.instantie_id != kennisgeving.instantie and not a.bron_systeem]
                else:
                    anderen = [betrokken] if betrokken.bron_systeem is None else []
                partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in anderen)
                beeld = self._met_regie(
                    MatchBeeld(
                        match.match_id, eigen.melding_id, match.soort, MatchStatus.BEEINDIGD, match.ontstaan, partijen
                    ),
                    match,
                )
            else:
                beeld = self._beeld(match, eigen, actieve, instanties)
                if kennisgeving.soort == SignaalSoort.NIEUWE_MATCH:
                    self._tel(kennisgeving.instantie, "clientmatches", jongere_id=match.jongere_id)
            beelden[kennisgeving.instantie] = beeld
            self._signaal(kennisgeving.instantie, kennisgeving.soort, eigen.melding_id, beeld.to_json())
        return beelden
