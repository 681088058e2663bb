"""The push cursor of instanties with a callback endpoint: which signals are due, and what was confirmed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from store.models import Instantie


class Pushwachtrij:
    def __init__(self, session: Session) -> None:
        self.s = session

    def te_pushen(self, nu: datetime) -> Sequence[tuple[int, str, str | None, int, int]]:
        """Active instanties with a callback endpoint and signals beyond their cursor whose next attempt is
        due: (id, OIN, callback URL, cursor, attempts so far)."""
        i = Instantie
        return self.s.execute(
            select(i.id, i.oin, i.callback_url, i.push_tot, i.push_pogingen).where(
                i.callback_url.is_not(None),
                i.actief.is_(True),
                i.signaal_uitgegeven > i.push_tot,
                or_(i.push_volgende.is_(None), i.push_volgende <= nu),
            )
        ).all()

    def mislukt(self, instantie_id: int, pogingen: int, volgende: datetime, fout: str) -> None:
        self.s.execute(
            update(Instantie)
            .where(Instantie.id == instantie_id)
            .values(push_pogingen=pogingen, push_volgende=volgende, push_fout=fout)
        )

    def bevestigd(self, instantie_id: int, tot_en_met: int) -> None:
        """The partner stored the signals up to ``tot_en_met``: the cursor and the pull queue's
        acknowledgement move there (never back)."""
        i = Instantie
        self.s.execute(
            update(i)
            .where(i.id == instantie_id, i.push_tot < tot_en_met)
            .values(push_tot=tot_en_met, push_pogingen=0, push_volgende=None, push_fout=None)
        )
        self.s.execute(
            update(i).where(i.id == instantie_id, i.signaal_bevestigd < tot_en_met).values(signaal_bevestigd=tot_en_met)
        )
