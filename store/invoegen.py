"""A batch's rows straight to the driver's executemany (``Repository.insert_alle``).

SQLAlchemy's own executemany builds every row's parameters through the statement's general machinery; for a
batch of a thousand meldingen that was a fifth of the batch. Here the INSERT of a table's given columns is
compiled once, and each row becomes the driver's parameters directly: its values, the column's default where the
row leaves a column out, each through the column type's bind processor, exactly as SQLAlchemy would pass them
(``tests/test_invoegen.py`` compares what both store).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast


@dataclass(frozen=True)
class Invoegplan:
    """An INSERT of a table's given columns, compiled once, and how each row's values become the driver's
    parameters: the value, or the column's default when the row leaves it out, through the column type's bind
    processor (``None``: the value as it is)."""

    sql: str
    namen: tuple[str, ...]
    standaard: tuple[Any, ...]
    verwerkers: tuple[Callable[[Any], Any] | None, ...]
    positioneel: bool

    def parameters(self, rijen: Sequence[dict[str, Any]]) -> list[Any]:
        return self._omzetter(rijen)

    @cached_property
    def _omzetter(self) -> Callable[[Sequence[dict[str, Any]]], list[Any]]:
        """The rows to parameters in one function written out for this plan's columns, as ``dataclasses`` writes
        a class's ``__init__``: a row's value per column, or its default, through the column's processor when it
        has one and the value is not None; a tuple or a dict by the driver's style. A batch converts twenty
        thousand rows, and a loop over the columns inside the loop over the rows cost more than the executemany."""
        omgeving: dict[str, Any] = {}
        velden = []
        for i, (naam, standaard, verwerker) in enumerate(zip(self.namen, self.standaard, self.verwerkers, strict=True)):
            omgeving[f"d{i}"] = standaard
            waarde = f"get({naam!r}, d{i})"
            if verwerker is not None:
                omgeving[f"p{i}"] = verwerker
                waarde = f"(None if (v := {waarde}) is None else p{i}(v))"
            velden.append(waarde if self.positioneel else f"{naam!r}: {waarde}")
        rij = f"({', '.join(velden)},)" if self.positioneel else f"{{{', '.join(velden)}}}"
        bron = f"def omzetter(rijen):\n    return [{rij} for get in [r.get for r in rijen]]\n"
        exec(compile(bron, f"<invoegplan {self.sql[:40]}>", "exec"), omgeving)  # noqa: S102 (our own column names)
        return cast(Callable[[Sequence[dict[str, Any]]], list[Any]], omgeving["omzetter"])


_INVOEGPLANNEN: dict[tuple[str, Any, tuple[str, ...]], Invoegplan | None] = {}


def invoegplan(dialect: Any, tabel: Any, kolommen: tuple[str, ...]) -> Invoegplan | None:
    """A batch's rows go to the driver's executemany as they are: SQLAlchemy's own executemany builds every
    row's parameters through the statement's general machinery, a fifth of a batch of a thousand meldingen.
    None (SQLAlchemy writes them) for a table whose left-out columns have a default that is not a plain value."""
    sleutel = (dialect.name, tabel, kolommen)
    if sleutel in _INVOEGPLANNEN:
        return _INVOEGPLANNEN[sleutel]
    plan = None
    compiled: Any = tabel.insert().compile(dialect=dialect, column_keys=list(kolommen))
    namen = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    standaard: list[Any] = []
    for naam in namen:
        kolom = tabel.c.get(naam)
        if naam in kolommen:
            standaard.append(None)
        elif kolom is not None and kolom.default is not None and kolom.default.is_scalar:
            standaard.append(kolom.default.arg)
        else:
            break
    else:
        verwerkers = compiled._bind_processors
        plan = Invoegplan(
            sql=compiled.string,
            namen=namen,
            standaard=tuple(standaard),
            verwerkers=tuple(verwerkers.get(n) for n in namen),
            positioneel=bool(compiled.positional),
        )
    _INVOEGPLANNEN[sleutel] = plan
    return plan
