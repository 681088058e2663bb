"""What a node keeps of other verwijsindex systems, inside one transaction: their meldingen (by source), their
parties (by system and OIN), tombstones of withdrawn meldingen, the youths' pseudonyms, and which peer holds a
copy of which melding (docs/federation.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import (
    Afstemming,
    BrpPersoon,
    FederatieIntrekking,
    Instantie,
    Jongere,
    Match,
    Melding,
    Signaal,
    Telling,
)


class FederatieOpslag:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.dialect = session.get_bind().dialect.name

    def _insert(self, table: type) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    # --- other systems' meldingen and parties ---------------------------------------------------

    def melding_van_bron(self, systeem: str, melding_id: str) -> Melding | None:
        """Another system's melding held here, as the database has it now (read again, also when loaded)."""
        return self.s.scalars(
            select(Melding)
            .where(Melding.bron_systeem == systeem, Melding.bron_melding_id == melding_id)
            .execution_options(populate_existing=True)
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

    def jongere_met_pseudoniem(self, pseudoniem: str) -> int | None:
        """The youth a peer names by this pseudonym, if this node knows it."""
        return self.s.scalar(select(Jongere.id).where(Jongere.pseudoniem == pseudoniem))

    def zet_pseudoniem(self, jongere_id: int, pseudoniem: str) -> None:
        self.s.execute(
            update(Jongere)
            .where(Jongere.id == jongere_id, or_(Jongere.pseudoniem.is_(None), Jongere.pseudoniem != pseudoniem))
            .values(pseudoniem=pseudoniem),
            execution_options={"synchronize_session": False},
        )

    def zonder_pseudoniem(self, huidig: str, aantal: int) -> Sequence[tuple[int, str]]:
        """Up to ``aantal`` youths with an active melding of ours whose pseudonym is missing or not of the key
        version in use (prefix ``huidig``): after an upgrade or a key rotation. (id, key)."""
        eigen = select(Melding.id).where(
            Melding.jongere_id == Jongere.id, Melding.status == "actief", Melding.bron_systeem.is_(None)
        )
        return [
            (i, k)
            for i, k in self.s.execute(
                select(Jongere.id, Jongere.sleutel)
                .where(
                    or_(Jongere.pseudoniem.is_(None), ~Jongere.pseudoniem.startswith(huidig)),
                    ~Jongere.sleutel.startswith("psn:"),
                    eigen.exists(),
                )
                .order_by(Jongere.id)
                .limit(aantal)
            )
        ]

    def jongeren_met_alleen_kopieen(self, aantal: int) -> Sequence[int]:
        """Up to ``aantal`` youths with other systems' active meldingen but no active melding of ours (on a node
        that is no hub they are not to be here: left from before need-to-know, or by a crash between steps)."""
        eigen = select(Melding.id).where(
            Melding.jongere_id == Jongere.id, Melding.status == "actief", Melding.bron_systeem.is_(None)
        )
        kopie = select(Melding.id).where(
            Melding.jongere_id == Jongere.id, Melding.status == "actief", Melding.bron_systeem.is_not(None)
        )
        return self.s.scalars(
            select(Jongere.id).where(kopie.exists(), ~eigen.exists()).order_by(Jongere.id).limit(aantal)
        ).all()

    # --- the population register on a hub --------------------------------------------------------------

    def bsn_van_pseudoniem(self, pseudoniem: str) -> str | None:
        """The register's person with this pseudonym (a hub's register carries them)."""
        return self.s.scalar(select(BrpPersoon.bsn).where(BrpPersoon.pseudoniem == pseudoniem).limit(1))

    def jongere_ids_van_bsns(self, bsns: set[str]) -> list[int]:
        """Youths known here as these register persons: by BSN, or by the pseudonym the register gives them."""
        if not bsns:
            return []
        pseudoniemen = select(BrpPersoon.pseudoniem).where(BrpPersoon.bsn.in_(bsns), BrpPersoon.pseudoniem.is_not(None))
        return sorted(
            set(
                self.s.scalars(
                    select(Jongere.id).where(
                        or_(Jongere.sleutel.in_([f"bsn:{b}" for b in bsns]), Jongere.pseudoniem.in_(pseudoniemen))
                    )
                )
            )
        )

    # --- matches a copy showed in ---------------------------------------------------------------

    def matches_met(self, jongere_id: int, rij_id: int) -> list[str]:
        """The matchIds a melding (row ``rij_id`` on youth ``jongere_id``) can have been shown in: the youth's
        matches, and the family matches that list it."""
        ids = list(self.s.scalars(select(Match.match_id).where(Match.jongere_id == jongere_id)))
        for match_id, leden in self.s.execute(
            select(Match.match_id, Match.leden).where(Match.soort == "gezinsmatch", Match.leden.is_not(None))
        ):
            if rij_id in _leden(leden):
                ids.append(match_id)
        return ids

    def regie_vergeten(self, jongere_id: int, instantie_id: int) -> None:
        """A party left the youth's matches: it no longer coordinates them."""
        self.s.execute(
            update(Match)
            .where(Match.jongere_id == jongere_id, Match.regievoerder_id == instantie_id)
            .values(regievoerder_id=None, regie_tijdstip=None, regie_systeem=None),
            execution_options={"synchronize_session": "fetch"},
        )

    def externe_instanties_vergeten(self) -> int:
        """Other systems' parties that nothing here refers to any more (their meldingen all gone)."""
        i = Instantie
        verwezen = or_(
            select(Melding.id).where(Melding.instantie_id == i.id).exists(),
            select(Match.id).where(Match.regievoerder_id == i.id).exists(),
            select(Afstemming.id).where(Afstemming.instantie_id == i.id).exists(),
            select(Telling.id).where(Telling.instantie_id == i.id).exists(),
            select(Signaal.id).where(Signaal.instantie_id == i.id).exists(),
        )
        weg = list(self.s.scalars(select(i.id).where(i.systeem.is_not(None), ~verwezen)))
        if weg:
            self.s.execute(delete(i).where(i.id.in_(weg)), execution_options={"synchronize_session": False})
        return len(weg)

    def partij(self, systeem: str, oin: str, eigen_systeem: str) -> Instantie | None:
        """A party named by (system, OIN): one of ours when the system is ours, else another system's."""
        voorwaarde = Instantie.systeem.is_(None) if systeem == eigen_systeem else Instantie.systeem == systeem
        return self.s.scalars(select(Instantie).where(voorwaarde, Instantie.oin == oin)).one_or_none()

    def laatste_afstemming(self, match_id: int) -> tuple[date, Instantie] | None:
        """The latest recorded contact of a match and who recorded it."""
        rij = self.s.execute(
            select(Afstemming.datum, Instantie)
            .join(Instantie, Instantie.id == Afstemming.instantie_id)
            .where(Afstemming.match_id == match_id)
            .order_by(Afstemming.datum.desc(), Afstemming.id.desc())
            .limit(1)
        ).one_or_none()
        return None if rij is None else (rij[0], rij[1])

    def aantal_actief(self, jongere_id: int, systeem: str | None) -> int:
        """Active meldingen on the youth of ``systeem`` (None: ours)."""
        bron = Melding.bron_systeem.is_(None) if systeem is None else Melding.bron_systeem == systeem
        return int(
            self.s.scalar(
                select(func.count()).where(Melding.jongere_id == jongere_id, Melding.status == "actief", bron)
            )
            or 0
        )


def _leden(leden: str | None) -> set[int]:
    stand = json.loads(leden or "{}")
    return {*stand.get("leden", []), *stand.get("kijkers", [])}
