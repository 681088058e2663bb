"""The reads behind management information: counts and the follow-up list, never a youth's identity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import models as m
from store.repository import ACTIEF


class Rapportage:
    def __init__(self, session: Session) -> None:
        self.s = session

    def tellingen(self, begin: datetime, eind: datetime) -> Iterator[tuple[datetime, str, str, str]]:
        """Every counted event in [begin, eind): (time, instantie OIN, instantie name, kind)."""
        q = (
            select(m.Telling.tijdstip, m.Instantie.oin, m.Instantie.naam, m.Telling.soort)
            .join(m.Instantie, m.Instantie.id == m.Telling.instantie_id)
            .where(m.Telling.tijdstip >= begin, m.Telling.tijdstip < eind)
        )
        return ((t, oin, naam, soort) for t, oin, naam, soort in self.s.execute(q).all())

    def matches_zonder_afstemming(
        self, ontstaan_uiterlijk: datetime
    ) -> Iterator[tuple[m.Match, str | None, list[str]]]:
        """Active matches made on or before ``ontstaan_uiterlijk`` without recorded contact, oldest first:
        each with the youth's municipality (when the population register knows it) and the names of the
        organisations with an active melding on the youth."""
        zonder = ~select(m.Afstemming.id).where(m.Afstemming.match_id == m.Match.id).exists()
        q = (
            select(m.Match, m.Jongere.sleutel)
            .join(m.Jongere, m.Jongere.id == m.Match.jongere_id)
            .where(m.Match.status == ACTIEF, m.Match.ontstaan <= ontstaan_uiterlijk, zonder)
            .order_by(m.Match.ontstaan)
        )
        for match, sleutel in self.s.execute(q).all():
            gemeente = None
            if sleutel.startswith("bsn:"):
                gemeente = self.s.scalar(
                    select(m.BrpAdres.gemeente)
                    .join(m.BrpPersoon, m.BrpPersoon.adres_id == m.BrpAdres.id)
                    .where(m.BrpPersoon.bsn == sleutel[4:])
                )
            partijen = self.s.scalars(
                select(m.Instantie.naam)
                .join(m.Melding, m.Melding.instantie_id == m.Instantie.id)
                .where(m.Melding.jongere_id == match.jongere_id, m.Melding.status == ACTIEF)
                .order_by(m.Instantie.naam)
            ).all()
            yield match, gemeente, list(partijen)

    def actieve_matches(self) -> int:
        return self.s.scalar(select(func.count()).select_from(m.Match).where(m.Match.status == ACTIEF)) or 0
