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
from typing import Any


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
        velden = list(zip(self.namen, self.standaard, strict=True))
        verwerkt = [(i, p) for i, p in enumerate(self.verwerkers) if p is not None]
        uit: list[Any] = []
        for r in rijen:
            rij = [r.get(n, d) for n, d in velden]
            for i, p in verwerkt:
                if rij[i] is not None:
                    rij[i] = p(rij[i])
            uit.append(tuple(rij) if self.positioneel else dict(zip(self.namen, rij, strict=True)))
        return uit


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
