"""The embedded population register's tables (``brp_*``): replacing a snapshot and reading it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from store import models as m
from store.repository import ACTIEF, Repository

GEZINSMATCH = "gezinsmatch"


def _chunks(rows: list[Any], n: int = 5000) -> Iterable[list[Any]]:
    for i in range(0, len(rows), n):
        yield rows[i : i + n]


class Bevolkingstabellen:
    def __init__(self, session: Session) -> None:
        self.s = session

    def verwanten(self, bsn: str) -> set[str]:
        return Repository(self.s).verwanten(bsn)

    def levensdata(self, bsn: str) -> tuple[date, date | None] | None:
        """Birth date and death date (None while alive), or None if unknown."""
        p = self.s.get(m.BrpPersoon, bsn)
        return None if p is None else (p.geboortedatum, p.overlijdensdatum)

    def adressen_van_jongeren(self) -> dict[str, str | None]:
        """Home address of every youth with an active melding, by BSN, as the register has it now."""
        q = (
            select(m.BrpPersoon.bsn, m.BrpPersoon.adres_id)
            .join(m.Jongere, m.Jongere.sleutel == "bsn:" + m.BrpPersoon.bsn)
            .where(
                select(m.Melding.id).where(m.Melding.jongere_id == m.Jongere.id, m.Melding.status == ACTIEF).exists()
            )
        )
        return {bsn: adres for bsn, adres in self.s.execute(q)}

    def vervang(
        self, adressen: list[dict[str, Any]], personen: list[dict[str, Any]], ouders: list[dict[str, Any]]
    ) -> None:
        """Replace the whole register by a new snapshot (rows as column values)."""
        for tabel in (m.BrpOuder, m.BrpPersoon, m.BrpAdres):
            self.s.execute(delete(tabel))
        for tabel, rows in ((m.BrpAdres, adressen), (m.BrpPersoon, personen), (m.BrpOuder, ouders)):
            for chunk in _chunks(rows):
                self.s.execute(insert(tabel), chunk)

    def jongeren_met_actieve_melding_of_gezinsmatch(self) -> Sequence[int]:
        """Youths (ids) whose family matches may change with the register."""
        return self.s.scalars(
            select(m.Jongere.id)
            .where(
                select(m.Melding.id).where(m.Melding.jongere_id == m.Jongere.id, m.Melding.status == ACTIEF).exists()
                | select(m.Match.id)
                .where(m.Match.jongere_id == m.Jongere.id, m.Match.status == ACTIEF, m.Match.soort == GEZINSMATCH)
                .exists()
            )
            .order_by(m.Jongere.id)
        ).all()
