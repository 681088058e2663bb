"""Profile content and designated professionals (meldingsbevoegden): the reads and writes behind
``gateway/profielen.py`` and ``gateway/index/bevoegden.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from store import models as m
from store import profielinhoud, rechtstreeks
from store.repository import ACTIEF

_AANGEWEZEN = select(m.MeldingsbevoegdeRij.actief).where(
    m.MeldingsbevoegdeRij.instantie_id == bindparam("b_instantie"), m.MeldingsbevoegdeRij.code == bindparam("b_code")
)


class Profielen:
    def __init__(self, session: Session) -> None:
        self.s = session

    # --- profile content ----------------------------------------------------------------------

    def inhoud(self, instantie_id: int) -> m.Profielinhoud | None:
        return profielinhoud.lees(self.s, instantie_id)

    def inhoud_voor_wijziging(self, instantie_id: int) -> m.Profielinhoud:
        """The profile content of an instantie, created empty when it has none yet."""
        rij = self.s.get(m.Profielinhoud, instantie_id)
        if rij is None:
            rij = m.Profielinhoud(instantie_id=instantie_id)
            self.s.add(rij)
        profielinhoud.onthoud(self.s, rij)
        return rij

    def gedeelde_profielen(self, oin: str | None = None) -> Sequence[tuple[m.Instantie, m.Profielinhoud | None]]:
        """The profiles chain partners may read of each other: active instanties of this index (not other
        systems' organisations), ordered by OIN; with ``oin`` only that one."""
        q = (
            select(m.Instantie, m.Profielinhoud)
            .outerjoin(m.Profielinhoud, m.Profielinhoud.instantie_id == m.Instantie.id)
            .where(m.Instantie.actief.is_(True), m.Instantie.systeem.is_(None))
            .order_by(m.Instantie.oin)
        )
        if oin is not None:
            q = q.where(m.Instantie.oin == oin)
        return [(i, p) for i, p in self.s.execute(q).all()]

    # --- designated professionals ---------------------------------------------------------------

    def bevoegde(self, instantie_id: int, code: str) -> m.MeldingsbevoegdeRij | None:
        return self.s.scalars(
            select(m.MeldingsbevoegdeRij).where(
                m.MeldingsbevoegdeRij.instantie_id == instantie_id, m.MeldingsbevoegdeRij.code == code
            )
        ).one_or_none()

    def is_aangewezen(self, instantie_id: int, code: str) -> bool:
        """Whether ``code`` is an active designated professional of the instantie: one plain statement, as a
        filing asks it inside its transaction (loading the row as an object cost six times as much)."""
        rij = rechtstreeks.eerste(self.s.connection(), _AANGEWEZEN, {"b_instantie": instantie_id, "b_code": code})
        return rij is not None and bool(rij[0])

    def bevoegden(self, instantie_id: int) -> Sequence[m.MeldingsbevoegdeRij]:
        return self.s.scalars(
            select(m.MeldingsbevoegdeRij)
            .where(m.MeldingsbevoegdeRij.instantie_id == instantie_id)
            .order_by(m.MeldingsbevoegdeRij.code)
        ).all()

    def aanwijzen(
        self,
        instantie_id: int,
        code: str,
        naam: str,
        functie: str | None,
        telefoon: str | None,
        email: str | None,
        nu: datetime,
    ) -> m.MeldingsbevoegdeRij:
        """Designate (or designate again, with new details) a professional of the instantie."""
        rij = self.bevoegde(instantie_id, code)
        if rij is None:
            rij = m.MeldingsbevoegdeRij(instantie_id=instantie_id, code=code, naam=naam, aangewezen=nu)
            self.s.add(rij)
        elif not rij.actief:
            rij.aangewezen = nu
        rij.naam, rij.functie, rij.telefoon, rij.email = naam, functie, telefoon, email
        rij.actief, rij.ingetrokken = True, None
        self.s.flush()
        return rij

    def intrekken(self, rij: m.MeldingsbevoegdeRij, nu: datetime) -> None:
        rij.actief, rij.ingetrokken = False, nu
        self.s.flush()

    def actieve_meldingen_van(self, instantie_id: int, code: str) -> Sequence[m.Melding]:
        """The instantie's active meldingen filed by (or handed to) the professional ``code``."""
        return self.s.scalars(
            select(m.Melding)
            .where(m.Melding.instantie_id == instantie_id, m.Melding.mb_code == code, m.Melding.status == ACTIEF)
            .order_by(m.Melding.id)
        ).all()

    def zet_mb_code(self, melding_rij_id: int, code: str | None) -> None:
        self.s.execute(update(m.Melding).where(m.Melding.id == melding_rij_id).values(mb_code=code))
