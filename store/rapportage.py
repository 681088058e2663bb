"""The reads behind management information: counts and the follow-up list, never a youth's identity."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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

    def gebeurtenissen(
        self, begin: datetime, eind: datetime
    ) -> list[tuple[datetime, str, str, str | None, str | None, str, int | None]]:
        """Every counted event in [begin, eind) for the publishable figures: (time, instantie OIN, name,
        sector of its profile, municipality counted in, kind, number it carries)."""
        q = (
            select(
                m.Telling.tijdstip,
                m.Instantie.oin,
                m.Instantie.naam,
                m.Profielinhoud.sector,
                m.Telling.gemeente,
                m.Telling.soort,
                m.Telling.waarde,
            )
            .join(m.Instantie, m.Instantie.id == m.Telling.instantie_id)
            .outerjoin(m.Profielinhoud, m.Profielinhoud.instantie_id == m.Telling.instantie_id)
            .where(m.Telling.tijdstip >= begin, m.Telling.tijdstip < eind)
            .order_by(m.Telling.tijdstip, m.Telling.id)
        )
        return [tuple(r) for r in self.s.execute(q).all()]  # type: ignore[misc]

    def tellingen_voor(
        self, begin: datetime, soorten: Sequence[str]
    ) -> list[tuple[str, str, str | None, str | None, str, int]]:
        """How many events of each kind in ``soorten`` were counted before ``begin``, per instantie and
        municipality: (instantie OIN, name, sector, municipality, kind, number). The stock at ``begin``
        is the filings minus the endings."""
        q = (
            select(
                m.Instantie.oin,
                m.Instantie.naam,
                m.Profielinhoud.sector,
                m.Telling.gemeente,
                m.Telling.soort,
                func.count(),
            )
            .join(m.Instantie, m.Instantie.id == m.Telling.instantie_id)
            .outerjoin(m.Profielinhoud, m.Profielinhoud.instantie_id == m.Telling.instantie_id)
            .where(m.Telling.tijdstip < begin, m.Telling.soort.in_(list(soorten)))
            .group_by(m.Instantie.oin, m.Instantie.naam, m.Profielinhoud.sector, m.Telling.gemeente, m.Telling.soort)
        )
        return [tuple(r) for r in self.s.execute(q).all()]  # type: ignore[misc]

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
