"""Retention: ``vir-gateway onderhoud``, and on a schedule in ``vir-gateway worker``.

What the law asks (each number configurable, see ``gateway.config``):

- an active melding ends at the earliest of its planned end date (``verlopen``: archived), the
  youth's 23rd birthday (``leeftijd``) or death (``overlijden``), both deleted; ending it ends or
  shrinks its matches and notifies the other parties, as a chain partner's own ending would;
- an archived melding is destroyed after its archive period, or at the youth's 23rd birthday or death;
- a youth with no meldingen left is forgotten (its key, its ended matches);
- chain partners get ``meldingVerlooptBinnenkort`` a configurable number of days before their
  melding's planned end date, once per end date;
- log payloads older than the log retention are removed by a logged redaction (``gateway/log/redactie.py``).

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
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, exists, literal, or_, select
from sqlalchemy.orm import Session

from federation.outbox import Uitgaand
from gateway.config import Settings
from gateway.domain.regels import Regels, plus_jaren
from gateway.index import Verwijsindex
from gateway.log.logboek import Logboek
from gateway.log.regel import Regel
from store import models as m
from store.db import Database
from store.repository import ACTIEF, Repository

log = logging.getLogger(__name__)

PARTIJ = 500


@dataclass
class Verslag:
    """What one run did, by meldingId."""

    beeindigd: dict[str, list[str]] = field(default_factory=dict)  # reason → meldingIds
    vernietigd: list[str] = field(default_factory=list)  # archived meldingen destroyed
    verloopsignalen: list[str] = field(default_factory=list)
    jongeren_vergeten: int = 0

    def json(self) -> bytes:
        return json.dumps(
            {
                "beeindigd": self.beeindigd,
                "vernietigd": self.vernietigd,
                "verloopsignalen": self.verloopsignalen,
                "jongerenVergeten": self.jongeren_vergeten,
            },
            sort_keys=True,
        ).encode()

    def samenvatting(self) -> str:
        per_reden = ", ".join(f"{r} {len(ids)}" for r, ids in sorted(self.beeindigd.items())) or "geen"
        return (
            f"beëindigd: {per_reden}; archief vernietigd: {len(self.vernietigd)}; "
            f"verloopsignalen: {len(self.verloopsignalen)}; jongeren vergeten: {self.jongeren_vergeten}"
        )


def weg_redenen(session: Session, vandaag: date, regels: Regels) -> dict[int, str]:
    """Youths whose meldingen must all go today, by id: ``overlijden`` (died) or ``leeftijd`` (23 or
    older), from the birth date on record and the population register."""
    grens = plus_jaren(vandaag, -regels.max_leeftijd)  # born on or before this date: 23 or older
    p = m.BrpPersoon
    overleden = p.overlijdensdatum.is_not(None) & (p.overlijdensdatum <= vandaag)
    uit_brp = (
        select(m.Jongere.id, overleden)
        .join(p, m.Jongere.sleutel == literal("bsn:") + p.bsn)
        .where(overleden | (p.geboortedatum <= grens))
    )
    redenen = {jid: "leeftijd" for jid in session.scalars(select(m.Jongere.id).where(m.Jongere.geboortedatum <= grens))}
    for jid, dood in session.execute(uit_brp):
        redenen[jid] = "overlijden" if dood else "leeftijd"
    return redenen


def onderhoud(settings: Settings, db: Database, logboek: Logboek, nu: datetime) -> Verslag:
    """One retention run at ``nu``; safe to repeat, and safe beside a running gateway."""
    regels = Regels(settings.max_melding_jaren, settings.max_leeftijd, settings.archief_jaren)
    vandaag = nu.date()
    verslag = Verslag()

    def in_partijen(kies: Callable[[Session], Sequence[int]], doe: Callable[[Verwijsindex, m.Melding], None]) -> None:
        while True:
            with db.transaction() as s:
                ids = kies(s)
                if not ids:
                    return
                ix = Verwijsindex(Repository(s), regels, nu, Uitgaand(s, settings.systeem, settings.federatie_hub, nu))
                for mid in ids:
                    melding = s.get(m.Melding, mid)
                    if melding is not None:
                        doe(ix, melding)
            if len(ids) < PARTIJ:
                return

    def beeindig(reden: str) -> Callable[[Verwijsindex, m.Melding], None]:
        def doe(ix: Verwijsindex, melding: m.Melding) -> None:
            verslag.beeindigd.setdefault(reden, []).append(melding.melding_id)
            ix.einde(melding, reden)

        return doe

    # 1. Youths who turned 23 or died: every melding goes, active or archived.
    with db.transaction(write=False) as s:
        weg = weg_redenen(s, vandaag, regels)
    for reden in ("overlijden", "leeftijd"):
        jongeren = [j for j, r in weg.items() if r == reden]
        if jongeren:

            def kies(s: Session, jongeren: list[int] = jongeren) -> Sequence[int]:
                return s.scalars(
                    select(m.Melding.id)
                    .where(m.Melding.jongere_id.in_(jongeren[: PARTIJ * 4]), m.Melding.status == ACTIEF)
                    .order_by(m.Melding.id)
                    .limit(PARTIJ)
                ).all() or ([] if len(jongeren) <= PARTIJ * 4 else kies(s, jongeren[PARTIJ * 4 :]))

            in_partijen(kies, beeindig(reden))

    # 2. Planned end date reached: expiry, archived.
    in_partijen(
        lambda s: s.scalars(
            select(m.Melding.id)
            .where(m.Melding.status == ACTIEF, m.Melding.geplande_einddatum <= vandaag)
            .order_by(m.Melding.id)
            .limit(PARTIJ)
        ).all(),
        beeindig("verlopen"),
    )

    # 3. The archive: destroyed after its period, or at 23 / death.
    with db.transaction() as s:
        ids = list(weg)
        archief = s.scalars(
            select(m.Melding).where(
                m.Melding.status == "gearchiveerd",
                or_(m.Melding.archief_tot <= vandaag, m.Melding.jongere_id.in_(ids) if ids else m.Melding.id < 0),
            )
        ).all()
        for a in archief:
            verslag.vernietigd.append(a.melding_id)
            s.delete(a)
        s.flush()
        # 4. Youths with nothing left on record are forgotten.
        leeg = select(m.Jongere.id).where(~exists().where(m.Melding.jongere_id == m.Jongere.id))
        vergeten = s.scalars(leeg).all()
        if vergeten:
            matches = select(m.Match.id).where(m.Match.jongere_id.in_(vergeten))
            s.execute(delete(m.Afstemming).where(m.Afstemming.match_id.in_(matches)))
            s.execute(delete(m.Match).where(m.Match.jongere_id.in_(vergeten)))
            s.execute(delete(m.Jongere).where(m.Jongere.id.in_(vergeten)))
        verslag.jongeren_vergeten = len(vergeten)

    # 5. Advance notice of expiry, once per planned end date, to our own instanties.
    grens = vandaag + timedelta(days=settings.verloop_waarschuwing_dagen)

    def kies_verloop(s: Session) -> Sequence[int]:
        return s.scalars(
            select(m.Melding.id)
            .where(
                m.Melding.status == ACTIEF,
                m.Melding.bron_systeem.is_(None),
                m.Melding.verloop_gemeld.is_(False),
                m.Melding.geplande_einddatum <= grens,
            )
            .order_by(m.Melding.id)
            .limit(PARTIJ)
        ).all()

    def meld_verloop(ix: Verwijsindex, melding: m.Melding) -> None:
        melding.verloop_gemeld = True
        ix.verloopsignaal(melding)
        verslag.verloopsignalen.append(melding.melding_id)

    in_partijen(kies_verloop, meld_verloop)

    # 6. Log payloads past the log retention: one logged redaction naming them.
    logboek.bewaartermijn(nu)

    with db.transaction() as s:
        # MessageIDs of signed requests are needed only as long as their Timestamp could pass.
        s.execute(delete(m.WsaBericht).where(m.WsaBericht.tijdstip < datetime.now(UTC) - timedelta(days=1)))
        logboek.schrijf(s, [Regel(logboek.nu(), "beheer", "onderhoud", "onderhoud", verslag.json())])
    logboek.misschien_checkpoint()
    log.info("retention run at %s: %s", nu.isoformat(), verslag.samenvatting())
    return verslag
