"""Reads and writes of the verwijsindex tables inside one transaction (a ``Session``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Bericht, Instantie, Jongere, Match, Melding, Signaal

ACTIEF = "actief"


class Repository:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.dialect = session.get_bind().dialect.name

    # --- instanties -------------------------------------------------------------------------

    def instantie(self, oin: str) -> Instantie | None:
        return self.s.scalars(select(Instantie).where(Instantie.oin == oin)).one_or_none()

    def instanties(self) -> Sequence[Instantie]:
        return self.s.scalars(select(Instantie).order_by(Instantie.oin)).all()

    def instanties_by_id(self, ids: Iterable[int]) -> dict[int, Instantie]:
        rows = self.s.scalars(select(Instantie).where(Instantie.id.in_(set(ids)))).all()
        return {r.id: r for r in rows}

    def add_instantie(self, oin: str, naam: str, vestiging: str | None, nu: datetime) -> Instantie:
        inst = Instantie(
            oin=oin,
            naam=naam,
            vestiging=vestiging,
            actief=True,
            aangemaakt=nu,
            signaal_uitgegeven=0,
            signaal_bevestigd=0,
        )
        self.s.add(inst)
        self.s.flush()
        return inst

    # --- jongeren ---------------------------------------------------------------------------

    def lock_jongere(self, sleutel: str, geboortedatum: date | None) -> Jongere:
        """The youth's row, created if new and locked until the transaction ends."""
        values = {"sleutel": sleutel, "geboortedatum": geboortedatum}
        if self.dialect == "postgresql":
            self.s.execute(
                postgresql.insert(Jongere).values(**values).on_conflict_do_nothing(index_elements=["sleutel"])
            )
        else:
            self.s.execute(sqlite.insert(Jongere).values(**values).on_conflict_do_nothing(index_elements=["sleutel"]))
        jongere = self.s.scalars(select(Jongere).where(Jongere.sleutel == sleutel).with_for_update()).one()
        if geboortedatum is not None and jongere.geboortedatum is None:
            jongere.geboortedatum = geboortedatum
        return jongere

    def lock_jongere_by_id(self, jongere_id: int) -> Jongere:
        return self.s.scalars(select(Jongere).where(Jongere.id == jongere_id).with_for_update()).one()

    # --- meldingen --------------------------------------------------------------------------

    def melding(self, melding_id: str) -> Melding | None:
        return self.s.scalars(select(Melding).where(Melding.melding_id == melding_id)).one_or_none()

    def actieve_meldingen(self, jongere_id: int) -> Sequence[Melding]:
        return self.s.scalars(
            select(Melding).where(Melding.jongere_id == jongere_id, Melding.status == ACTIEF).order_by(Melding.id)
        ).all()

    def add(self, row: object) -> None:
        self.s.add(row)
        self.s.flush()

    def delete(self, row: object) -> None:
        self.s.delete(row)
        self.s.flush()

    # --- matches ----------------------------------------------------------------------------

    def actieve_match(self, jongere_id: int, soort: str = "clientmatch") -> Match | None:
        return self.s.scalars(
            select(Match).where(Match.jongere_id == jongere_id, Match.soort == soort, Match.status == ACTIEF)
        ).one_or_none()

    def eigen_meldingen_met_match(
        self, instantie_id: int, melding_id: str | None, offset: int, limit: int
    ) -> tuple[int, Sequence[tuple[Melding, Match]]]:
        """The instantie's active meldingen that have an active match, with that match, paged."""
        q = (
            select(Melding, Match)
            .join(Match, (Match.jongere_id == Melding.jongere_id) & (Match.status == ACTIEF))
            .where(Melding.instantie_id == instantie_id, Melding.status == ACTIEF)
        )
        if melding_id is not None:
            q = q.where(Melding.melding_id == melding_id)
        total = self.s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = self.s.execute(q.order_by(Match.id).offset(offset).limit(limit)).tuples().all()
        return total, rows

    # --- signalen ---------------------------------------------------------------------------

    def volgnummers(self, instantie_id: int, aantal: int) -> int:
        """Reserve ``aantal`` sequence numbers; returns the first. Holds the instantie's row lock."""
        last = self.s.execute(
            update(Instantie)
            .where(Instantie.id == instantie_id)
            .values(signaal_uitgegeven=Instantie.signaal_uitgegeven + aantal)
            .returning(Instantie.signaal_uitgegeven)
        ).scalar_one()
        return int(last) - aantal + 1

    def bevestig(self, instantie_id: int, tot_en_met: int) -> int | None:
        """Move the acknowledgement cursor forward (never back) in one statement; None if
        ``tot_en_met`` was never issued."""
        nieuw = case((Instantie.signaal_bevestigd < tot_en_met, tot_en_met), else_=Instantie.signaal_bevestigd)
        return self.s.execute(
            update(Instantie)
            .where(Instantie.id == instantie_id, Instantie.signaal_uitgegeven >= tot_en_met)
            .values(signaal_bevestigd=nieuw)
            .returning(Instantie.signaal_bevestigd)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()

    def signalen_na(self, instantie_id: int, na: int, limit: int) -> Sequence[Signaal]:
        return self.s.scalars(
            select(Signaal)
            .where(Signaal.instantie_id == instantie_id, Signaal.volgnummer > na)
            .order_by(Signaal.volgnummer)
            .limit(limit)
        ).all()

    # --- berichten (idempotent retries) -----------------------------------------------------

    def bericht(self, zender_oin: str, bericht_id: str) -> Bericht | None:
        return self.s.scalars(
            select(Bericht).where(Bericht.zender_oin == zender_oin, Bericht.bericht_id == bericht_id)
        ).one_or_none()
