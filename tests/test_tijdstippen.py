"""Every moment the store keeps is an instant: written with any UTC offset, it reads back as the same instant on
both backends. SQLite has no type for it (SQLAlchemy writes the wall-clock time and drops the offset), so a
moment from outside, such as another system's choice of coordinator at 11:00+01:00, would come back an hour
late there if it were not converted to UTC before it is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import DateTime, select
from sqlalchemy.dialects import sqlite

from federation import berichten as F
from gateway.domain.soorten import MatchSoort, MatchStatus
from gateway.vertaling import regie_uit_bericht
from store import models as m
from store.basis import Base, Tijdstip
from store.db import Database
from store.repository import Repository

AMSTERDAM_WINTER = timezone(timedelta(hours=1))
ELDERS = datetime(2026, 11, 23, 11, 0, 0, 250000, tzinfo=AMSTERDAM_WINTER)
NU = datetime(2026, 11, 23, 10, 0, 0, 250000, tzinfo=UTC)


def _als_utc(dt: datetime) -> datetime:
    """How the gateway reads a stored moment: a naive one (SQLite) is UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def test_a_moment_with_an_offset_reads_back_as_the_same_instant(db: Database) -> None:
    with db.transaction() as s:
        jongere_id = Repository(s).lock_jongere("bsn:test", None)
        s.add(
            m.Match(
                match_id="m-1",
                jongere_id=jongere_id,
                soort=MatchSoort.CLIENTMATCH,
                status=MatchStatus.ACTIEF,
                ontstaan=NU,
                regie_tijdstip=ELDERS,
            )
        )
    with db.transaction(write=False) as s:
        match = s.scalars(select(m.Match)).one()
        assert _als_utc(match.regie_tijdstip) == ELDERS == NU
        assert _als_utc(match.ontstaan) == NU
        # And ordering in SQL agrees with the instants: 11:00+01:00 is not later than 10:30Z.
        later = s.scalars(select(m.Match.match_id).where(m.Match.regie_tijdstip > NU + timedelta(minutes=30))).all()
        assert later == []


def test_every_moment_column_converts_to_utc() -> None:
    """Each table's moments go through the converting type, so a new column cannot forget it."""
    kolommen = [c for t in Base.metadata.sorted_tables for c in t.columns if isinstance(c.type, (DateTime, Tijdstip))]
    assert kolommen, "no moment columns found"
    assert [f"{c.table.name}.{c.name}" for c in kolommen if not isinstance(c.type, Tijdstip)] == []


def test_another_systems_choice_of_coordinator_is_kept_in_utc() -> None:
    """The federation's coordination state compares and forwards moments as UTC, whatever offset the peer wrote."""
    staat = regie_uit_bericht(
        F.Regie(regievoerder=F.Partij(systeem="ZVJ", oin="00000001999999999000"), gekozen=ELDERS, gekozenDoor="ZVJ")
    )
    assert staat is not None
    assert staat["gekozen"] == "2026-11-23T10:00:00.250000+00:00"


def test_sqlite_text_of_a_moment_is_sqlalchemys_own() -> None:
    """``Tijdstip`` binds a moment on SQLite in one call; the text must be exactly what SQLAlchemy's own chain
    (the conversion to UTC, then SQLite's DATETIME format) writes, or stored moments would stop comparing and
    sorting with the ones written before."""
    dialect = sqlite.dialect()
    snel = Tijdstip().dialect_impl(dialect).bind_processor(dialect)
    assert snel is not None
    assert snel(None) is None  # first, before any moment was remembered
    omzetten = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    assert omzetten is not None
    for moment in (
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 11, 0, 0, 1, tzinfo=AMSTERDAM_WINTER),
        datetime(2026, 3, 29, 23, 30, 59, 999999, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(9, 1, 2, 3, 4, 5),  # naive, and a year of one digit
        datetime.now(UTC),
    ):
        verwacht = omzetten(moment.astimezone(UTC) if moment.tzinfo is not None else moment)
        assert snel(moment) == verwacht, moment
    assert snel(None) is None
    # the last moment is remembered (a request binds its one moment thousands of times), by identity only
    winter = datetime(2026, 11, 23, 11, 0, tzinfo=AMSTERDAM_WINTER)
    assert snel(winter) == snel(winter) == "2026-11-23 10:00:00.000000"
    assert snel(winter.replace(hour=12)) == "2026-11-23 11:00:00.000000"
    assert snel(None) is None

    class Eigen(datetime):  # a subclass (a test clock's, say) takes SQLAlchemy's path: the same text
        pass

    assert snel(Eigen(2026, 11, 23, 11, tzinfo=AMSTERDAM_WINTER)) == "2026-11-23 10:00:00.000000"
