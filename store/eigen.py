"""An instantie's own meldingen, as its record system reads them back (EigenMeldingenOpvragen)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import models as m


def eigen_meldingen(
    session: Session, instantie_id: int, status: str | None, offset: int, limit: int
) -> tuple[int, Sequence[m.Melding]]:
    """The instantie's own meldingen (active and archived; deleted ones are gone), oldest first: the total and
    one page."""
    waar = [m.Melding.instantie_id == instantie_id, m.Melding.bron_systeem.is_(None)]
    if status is not None:
        waar.append(m.Melding.status == status)
    totaal = session.execute(select(func.count()).select_from(m.Melding).where(*waar)).scalar_one()
    rijen = session.scalars(select(m.Melding).where(*waar).order_by(m.Melding.id).offset(offset).limit(limit)).all()
    return int(totaal), rijen
