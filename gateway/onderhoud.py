"""Retention: ``vir-gateway onderhoud``, and on a schedule in ``vir-gateway worker``.

What the law asks (each number configurable, see ``gateway.config``):

- an active melding ends at the earliest of its planned end date (``verlopen``: archived), the
  youth's 23rd birthday (``leeftijd``) or death (``overlijden``), both deleted; ending it ends or
  shrinks its matches and notifies the other parties, as a chain partner's own ending would;
- an archived melding is destroyed after its archive period, or at the youth's 23rd birthday or death;
- a youth with no meldingen left is forgotten (its key, its ended matches);
- chain partners get ``meldingVerlooptBinnenkort`` a configurable number of days before their
  melding's planned end date, once per end date;
- what is kept beside the meldingen has a lifetime too (docs/privacy.md): stored answers for the retry
  window (``herhaalvenster_dagen``), signals until acknowledged (and pushed) or ``signaal_dagen`` old,
  WS-Addressing MessageIDs for twice the timestamp window; on SQLite the write-ahead log is then emptied
  into the file (whose deleted rows ``secure_delete`` has zeroed).
- log payloads older than the log retention are removed by a logged redaction (``gateway/log/redactie.py``);
- federation (docs/federation.md): another system's copy expires like ours (and leaves a tombstone); on a node
  that is no hub, copies on a youth without an active melding of ours go; our youths get the pseudonym under
  the federation key in use; other systems' instanties that nothing refers to any more are forgotten.

Birth and death dates come from the melding (birth date given by the filer) and from the embedded
population register. Each run works in transactions of at most ``PARTIJ`` meldingen, so a nightly
run over many meldingen never holds the index for long; a run that is interrupted is simply repeated
(every step looks at the current state). Every run is one ``beheer`` entry in the signed message
log listing what it did by meldingId (never a BSN).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.config import Settings
from gateway.domain.regels import Regels, plus_jaren
from gateway.domain.soorten import Reden
from gateway.index import Verwijsindex
from gateway.log.logboek import Logboek, plus_jaren_tijd
from gateway.log.regel import Logregel, tijdstempel
from gateway.sleutels import pseudoniemen, sleutelring
from store import models as m
from store.db import Database
from store.federatie import FederatieOpslag
from store.getuigen import Getuigen
from store.outbox import Outbox
from store.repository import Repository
from store.retentie import Retentie

log = logging.getLogger(__name__)

PARTIJ = 500


@dataclass
class Verslag:
    """What one run did, by meldingId."""

    beeindigd: dict[str, list[str]] = field(default_factory=dict)  # reason → meldingIds
    vernietigd: list[str] = field(default_factory=list)  # archived meldingen destroyed
    verloopsignalen: list[str] = field(default_factory=list)
    jongeren_vergeten: int = 0
    antwoorden_vergeten: int = 0  # stored answers past the retry window
    signalen_vergeten: int = 0  # signals handled, or past their lifetime
    getuigen_vergeten: int = 0  # witness records past the log retention
    beheerders_vergeten: int = 0  # revoked console operators and designated professionals past the log retention
    kopieen_vergeten: int = 0  # other systems' meldingen on youths without one of ours (no hub)
    partijen_vergeten: int = 0  # other systems' instanties nothing refers to any more

    def json(self) -> bytes:
        return json.dumps(
            {
                "beeindigd": self.beeindigd,
                "vernietigd": self.vernietigd,
                "verloopsignalen": self.verloopsignalen,
                "jongerenVergeten": self.jongeren_vergeten,
                "antwoordenVergeten": self.antwoorden_vergeten,
                "signalenVergeten": self.signalen_vergeten,
                "getuigenVergeten": self.getuigen_vergeten,
                "beheerdersVergeten": self.beheerders_vergeten,
                "kopieenVergeten": self.kopieen_vergeten,
                "partijenVergeten": self.partijen_vergeten,
            },
            sort_keys=True,
        ).encode()

    def samenvatting(self) -> str:
        per_reden = ", ".join(f"{r} {len(ids)}" for r, ids in sorted(self.beeindigd.items())) or "geen"
        return (
            f"beëindigd: {per_reden}; archief vernietigd: {len(self.vernietigd)}; "
            f"verloopsignalen: {len(self.verloopsignalen)}; jongeren vergeten: {self.jongeren_vergeten}; "
            f"antwoorden vergeten: {self.antwoorden_vergeten}; signalen vergeten: {self.signalen_vergeten}; "
            f"kopieën vergeten: {self.kopieen_vergeten}; partijen vergeten: {self.partijen_vergeten}"
        )


def onderhoud(settings: Settings, db: Database, logboek: Logboek, nu: datetime, *, actor: str = "onderhoud") -> Verslag:
    """One retention run at ``nu``; safe to repeat, and safe beside a running gateway. ``actor``: who the
    log names, the operator for a run by hand, ``onderhoud`` for the worker's scheduled run."""
    regels = Regels(settings.max_melding_jaren, settings.max_leeftijd, settings.archief_jaren)
    vandaag = nu.date()
    verslag = Verslag()

    def in_partijen(kies: Callable[[Retentie], Sequence[int]], doe: Callable[[Verwijsindex, m.Melding], None]) -> None:
        while True:
            with db.transaction() as s:
                retentie = Retentie(s)
                ids = kies(retentie)
                if not ids:
                    return
                index = Verwijsindex(
                    Repository(s),
                    regels,
                    nu,
                    Outbox(s, settings.systeem, settings.federatie_hub, nu, pseudoniemen(settings)),
                )
                for rij_id in ids:
                    melding = retentie.melding(rij_id)
                    if melding is not None:
                        doe(index, melding)
                index.afronden()
            if len(ids) < PARTIJ:
                return

    def in_jongeren(kies: Callable[[FederatieOpslag], Sequence[int]], doe: Callable[[Verwijsindex, int], None]) -> None:
        while True:
            with db.transaction() as s:
                repo = Repository(s)
                ids = kies(repo.federatie())
                index = Verwijsindex(
                    repo, regels, nu, Outbox(s, settings.systeem, settings.federatie_hub, nu, pseudoniemen(settings))
                )
                for jongere_id in ids:
                    doe(index, jongere_id)
                index.afronden()
            if len(ids) < PARTIJ:
                return

    def _kennis_vervalt(index: Verwijsindex, jongere_id: int) -> None:
        repo = index.repo
        repo.lock_jongere_by_id(jongere_id)
        kopieen = [a for a in repo.actieve_meldingen(jongere_id) if a.bron_systeem is not None]
        verslag.kopieen_vergeten += len(kopieen)
        index.kennis_vervalt(jongere_id, kopieen)

    def beeindig(reden: Reden) -> Callable[[Verwijsindex, m.Melding], None]:
        def doe(index: Verwijsindex, melding: m.Melding) -> None:
            verslag.beeindigd.setdefault(reden, []).append(melding.melding_id)
            index.einde(melding, reden)

        return doe

    # 1. Youths who turned 23 or died: every melding goes, active or archived.
    with db.transaction(write=False) as s:
        # Born on or before this date: 23 or older.
        weg = Retentie(s).jongeren_te_verwijderen(vandaag, plus_jaren(vandaag, -regels.max_leeftijd))
    for reden in (Reden.OVERLIJDEN, Reden.LEEFTIJD):
        jongeren = [j for j, r in weg.items() if r == reden]
        if jongeren:

            def kies(retentie: Retentie, jongeren: list[int] = jongeren) -> Sequence[int]:
                # The youths a few thousand at a time, so the IN list stays small.
                for i in range(0, len(jongeren), PARTIJ * 4):
                    if ids := retentie.actieve_meldingen_van(jongeren[i : i + PARTIJ * 4], PARTIJ):
                        return ids
                return []

            in_partijen(kies, beeindig(reden))

    # 2. Planned end date reached: expiry, archived.
    in_partijen(lambda retentie: retentie.verlopen_meldingen(vandaag, PARTIJ), beeindig(Reden.VERLOPEN))

    # 2b. Federation (docs/federation.md): on a node that is no hub, other systems' copies on youths without a
    # melding of ours go; and our youths are known to the peers by the pseudonym under the key in use.
    if not settings.federatie_hub:
        in_jongeren(lambda f: f.jongeren_met_alleen_kopieen(PARTIJ), _kennis_vervalt)
    with db.transaction(write=False) as s:
        federeert = bool(Repository(s).peers())
    if federeert:
        huidig = f"psn:{sleutelring(settings, 'federatie').huidig}:"
        naar_pseudoniem = pseudoniemen(settings)
        while True:
            with db.transaction() as s:
                federatie = Repository(s).federatie()
                rijen = federatie.zonder_pseudoniem(huidig, PARTIJ)
                for jongere_id, sleutel in rijen:
                    federatie.zet_pseudoniem(jongere_id, naar_pseudoniem(sleutel))
            if len(rijen) < PARTIJ:
                break

    # 3. The archive: destroyed after its period, or at 23 / death; 4. youths with nothing left are forgotten.
    with db.transaction() as s:
        retentie = Retentie(s)
        verslag.vernietigd.extend(retentie.vernietig_archief(vandaag, weg))
        verslag.jongeren_vergeten = retentie.vergeet_lege_jongeren()
        verslag.partijen_vergeten = Repository(s).federatie().externe_instanties_vergeten()

    # 5. Advance notice of expiry, once per planned end date, to our own instanties.
    grens = vandaag + timedelta(days=settings.verloop_waarschuwing_dagen)

    def meld_verloop(index: Verwijsindex, melding: m.Melding) -> None:
        melding.verloop_gemeld = True
        index.verloopsignaal(melding)
        verslag.verloopsignalen.append(melding.melding_id)

    in_partijen(lambda retentie: retentie.te_waarschuwen(grens, PARTIJ), meld_verloop)

    # 6. Log payloads past the log retention: one logged redaction naming them.
    logboek.bewaartermijn(nu)

    with db.transaction() as s:
        retentie = Retentie(s)
        # MessageIDs of signed requests are needed only as long as their Timestamp could pass: the window
        # either side of the (real) clock that checks them.
        retentie.vergeet_message_ids(datetime.now(UTC) - timedelta(seconds=2 * settings.wss_venster))
        # Stored answers after the retry window; signals once handled, or when too old (docs/privacy.md).
        verslag.antwoorden_vergeten = retentie.vergeet_antwoorden(nu - timedelta(days=settings.herhaalvenster_dagen))
        verslag.signalen_vergeten = retentie.vergeet_signalen(nu - timedelta(days=settings.signaal_dagen))
        retentie.vergeet_afgeleverd()
        # Witness records and revoked console operators after the log retention (docs/privacy.md).
        verslag.getuigen_vergeten = Getuigen(s).vergeet_voor(
            tijdstempel(plus_jaren_tijd(nu, -settings.log_bewaar_jaren))
        )
        log_grens = plus_jaren_tijd(nu, -settings.log_bewaar_jaren)
        verslag.beheerders_vergeten = retentie.vergeet_beheerders(log_grens) + retentie.vergeet_bevoegden(log_grens)
        logboek.schrijf(s, [Logregel(logboek.nu(), "beheer", "onderhoud", actor, verslag.json())])
    db.wal_legen()
    logboek.misschien_checkpoint()
    log.info("retention run at %s: %s", nu.isoformat(), verslag.samenvatting())
    return verslag
