"""What the loaded population register says about a youth: when it was born and died, and where it lives
(the municipality a count of management information belongs to, docs/rapportage.md, else the instantie's
from its profile)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from store.models import BrpAdres, BrpPersoon, Jongere

_WOONGEMEENTE = (
    select(BrpAdres.gemeente)
    .join(BrpPersoon, BrpPersoon.adres_id == BrpAdres.id)
    .where(BrpPersoon.bsn == bindparam("b_bsn"))
)


class Bevolkingsregister:
    def __init__(self, session: Session) -> None:
        self.s = session

    def levensdata(self, bsn: str) -> tuple[date, date | None] | None:
        """Birth and death date (None while alive) of ``bsn`` in the population register; None if unknown."""
        p = self.s.get(BrpPersoon, bsn)
        return None if p is None else (p.geboortedatum, p.overlijdensdatum)

    def gemeente_van_jongere(self, jongere_id: int) -> str | None:
        """The municipality (CBS code) the population register has the youth living in, if it knows it."""
        jongere = self.s.get(Jongere, jongere_id)
        if jongere is None or not jongere.sleutel.startswith("bsn:"):
            return None
        return self.s.scalar(_WOONGEMEENTE, {"b_bsn": jongere.sleutel[4:]})
