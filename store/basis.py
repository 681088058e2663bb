"""The declarative base every table of the store derives from (``store/models.py`` and the modules it gathers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


_SQLITE_TEKST = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # SQLAlchemy's storage format of DATETIME on SQLite


class Tijdstip(TypeDecorator[datetime]):
    """A moment: ``DateTime(timezone=True)``, and a value with another UTC offset is converted to UTC before it is
    written. PostgreSQL's ``timestamptz`` would convert it anyway; SQLite has no such type, and SQLAlchemy writes
    the wall-clock time there and drops the offset, so 11:00+01:00 (a moment from another system's message, say)
    would read back as 11:00 UTC. The gateway's own clock is UTC: for it this is one comparison. A naive value is
    written as it is (the gateway reads naive moments as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None and value.utcoffset():
            return value.astimezone(UTC)
        return value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, one call per value where SQLAlchemy's chain makes three (this conversion, then its
        SQLite text format through a dict): a batch of a thousand meldingen binds some five thousand moments.
        The text is SQLAlchemy's own (``tests/test_tijdstippen.py`` compares them); anything but a plain
        ``datetime`` takes SQLAlchemy's path."""
        keten = super().bind_processor(dialect)
        if dialect.name != "sqlite" or keten is None:
            return keten

        laatste: tuple[Any, str] = (object(), "")  # a request binds its one moment ``nu`` thousands of times

        def process(value: Any) -> Any:
            nonlocal laatste
            vorige = laatste  # one read: the pair stays consistent under threads
            if value is vorige[0]:
                return vorige[1]
            if value.__class__ is not datetime:
                return keten(value)  # None too
            utc = value.astimezone(UTC) if value.tzinfo is not None and value.utcoffset() else value
            tekst = _SQLITE_TEKST % (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)
            laatste = (value, tekst)
            return tekst

        return process


class Nieuw:
    """A new row built in bulk, not yet written and never tracked by the ORM: its attributes are the model's
    columns (an unset one reads as None). Building a mapped object costs more than inserting it (every
    attribute passes the ORM's instrumentation); a batch of a thousand meldingen builds them as these, and
    ``Repository.insert_alle`` writes ``waarden()`` exactly as it would write a mapped object's."""

    _kolommen: ClassVar[dict[Any, tuple[tuple[str, bool], ...]]] = {}

    def __init__(self, model: type[Base], **waarden: Any) -> None:
        self.__dict__.update(waarden)
        self.__dict__["__table__"] = model.__table__

    def __getattr__(self, naam: str) -> Any:
        if naam in self.__dict__["__table__"].c:
            return None
        raise AttributeError(naam)

    def waarden(self) -> dict[str, Any]:
        """The row's column values; an unset one whose column has a default gets that default, as the ORM
        gives it."""
        tabel = self.__dict__["__table__"]
        kolommen = Nieuw._kolommen.get(tabel)
        if kolommen is None:
            kolommen = Nieuw._kolommen[tabel] = tuple(
                (c.key, c.default is not None) for c in tabel.columns if c.key != "id"
            )
        eigen = self.__dict__
        uit = {}
        for naam, standaard in kolommen:
            v = eigen.get(naam)
            if v is None and standaard:
                continue
            uit[naam] = v
        return uit
