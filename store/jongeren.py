"""The youth's row: the upserts that create a youth's row and lock it for the transaction (``Repository.lock_jongere``
and ``lock_jongeren``), with what a filing needs to know of the youth at that moment."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Boolean, Integer, exists, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite

from store.models import BrpPersoon, Jongere, Match, Melding

BRP_GEVULD = select(BrpPersoon.bsn).limit(1)
"""Whether the population register holds anyone."""


def dialect_insert(dialect: str, table: Any) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


# The upserted row, named in full: RETURNING names the table's columns bare, and a bare ``id`` in a subquery
# would be the subquery's own table's.
_DEZE_JONGERE = literal_column("jongere.id", Integer)


@cache
def upsert_jongere(dialect: str) -> Any:
    stmt = dialect_insert(dialect, Jongere)
    # Whether the population register holds anyone comes along: a filing asks it anyway. So does whether the
    # youth has nothing in the index yet (most filings are on a youth new to it: nothing more to read then).
    # SQLite: no melding and no match refers to the row (writers are serialised, so nobody adds one until
    # this transaction ends). PostgreSQL: the row was inserted by this statement (``xmax`` 0), so nothing can
    # refer to it: a subquery here would read the statement's snapshot, from before a concurrent filing on the
    # youth whose commit the upsert waited for.
    leeg: Any = (
        literal_column("(xmax = 0)", Boolean)
        if dialect == "postgresql"
        else ~exists(select(Melding.id).where(Melding.jongere_id == _DEZE_JONGERE))
        & ~exists(select(Match.id).where(Match.jongere_id == _DEZE_JONGERE))
    )
    return stmt.on_conflict_do_update(
        index_elements=["sleutel"],
        set_={"geboortedatum": func.coalesce(Jongere.geboortedatum, stmt.excluded.geboortedatum)},
    ).returning(Jongere.id, exists(BRP_GEVULD), leeg)


@cache
def upsert_jongeren(dialect: str) -> Any:
    """``upsert_jongere`` for an executemany: SQLAlchemy sends it as multi-row statements ("insertmanyvalues"),
    compiled once, instead of one statement of N rows compiled anew for every batch. PostgreSQL takes the rows
    in the order given (SQLAlchemy's numbered rows), so two batches lock shared youths in key order. SQLite
    serialises writers anyway, and SQLAlchemy cannot number an upsert's rows there: asked to keep the order
    (``sort_by_parameter_order``), it would send one statement per row. The key comes back with each id, so
    the order of the returned rows does not matter to the caller."""
    stmt = dialect_insert(dialect, Jongere)
    return stmt.on_conflict_do_update(
        index_elements=["sleutel"],
        set_={"geboortedatum": func.coalesce(Jongere.geboortedatum, stmt.excluded.geboortedatum)},
    ).returning(Jongere.sleutel, Jongere.id, sort_by_parameter_order=dialect != "sqlite")
