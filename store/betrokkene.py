"""Reads and deletes for a data subject's rights (``vir-gateway betrokkene``): everything the index holds on one
youth, and its erasure. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store import models as m
from store.sporen import bevat


class Betrokkene:
    def __init__(self, session: Session) -> None:
        self.s = session

    def jongere(self, sleutel: str) -> m.Jongere | None:
        """The youth's row, locked until the transaction ends."""
        return self.s.scalars(select(m.Jongere).where(m.Jongere.sleutel == sleutel).with_for_update()).one_or_none()

    def meldingen(self, jongere_id: int) -> Sequence[tuple[m.Melding, m.Instantie]]:
        """Every melding on the youth (active, archived, another system's), with its instantie, oldest first."""
        return [
            (melding, instantie)
            for melding, instantie in self.s.execute(
                select(m.Melding, m.Instantie)
                .join(m.Instantie, m.Instantie.id == m.Melding.instantie_id)
                .where(m.Melding.jongere_id == jongere_id)
                .order_by(m.Melding.afgegeven, m.Melding.id)
            )
        ]

    def matches(self, jongere_id: int) -> Sequence[m.Match]:
        return self.s.scalars(select(m.Match).where(m.Match.jongere_id == jongere_id).order_by(m.Match.ontstaan)).all()

    def instantie_namen(self) -> dict[str, str]:
        return {oin: naam for oin, naam in self.s.execute(select(m.Instantie.oin, m.Instantie.naam))}

    def inzagen(self, ids: Sequence[str]) -> Sequence[m.LogregelRij]:
        """The access entries (NEN 7513) that showed one of these meldingen or matches, in log order."""
        if not ids:
            return []
        r = m.LogregelRij
        return self.s.scalars(
            select(r)
            .where(r.soort == "inzage", r.payload.is_not(None))
            .where(or_(*(bevat(self.s, r.payload, i.encode()) for i in ids)))
            .order_by(r.volgnummer)
        ).all()

    def verwijder(self, rij: object) -> None:
        self.s.delete(rij)
        self.s.flush()
