"""What a node keeps of other verwijsindex systems, inside one transaction: their meldingen (by source), their
parties (by system and OIN), tombstones of withdrawn meldingen, the youths' pseudonyms, and which peer holds a
copy of which melding (docs/federation.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import FederatieIntrekking, Instantie, Jongere, Melding


class FederatieOpslag:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.dialect = session.get_bind().dialect.name

    def _insert(self, table: type) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    # --- other systems' meldingen and parties ---------------------------------------------------

    def melding_van_bron(self, systeem: str, melding_id: str) -> Melding | None:
        return self.s.scalars(
            select(Melding).where(Melding.bron_systeem == systeem, Melding.bron_melding_id == melding_id)
        ).one_or_none()

    def intrekking(self, systeem: str, melding_id: str) -> int | None:
        """The version of the tombstone of another system's melding (withdrawn, expired, erased), if any."""
        return self.s.execute(
            select(FederatieIntrekking.versie).where(
                FederatieIntrekking.bron_systeem == systeem, FederatieIntrekking.bron_melding_id == melding_id
            )
        ).scalar_one_or_none()

    def onthoud_intrekking(self, systeem: str, melding_id: str, versie: int) -> None:
        """A tombstone (no personal data): a later upsert of this or an older version stays out."""
        stmt = self._insert(FederatieIntrekking).values(bron_systeem=systeem, bron_melding_id=melding_id, versie=versie)
        self.s.execute(
            stmt.on_conflict_do_update(
                index_elements=["bron_systeem", "bron_melding_id"],
                set_={"versie": stmt.excluded.versie},
                where=FederatieIntrekking.versie < stmt.excluded.versie,
            )
        )

    def externe_instantie(self, oin: str, systeem: str, naam: str, vestiging: str | None, nu: datetime) -> Instantie:
        """The row of another system's instantie, known by (system, OIN), created or refreshed from its contact
        card. It is never one of ours and never active for our chain-partner service."""
        inst = self.s.scalars(select(Instantie).where(Instantie.systeem == systeem, Instantie.oin == oin)).one_or_none()
        if inst is None:
            inst = Instantie(
                oin=oin,
                naam=naam,
                vestiging=vestiging,
                actief=False,
                aangemaakt=nu,
                signaal_uitgegeven=0,
                signaal_bevestigd=0,
                systeem=systeem,
            )
            self.s.add(inst)
            self.s.flush()
        elif (inst.naam, inst.vestiging) != (naam, vestiging):
            inst.naam, inst.vestiging = naam, vestiging
        return inst

    # --- youth keys -------------------------------------------------------------------------------

    def sleutel_overnemen(self, eerdere: tuple[str, ...], nieuw: str) -> bool:
        """A youth known under a key of an earlier version of the national key takes its current key (the first
        of ``eerdere`` found), unless a row under the current key exists already. True when a row was rekeyed."""
        if self.s.scalar(select(Jongere.id).where(Jongere.sleutel == nieuw)) is not None:
            return False
        for oud in eerdere:
            rij = self.s.scalar(select(Jongere.id).where(Jongere.sleutel == oud))
            if rij is not None:
                self.s.execute(
                    update(Jongere).where(Jongere.id == rij).values(sleutel=nieuw),
                    execution_options={"synchronize_session": False},
                )
                return True
        return False
