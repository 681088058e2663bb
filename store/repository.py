"""Reads and writes of the verwijsindex tables inside one transaction (a ``Session``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Integer, String, bindparam, case, func, insert, literal_column, select, update
from sqlalchemy.orm import Session

from store import eigen, rechtstreeks
from store.basis import Nieuw, Tijdstip
from store.bevolkingsregister import Bevolkingsregister
from store.federatie import FederatieOpslag
from store.jongeren import BRP_GEVULD, dialect_insert, upsert_jongere, upsert_jongeren
from store.models import (
    Afstemming,
    Bericht,
    BrpAdres,
    BrpOuder,
    BrpPersoon,
    Instantie,
    Jongere,
    LogregelRij,
    Match,
    Melding,
    Signaal,
    Telling,
    WsaBericht,
)
from store.register import VERSIE, Register, Registertoegang
from store.sporen import Sporen

# The column values the queries here filter on. The store knows nothing above it: these are its own copies
# of the domain's values (``gateway.domain.soorten``), and a test keeps them equal.
ACTIEF = "actief"  # melding and match status
GEARCHIVEERD = "gearchiveerd"  # melding status
CLIENTMATCH = "clientmatch"  # match kind


# Hot statements are built once and executed with parameters: building a statement anew for every
# call costs more than running it (SQLAlchemy then also recomputes its cache key).


@cache
def _claim_bericht(dialect: str) -> Any:
    # The register's counter comes along: the sender's profile and the peers are then read from what this
    # process keeps (``store/register.py``).
    return (
        dialect_insert(dialect, Bericht)
        .on_conflict_do_nothing(index_elements=["zender_oin", "bericht_id"])
        .returning(Bericht.id, VERSIE)
    )


_BEWAAR_ANTWOORD = update(Bericht).where(Bericht.id == bindparam("b_id")).values(antwoord=bindparam("b_antwoord"))
_VOLGNUMMERS = (
    update(Instantie)
    .where(Instantie.id == bindparam("b_id"))
    .values(signaal_uitgegeven=Instantie.signaal_uitgegeven + bindparam("b_aantal"))
    .returning(Instantie.signaal_uitgegeven)
)
_VERWANT_ADRES = (
    select(BrpPersoon.adres_id)
    .join(BrpAdres, BrpAdres.id == BrpPersoon.adres_id)
    .where(BrpPersoon.bsn == bindparam("b_bsn"), BrpAdres.instelling.is_(False))
)
_VERWANTEN = (
    select(BrpPersoon.bsn)
    .where(BrpPersoon.adres_id.in_(_VERWANT_ADRES.scalar_subquery()))
    .union(
        select(BrpOuder.kind_bsn).where(
            BrpOuder.ouder_bsn.in_(select(BrpOuder.ouder_bsn).where(BrpOuder.kind_bsn == bindparam("b_bsn")))
        )
    )
)
# A youth's active and archived meldingen: as read-only rows, and as the ORM's objects to change.
_MELDINGEN_VAN_JONGERE_RIJEN = (
    select(*Melding.__table__.columns)
    .where(Melding.jongere_id == bindparam("b_jongere"), Melding.status.in_([ACTIEF, GEARCHIVEERD]))
    .order_by(Melding.id)
)
_MELDINGEN_VAN_JONGERE = _MELDINGEN_VAN_JONGERE_RIJEN.with_only_columns(Melding)
_MELDINGEN_VAN_JONGEREN = (
    select(*Melding.__table__.columns)
    .where(Melding.jongere_id.in_(bindparam("b_jongeren", expanding=True)), Melding.status.in_([ACTIEF, GEARCHIVEERD]))
    .order_by(Melding.id)
)
_ACTIEVE_CLIENTMATCHES = select(Match).where(
    Match.jongere_id.in_(bindparam("b_jongeren", expanding=True)), Match.soort == CLIENTMATCH, Match.status == ACTIEF
)
_LAATSTE_AFSTEMMINGEN = (
    select(Afstemming.match_id, func.max(Afstemming.datum))
    .where(Afstemming.match_id.in_(bindparam("b_matches", expanding=True)))
    .group_by(Afstemming.match_id)
)
# ``b_aantal`` equal counts of one moment in one statement: the rows come from a counting CTE in the database
# instead of as many parameter sets from here.
_REEKS = select(literal_column("1", Integer).label("i")).cte("reeks", recursive=True)
_REEKS = _REEKS.union_all(select(_REEKS.c.i + literal_column("1", Integer)).where(_REEKS.c.i < bindparam("b_aantal")))
_TELLINGEN = insert(Telling).from_select(
    ["tijdstip", "instantie_id", "soort", "gemeente", "waarde"],
    select(
        bindparam("b_tijdstip", type_=Tijdstip()),
        bindparam("b_instantie", type_=Integer()),
        bindparam("b_soort", type_=String()),
        bindparam("b_gemeente", type_=String()),
        bindparam("b_waarde", type_=Integer()),
    ).select_from(_REEKS),
)
_ACTIEVE_MATCH = select(Match).where(
    Match.jongere_id == bindparam("b_jongere"), Match.soort == bindparam("b_soort"), Match.status == ACTIEF
)
_HEEFT_ACTIEVE_MATCH = (
    select(Match.id)
    .where(Match.jongere_id == bindparam("b_jongere"), Match.soort == bindparam("b_soort"), Match.status == ACTIEF)
    .limit(1)
)
_LAATSTE_AFSTEMMING = select(func.max(Afstemming.datum)).where(Afstemming.match_id == bindparam("b_match"))
_INSTANTIE = select(Instantie).where(Instantie.oin == bindparam("b_oin"), Instantie.systeem.is_(None))
_ACTIEVE_MELDINGEN = (
    select(Melding).where(Melding.jongere_id == bindparam("b_jongere"), Melding.status == ACTIEF).order_by(Melding.id)
)


def _waarden(row: Any) -> dict[str, Any]:
    """A new row's column values (a mapped object's, or a plain row's: ``store.basis.Nieuw``); an attribute left
    unset gets its column default, as the ORM would give it."""
    if isinstance(row, Nieuw):
        return row.waarden()
    return {
        c.key: v
        for c in row.__table__.columns
        if c.key != "id" and not ((v := getattr(row, c.key)) is None and c.default is not None)
    }


class Repository(Registertoegang):
    def __init__(self, session: Session, register: Register | None = None) -> None:
        self.s = session
        # Core statements go straight to the connection: the ORM execution path costs more than
        # the statement itself on small writes.
        self.c = session.connection()
        self.dialect = session.get_bind().dialect.name
        super().__init__(register)
        self._brp: bool | None = None

    # --- instanties -------------------------------------------------------------------------

    def instantie(self, oin: str) -> Instantie | None:
        """One of our own instanties (never another system's party with the same OIN), its row to change it
        (the services read a ``profiel``)."""
        return self.s.scalars(_INSTANTIE, {"b_oin": oin}).one_or_none()

    def instanties(self) -> Sequence[Instantie]:
        return self.s.scalars(select(Instantie).order_by(Instantie.oin)).all()

    def ondertekenprofiel(self, oin: str) -> tuple[str | None, bool]:
        """The registered WS-Security certificate (PEM) of an instantie and whether it must sign."""
        rij = self.s.execute(
            select(Instantie.certificaat, Instantie.wss_verplicht).where(
                Instantie.oin == oin, Instantie.systeem.is_(None)
            )
        ).one_or_none()
        if rij is not None:
            return rij[0], bool(rij[1])
        return None, False

    def is_lokale_instantie(self, oin: str) -> bool:
        """Whether the OIN is one of our own chain partners (not another system's organisation)."""
        return self.instantie(oin) is not None

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
        self.register_gewijzigd()
        return inst

    # --- jongeren ---------------------------------------------------------------------------

    def lock_jongere(self, sleutel: str, geboortedatum: date | None) -> int:
        """The id of the youth's row, created if new and locked until the transaction ends.

        One statement: an upsert that always updates takes the row lock on PostgreSQL (SQLite's
        writers are serialised anyway), and a known birth date is kept."""
        return self.lock_jongere_met_stand(sleutel, geboortedatum)[0]

    def lock_jongere_met_stand(self, sleutel: str, geboortedatum: date | None) -> tuple[int, bool]:
        """``lock_jongere``, and whether the youth had no melding (active or archived) and no match when it was
        locked: then there is nothing of it to read (the lock keeps it so until this transaction writes)."""
        params = {"sleutel": sleutel, "geboortedatum": geboortedatum}
        rij = rechtstreeks.eerste(self.c, upsert_jongere(self.dialect), params)
        assert rij is not None
        jongere_id, self._brp, leeg = rij
        return int(jongere_id), bool(leeg)

    def lock_jongeren(self, geboortedata: dict[str, date | None]) -> dict[str, int]:
        """``lock_jongere`` for many youths in one statement (key → birth date, if known): their ids by
        key. The rows are written in key order, so two batches lock shared youths in the same order."""
        if not geboortedata:
            return {}
        rijen = [{"sleutel": k, "geboortedatum": geboortedata[k]} for k in sorted(geboortedata)]
        return {sleutel: int(i) for sleutel, i in self.c.execute(upsert_jongeren(self.dialect), rijen)}

    def meldingen_van_jongeren(self, jongere_ids: Iterable[int]) -> dict[int, list[Melding]]:
        """``meldingen_van_jongere`` for many youths in one query, as read-only rows too; a youth without any is
        absent."""
        uit: dict[int, list[Melding]] = {}
        for melding in self.c.execute(_MELDINGEN_VAN_JONGEREN, {"b_jongeren": list(jongere_ids)}):
            uit.setdefault(melding.jongere_id, []).append(cast(Melding, melding))
        return uit

    def actieve_clientmatches(self, jongere_ids: Iterable[int]) -> dict[int, Match]:
        return {
            match.jongere_id: match
            for match in self.s.scalars(_ACTIEVE_CLIENTMATCHES, {"b_jongeren": list(jongere_ids)})
        }

    def laatste_afstemmingen(self, match_ids: Iterable[int]) -> dict[int, date | None]:
        """The latest recorded contact of each match (None: none recorded)."""
        ids = list(match_ids)
        uit: dict[int, date | None] = dict.fromkeys(ids)
        if ids:
            for match_id, datum in self.c.execute(_LAATSTE_AFSTEMMINGEN, {"b_matches": ids}):
                uit[match_id] = datum
        return uit

    def bestaande_jongere(self, sleutel: str) -> int | None:
        return self.s.execute(select(Jongere.id).where(Jongere.sleutel == sleutel)).scalar_one_or_none()

    def jongere_ids(self, sleutels: Iterable[str]) -> list[int]:
        keys = list(sleutels)
        if not keys:
            return []
        return list(self.s.scalars(select(Jongere.id).where(Jongere.sleutel.in_(keys)).order_by(Jongere.id)))

    def verwanten(self, bsn: str) -> set[str]:
        """BSNs of the persons related to ``bsn`` in the population register: the same home address
        (not an institution) or a shared parent."""
        return set(self.s.scalars(_VERWANTEN, {"b_bsn": bsn})) - {bsn}

    def meldingen_van_jongere(self, jongere_id: int) -> Sequence[Melding]:
        """The youth's active and archived meldingen, to read: rows with the columns as attributes (SQLAlchemy's
        ``Row``), not ORM objects, which cost twice as much to load (104 against 48 µs for a youth's two
        meldingen, 3,000 reads in one SQLite transaction). A row is read-only: setting an attribute raises, so a
        change can never go unwritten; ``meldingen_van_jongere_te_wijzigen`` loads them to change."""
        return cast(Sequence[Melding], self.c.execute(_MELDINGEN_VAN_JONGERE_RIJEN, {"b_jongere": jongere_id}).all())

    def meldingen_van_jongere_te_wijzigen(self, jongere_id: int) -> Sequence[Melding]:
        """``meldingen_van_jongere`` as the ORM's objects: what is changed on them is written with the transaction."""
        return self.s.scalars(_MELDINGEN_VAN_JONGERE, {"b_jongere": jongere_id}).all()

    def brp_gevuld(self) -> bool:
        """Whether the population register holds anyone (known without a query after ``lock_jongere``)."""
        if self._brp is None:
            self._brp = self.c.execute(BRP_GEVULD).first() is not None
        return bool(self._brp)

    def eigen_meldingen(
        self, instantie_id: int, status: str | None, offset: int, limit: int
    ) -> tuple[int, Sequence[Melding]]:
        return eigen.eigen_meldingen(self.s, instantie_id, status, offset, limit)

    def bevolkingsregister(self) -> Bevolkingsregister:
        """What the population register says about a youth (``store/bevolkingsregister.py``), in this
        transaction."""
        return Bevolkingsregister(self.s)

    def federatie(self) -> FederatieOpslag:
        """Other systems' meldingen and parties, tombstones, receivers and pseudonyms (``store/federatie.py``)."""
        return FederatieOpslag(self.s)

    def sporen(self) -> Sporen:
        """What meldingen leave beside their rows (``store/sporen.py``), in this transaction."""
        return Sporen(self.s)

    def jongere(self, jongere_id: int) -> Jongere | None:
        """The youth's row by id (from the session when it is loaded already)."""
        return self.s.get(Jongere, jongere_id)

    def lock_jongere_by_id(self, jongere_id: int) -> Jongere:
        return self.s.scalars(select(Jongere).where(Jongere.id == jongere_id).with_for_update()).one()

    # --- meldingen --------------------------------------------------------------------------

    def melding(self, melding_id: str) -> Melding | None:
        return self.s.scalars(select(Melding).where(Melding.melding_id == melding_id)).one_or_none()

    def melding_by_rij(self, rij_id: int) -> Melding | None:
        """A melding by its row id (from the session when it is loaded already)."""
        return self.s.get(Melding, rij_id)

    def actieve_meldingen(self, jongere_id: int) -> Sequence[Melding]:
        return self.s.scalars(_ACTIEVE_MELDINGEN, {"b_jongere": jongere_id}).all()

    def flush(self) -> None:
        """Write pending ORM changes now (ids of new rows, constraints checked), inside the transaction."""
        self.s.flush()

    def savepoint(self) -> Any:
        """A nested transaction: leaving it with an exception undoes only what happened inside it."""
        nested = self.s.begin_nested()
        # The session emits SAVEPOINT only when it next uses its connection; the Core statements here go to
        # that connection directly (``self.c``), so make it use it now, or they would not be inside.
        self.s.connection()
        return nested

    def logregel(self, volgnummer: int) -> LogregelRij | None:
        return self.s.get(LogregelRij, volgnummer)

    def add(self, row: object) -> None:
        self.s.add(row)
        self.s.flush()

    def delete(self, row: object) -> None:
        self.s.delete(row)
        self.s.flush()

    # --- matches ----------------------------------------------------------------------------

    def actieve_match(self, jongere_id: int, soort: str = CLIENTMATCH) -> Match | None:
        """The youth's active match of ``soort``. Most youths have none: a plain probe answers that without the
        cost of an ORM query, after writing what the session holds, as the ORM query would."""
        params = {"b_jongere": jongere_id, "b_soort": soort}
        self.s.flush()
        if rechtstreeks.eerste(self.c, _HEEFT_ACTIEVE_MATCH, params) is None:
            return None
        return self.s.scalars(_ACTIEVE_MATCH, params).one_or_none()

    def actieve_matches(self, jongere_id: int) -> Sequence[Match]:
        return self.s.scalars(
            select(Match).where(Match.jongere_id == jongere_id, Match.status == ACTIEF).order_by(Match.id)
        ).all()

    def match(self, match_id: str) -> Match | None:
        return self.s.scalars(select(Match).where(Match.match_id == match_id)).one_or_none()

    def laatste_afstemming(self, match_id: int) -> date | None:
        return self.c.execute(_LAATSTE_AFSTEMMING, {"b_match": match_id}).scalar()

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
        rows = self.s.execute(q.order_by(Match.id).offset(offset).limit(limit)).all()
        return total, rows

    # --- signalen ---------------------------------------------------------------------------

    def volgnummers(self, instantie_id: int, aantal: int) -> int:
        """Reserve ``aantal`` sequence numbers; returns the first. Holds the instantie's row lock."""
        rij = rechtstreeks.eerste(self.c, _VOLGNUMMERS, {"b_id": instantie_id, "b_aantal": aantal})
        assert rij is not None
        return int(rij[0]) - aantal + 1

    def bevestig(self, instantie_id: int, tot_en_met: int) -> int | None:
        """Move the acknowledgement cursor forward (never back) in one statement; None if
        ``tot_en_met`` was never issued."""
        nieuw = case((Instantie.signaal_bevestigd < tot_en_met, tot_en_met), else_=Instantie.signaal_bevestigd)
        return self.c.execute(
            update(Instantie)
            .where(Instantie.id == instantie_id, Instantie.signaal_uitgegeven >= tot_en_met)
            .values(signaal_bevestigd=nieuw)
            .returning(Instantie.signaal_bevestigd)
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

    def claim_bericht(
        self, zender_oin: str, bericht_id: str, operatie: str, verzoek_hash: bytes, nu: datetime
    ) -> int | None:
        """Claim (sender, berichtId) for this transaction; None when it was claimed before.

        A concurrent twin waits on the unique index until we commit or roll back."""
        params = {
            "zender_oin": zender_oin,
            "bericht_id": bericht_id,
            "operatie": operatie,
            "verzoek_hash": verzoek_hash,
            "antwoord": b"",
            "tijdstip": nu,
        }
        rij = rechtstreeks.eerste(self.c, _claim_bericht(self.dialect), params)
        if rij is None:
            return None
        self.zet_versie(int(rij[1]))
        return int(rij[0])

    def onthoud_message_id(self, message_id: str, nu: datetime) -> bool:
        """Record a MessageID; False when it was already recorded."""
        stmt = (
            dialect_insert(self.dialect, WsaBericht)
            .values(message_id=message_id, tijdstip=nu)
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(WsaBericht.message_id)
        )
        return self.c.execute(stmt).scalar_one_or_none() is not None

    def bewaar_antwoord(self, claim: int, antwoord: bytes) -> None:
        rechtstreeks.uitvoeren(self.c, _BEWAAR_ANTWOORD, {"b_id": claim, "b_antwoord": antwoord})

    def insert(self, row: Any) -> int:
        """Insert a new row with one Core statement (no unit-of-work flush); returns its id."""
        row.id = rechtstreeks.invoegen(self.c, row.__table__, _waarden(row))
        return int(row.id)

    def tellingen(self, tijdstip: datetime, aantallen: Mapping[tuple[int, str, str | None, int | None], int]) -> None:
        """Write counted events of one moment: ``aantallen`` maps (instantie id, kind, municipality, number) to how
        many, each event its own row as ever. Equal events (a batch's thousand filings of one instantie) go in one
        statement each, the rows made in the database; single ones in one executemany."""
        los: list[dict[str, Any]] = []
        for (instantie_id, soort, gemeente, waarde), aantal in aantallen.items():
            if aantal == 1:
                los.append(
                    {
                        "tijdstip": tijdstip,
                        "instantie_id": instantie_id,
                        "soort": soort,
                        "gemeente": gemeente,
                        "waarde": waarde,
                    }
                )
                continue
            self.c.execute(
                _TELLINGEN,
                {
                    "b_tijdstip": tijdstip,
                    "b_instantie": instantie_id,
                    "b_soort": soort,
                    "b_gemeente": gemeente,
                    "b_waarde": waarde,
                    "b_aantal": aantal,
                },
            )
        self.insert_alle(Telling, los)

    def insert_alle(self, model: Any, rows: Sequence[Any]) -> None:
        """Insert new rows of one table (ORM objects, or dicts of column values) in one executemany;
        their ids are not read back."""
        groepen: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for r in rows:
            w = r if isinstance(r, dict) else _waarden(r)
            groepen.setdefault(tuple(w), []).append(w)  # one executemany needs the same columns in each row
        for waarden in groepen.values():
            rechtstreeks.rijen_invoegen(self.c, model.__table__, waarden)
