"""An instantie's profile content, read once per transaction (``store/profielen.py`` owns the rest)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from store.models import Profielinhoud


def lees(session: Session, instantie_id: int) -> Profielinhoud | None:
    """The profile content of an instantie, or None when it has none. Kept in the session: its identity map
    keeps only rows that exist, and a filing asks for a missing one up to three times."""
    bewaard: dict[int, Profielinhoud | None] = session.info.setdefault("profielinhoud", {})
    if instantie_id not in bewaard:
        bewaard[instantie_id] = session.get(Profielinhoud, instantie_id)
    return bewaard[instantie_id]


def onthoud(session: Session, rij: Profielinhoud) -> None:
    """A row just created or about to change, so that this transaction's later reads see it."""
    session.info.setdefault("profielinhoud", {})[rij.instantie_id] = rij
