"""Statements straight to the driver: compiled once, their values turned into the driver's parameters as
SQLAlchemy would, run on the cursor of the transaction's own connection.

Around a small statement SQLAlchemy's execution path costs more than the database's work: claiming a berichtId
took 64 µs through ``Connection.execute``, 51 µs through ``exec_driver_sql`` and 20 µs on the driver's cursor
(5,000 claims in one SQLite transaction), and a single filing runs about a dozen such statements while it holds
SQLite's write lock. A batch's thousand rows went through the same machinery row by row, a fifth of the batch.

So a hot statement is compiled once per dialect (an INSERT per set of columns too) into a ``Plan``: its SQL, and
one generated function that turns a call's values into the driver's parameters: each bind's value (or the
statement's literal, or the column's scalar default where an INSERT leaves a column out) through the type's bind
processor, exactly as SQLAlchemy passes them (``tests/test_rechtstreeks.py`` and ``tests/test_invoegen.py``
compare what both store and answer, on both backends). ``uitvoeren`` runs it on a cursor of the connection the
transaction holds, with the connection's cursor events fired as SQLAlchemy fires them (the statement counts of
the tests, anything listening), and a driver's error handed to SQLAlchemy's own handling: its exception classes
(the pipeline retries on ``IntegrityError``, PostgreSQL's deadlock is an ``OperationalError``), a lost connection
invalidated, parameters never in a message. Rows come back as the driver gives them, so this is for statements
whose answer needs no conversion: ids, counters, hashes, truth values the caller converts. A statement this
cannot plan (an expanding ``IN``, a default computed in Python) goes through ``Connection.execute``, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from sqlalchemy.engine import Connection

_GEGEVEN = object()
"""The default of a bind whose value every call must give."""


@dataclass(frozen=True)
class Plan:
    """A statement compiled once, and how values become the driver's parameters: per bind in the driver's order,
    the value given (``_GEGEVEN``: it must be), or a default (the statement's literal, an INSERT's column
    default), through the type's bind processor (``None``: the value as it is)."""

    sql: str
    namen: tuple[str, ...]
    standaard: tuple[Any, ...]
    verwerkers: tuple[Callable[[Any], Any] | None, ...]
    positioneel: bool

    def parameters(self, rijen: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The driver's parameters of many rows (an executemany)."""
        return self._omzetter(rijen)

    def parameter(self, waarden: Mapping[str, Any]) -> Any:
        """The driver's parameters of one call."""
        return self._omzetter((waarden,))[0]

    @cached_property
    def _omzetter(self) -> Callable[[Sequence[Mapping[str, Any]]], list[Any]]:
        """Rows to parameters in one function written out for this plan's binds, as ``dataclasses`` writes a
        class's ``__init__``: a batch converts twenty thousand rows, and a loop over the binds inside the loop over
        the rows cost more than the executemany."""
        omgeving: dict[str, Any] = {}
        velden = []
        for i, (naam, standaard, verwerker) in enumerate(zip(self.namen, self.standaard, self.verwerkers, strict=True)):
            omgeving[f"d{i}"] = standaard
            waarde = f"r[{naam!r}]" if standaard is _GEGEVEN else f"r.get({naam!r}, d{i})"
            if verwerker is not None:
                omgeving[f"p{i}"] = verwerker
                waarde = f"(None if (v := {waarde}) is None else p{i}(v))"
            velden.append(waarde if self.positioneel else f"{naam!r}: {waarde}")
        rij = f"({', '.join(velden)},)" if self.positioneel else f"{{{', '.join(velden)}}}"
        bron = f"def omzetter(rijen):\n    return [{rij} for r in rijen]\n"
        exec(compile(bron, f"<plan {self.sql[:40]}>", "exec"), omgeving)  # noqa: S102 (our own bind names)
        return cast(Callable[[Sequence[Mapping[str, Any]]], list[Any]], omgeving["omzetter"])


_PLANNEN: dict[tuple[str, Any, tuple[str, ...] | None], Plan | None] = {}


def plan(dialect: Any, stmt: Any, kolommen: tuple[str, ...] | None = None) -> Plan | None:
    """The plan of ``stmt`` on ``dialect``; for an INSERT whose values come with the call, ``kolommen`` are the
    columns given. None when a bind cannot be planned: an expanding ``IN``, a value computed at execution, a
    column left out whose default is not a plain value (SQLAlchemy runs those)."""
    sleutel = (dialect.name, stmt, kolommen)
    if sleutel in _PLANNEN:
        return _PLANNEN[sleutel]
    if len(_PLANNEN) > 1_000:  # statements are built once (module constants); a caller that builds one per call
        _PLANNEN.clear()  # would still run, planned anew each time, without this growing
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(kolommen) if kolommen is not None else None)
    namen = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    tabel = getattr(stmt, "table", None)
    standaard: list[Any] = []
    uitvoerbaar = not compiled.escaped_bind_names
    for naam in namen:
        bind = compiled.binds[naam]
        kolom = tabel.c.get(naam) if tabel is not None and kolommen is not None else None
        if bind.expanding or bind.callable is not None:
            uitvoerbaar = False
        elif kolommen is not None and naam in kolommen:
            standaard.append(_GEGEVEN)
        elif kolom is not None and bind.value is None:  # an INSERT's column left out: its plain default, if any
            if kolom.default is None or not kolom.default.is_scalar:
                uitvoerbaar = False
            else:
                standaard.append(kolom.default.arg)
        elif bind.required:
            standaard.append(_GEGEVEN)
        else:
            standaard.append(bind.value)  # the statement's literal (``LIMIT 1``, ``id = 1``)
    gevonden = None
    if uitvoerbaar:
        verwerkers = compiled._bind_processors
        gevonden = Plan(
            sql=compiled.string,
            namen=namen,
            standaard=tuple(standaard),
            verwerkers=tuple(verwerkers.get(n) for n in namen),
            positioneel=bool(compiled.positional),
        )
    _PLANNEN[sleutel] = gevonden
    return gevonden


_INSERTS: dict[Any, Any] = {}


def _insert(tabel: Any, *terug: Any) -> Any:
    """One INSERT statement object per table (and returned columns), so its plans are found again."""
    sleutel = (tabel, terug)
    if sleutel not in _INSERTS:
        _INSERTS[sleutel] = tabel.insert().returning(*terug) if terug else tabel.insert()
    return _INSERTS[sleutel]


def _kolommen(stmt: Any, waarden: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The columns an INSERT takes from the call's values (not one that inserts what a SELECT gives)."""
    return tuple(waarden) if stmt.is_insert and getattr(stmt, "select", None) is None else None


def uitvoeren(c: Connection, stmt: Any, waarden: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Run ``stmt`` once with ``waarden`` in the transaction of ``c``; its rows (none for a statement that
    returns none), as the driver gives them."""
    waarden = waarden or {}
    p = plan(c.dialect, stmt, _kolommen(stmt, waarden))
    if p is None:
        res = c.execute(stmt, dict(waarden))
        return [tuple(r) for r in res] if res.returns_rows else []
    return _op_cursor(c, p.sql, p.parameter(waarden), veel=False)


def eerste(c: Connection, stmt: Any, waarden: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
    """``uitvoeren``'s first row, or None."""
    rijen = uitvoeren(c, stmt, waarden)
    return rijen[0] if rijen else None


def veel(c: Connection, stmt: Any, rijen: Sequence[Mapping[str, Any]]) -> None:
    """Run ``stmt`` once per row, in one executemany (every row with the same keys)."""
    if not rijen:
        return
    p = plan(c.dialect, stmt, _kolommen(stmt, rijen[0]))
    if p is None:
        c.execute(stmt, [dict(r) for r in rijen])
    else:
        _op_cursor(c, p.sql, p.parameters(rijen), veel=True)


def invoegen(c: Connection, tabel: Any, waarden: Mapping[str, Any]) -> int:
    """Insert one row of ``tabel`` (its columns' values; a column left out gets its default); its id."""
    rij = eerste(c, _insert(tabel, tabel.c.id), waarden)
    assert rij is not None
    return int(rij[0])


def rijen_invoegen(c: Connection, tabel: Any, rijen: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows of ``tabel`` in one executemany (every row with the same columns); their ids are not read."""
    veel(c, _insert(tabel), rijen)


def sql(c: Connection, tekst: str) -> None:
    """Run a statement without parameters or rows (SQLite's ``BEGIN IMMEDIATE``) in the same way."""
    _op_cursor(c, tekst, (), veel=False)


def _op_cursor(c: Connection, sql: str, parameters: Any, *, veel: bool) -> list[tuple[Any, ...]]:
    """The statement on a cursor of the connection's own driver connection, inside its transaction: the cursor
    events around it as SQLAlchemy fires them, a driver's error through SQLAlchemy's handling of it."""
    cursor = c.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for fn in c.dispatch.before_cursor_execute:
            sql, parameters = fn(c, cursor, sql, parameters, None, veel)
        if veel:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        for fn in c.dispatch.after_cursor_execute:
            fn(c, cursor, sql, parameters, None, veel)
        return cast(list[tuple[Any, ...]], cursor.fetchall()) if cursor.description is not None else []
    except Exception as exc:
        # SQLAlchemy's own handler raises what ``Connection.execute`` would have raised: the driver's error
        # wrapped in SQLAlchemy's class for it (parameters hidden, as the engine is set up), the connection
        # invalidated when it was lost, the ``handle_error`` hooks run.
        c._handle_dbapi_exception(exc, sql, parameters, cursor, None)
        raise
    finally:
        cursor.close()
