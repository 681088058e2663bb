"""``store/rechtstreeks.py`` runs the hot statements on the driver's cursor itself. Whatever it saves, it must be
indistinguishable from ``Connection.execute``: the same rows stored and answered, the same exception classes (the
pipeline retries on SQLAlchemy's ``IntegrityError``), a lost connection reported as the store being unavailable,
no parameter in any message, and every statement seen by the engine's cursor events. On both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, create_engine, event, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from store import models as m
from store import rechtstreeks
from store.db import Database, DatabaseUnavailable
from store.jongeren import upsert_jongere
from store.repository import Repository
from tests.conftest import BACKENDS

NU = datetime(2026, 12, 4, 10, 15, 30, 123456, tzinfo=UTC)
BSN = "123456782"


def _rijen(db: Database, tabel: str, zonder: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A table as the database holds it, read through the driver (no type conversion hides a difference), without
    the columns ``zonder``."""
    with db.engine.connect() as c:
        res = c.exec_driver_sql(f"SELECT * FROM {tabel} ORDER BY id")
        kolommen = [d[0] for d in res.cursor.description]
        return [{k: v for k, v in zip(kolommen, r, strict=True) if k not in zonder} for r in res.fetchall()]


def test_rows_stored_and_answers_are_sqlalchemys(db: Database) -> None:
    """The same statements, once through ``Connection.execute`` and once straight to the driver, on two youths:
    the upsert's answer (id, population register loaded, nothing known of the youth), an INSERT's id, a probe,
    an UPDATE … RETURNING; and the rows they leave, byte for byte."""
    with db.transaction() as s:
        instantie = Repository(s).add_instantie("00000001111111111000", "Jeugdzorg Noord", None, NU).id
    dialect = db.engine.dialect.name
    antwoorden: dict[str, list[Any]] = {}
    for weg, sleutel in (("sqlalchemy", "bsn:111111110"), ("driver", "bsn:222222220")):
        with db.transaction() as s:
            c = s.connection()

            def een(stmt: Any, waarden: dict[str, Any], weg: str = weg, c: Any = c) -> tuple[Any, ...] | None:
                if weg == "driver":
                    return rechtstreeks.eerste(c, stmt, waarden)
                rij = c.execute(stmt, waarden).first()
                return None if rij is None else tuple(rij)

            upsert = upsert_jongere(dialect)
            eerst = een(upsert, {"sleutel": sleutel, "geboortedatum": None})
            weer = een(upsert, {"sleutel": sleutel, "geboortedatum": date(2010, 5, 1)})
            assert eerst is not None and weer is not None
            waarden = {
                "melding_id": f"{weg}-1",
                "instantie_id": instantie,
                "jongere_id": eerst[0],
                "status": "actief",
                "afgegeven": NU,
                "gewijzigd": NU,
                "geplande_einddatum": date(2027, 12, 4),
                "versie": 1,
                "mb_naam": "Ëlla ’t Hart",
                "mb_telefoon": "050-1234567",
                "bronsysteem": "ECD",
                "afgeschermd": True,
            }  # ``verloop_gemeld`` and ``archief_gemeld`` left out: their column defaults
            tabel = m.Melding.__table__
            if weg == "driver":
                melding = rechtstreeks.invoegen(c, tabel, waarden)
            else:
                melding = c.execute(tabel.insert().returning(tabel.c.id), waarden).scalar_one()
            probe = select(m.Melding.id).where(m.Melding.jongere_id == bindparam("b_j")).limit(1)
            gevonden = een(probe, {"b_j": eerst[0]})
            niets = een(probe, {"b_j": -1})
            teller = m.Instantie.__table__
            stmt = (
                teller.update()
                .where(teller.c.id == bindparam("b_id"))
                .values(signaal_uitgegeven=teller.c.signaal_uitgegeven + bindparam("b_n"))
                .returning(teller.c.signaal_uitgegeven)
            )
            opgehoogd = een(stmt, {"b_id": instantie, "b_n": 3})
            assert opgehoogd is not None
        antwoorden[weg] = [
            bool(eerst[1]),
            bool(eerst[2]),
            weer[0] == eerst[0],
            bool(weer[2]),
            gevonden == (melding,),
            niets,
            int(opgehoogd[0]),
        ]
    # After the second upsert the youth still has nothing on SQLite (nothing refers to it), where PostgreSQL says
    # whether this statement inserted the row: it did not. Either way both paths say the same.
    assert antwoorden["sqlalchemy"] == [False, True, True, dialect == "sqlite", True, None, 3]
    assert antwoorden["driver"] == [*antwoorden["sqlalchemy"][:-1], 6]  # the counter, three on
    # Equal but for the row ids, the youth's key and the meldingId, which differ by construction.
    meldingen = _rijen(db, "melding", ("id", "melding_id", "jongere_id"))
    jongeren = _rijen(db, "jongere", ("id", "sleutel"))
    assert len(meldingen) == 2 and meldingen[0] == meldingen[1] and meldingen[0]["verloop_gemeld"] in (0, False)
    assert len(jongeren) == 2 and jongeren[0] == jongeren[1] and jongeren[0]["geboortedatum"] is not None


def test_an_executemany_stores_what_sqlalchemy_stores(db: Database) -> None:
    rijen = [{"sleutel": n * 64 + 1, "hash": bytes([n]) * 32} for n in range(5)]
    with db.transaction() as s:
        rechtstreeks.veel(s.connection(), m.LogKnoop.__table__.insert(), rijen)
    eigen = _rijen_op(db, "logknoop", "sleutel")
    with db.transaction() as s:
        s.execute(m.LogKnoop.__table__.delete())
    with db.transaction() as s:
        s.connection().execute(m.LogKnoop.__table__.insert(), rijen)
    assert eigen == _rijen_op(db, "logknoop", "sleutel") and len(eigen) == 5


def _rijen_op(db: Database, tabel: str, kolom: str) -> list[tuple[Any, ...]]:
    with db.engine.connect() as c:
        return [tuple(r) for r in c.exec_driver_sql(f"SELECT * FROM {tabel} ORDER BY {kolom}").fetchall()]


def test_a_refused_statement_raises_sqlalchemys_exception_without_its_values(db: Database) -> None:
    """A duplicate berichtId claimed with a plain INSERT: SQLAlchemy's ``IntegrityError`` with the driver's error
    inside, the parameters hidden as the engine hides them (PostgreSQL's own message quotes the duplicate key, as it
    does through SQLAlchemy: ``gateway/uitvoer.py`` keeps driver messages out of process output), and nothing of the
    transaction kept."""
    waarden = {
        "zender_oin": "00000001111111111000",
        "bericht_id": BSN,
        "operatie": "MeldingAfgeven",
        "verzoek_hash": b"\x01" * 32,
        "antwoord": b"",
        "tijdstip": NU,
    }
    with db.transaction() as s:
        rechtstreeks.invoegen(s.connection(), m.Bericht.__table__, waarden)
    with pytest.raises(IntegrityError) as fout, db.transaction() as s:
        rechtstreeks.invoegen(s.connection(), m.Bericht.__table__, waarden | {"operatie": "Ander"})
    assert fout.value.orig is not None and isinstance(fout.value.orig, db.engine.dialect.loaded_dbapi.Error)
    assert "parameters hidden" in str(fout.value) and "Ander" not in str(fout.value)
    assert [r["operatie"] for r in _rijen(db, "bericht")] == ["MeldingAfgeven"]


def test_the_engines_cursor_events_see_every_statement(db: Database) -> None:
    gezien: list[tuple[str, Any, bool]] = []
    na: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def voor(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        gezien.append((sql, parameters, executemany))

    @event.listens_for(db.engine, "after_cursor_execute")
    def daarna(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        na.append(sql)

    with db.transaction() as s:
        gezien.clear()
        na.clear()
        rechtstreeks.eerste(
            s.connection(), upsert_jongere(db.engine.dialect.name), {"sleutel": "bsn:1", "geboortedatum": None}
        )
        rechtstreeks.veel(s.connection(), m.LogKnoop.__table__.insert(), [{"sleutel": 1, "hash": b"x"}] * 1)
    gezien = [g for g in gezien if not g[0].startswith("BEGIN")]  # SQLite's BEGIN IMMEDIATE (``store/db.py``)
    assert [g[0].split()[0:3] for g in gezien] == [["INSERT", "INTO", "jongere"], ["INSERT", "INTO", "logknoop"]]
    assert [g[2] for g in gezien] == [False, True] and [n for n in na if not n.startswith("BEGIN")] == [
        g[0] for g in gezien
    ]


def test_a_statement_it_cannot_plan_runs_through_sqlalchemy(db: Database) -> None:
    """An expanding ``IN`` has no fixed SQL: it is not planned, and gives what SQLAlchemy gives."""
    with db.transaction() as s:
        ids = Repository(s).lock_jongeren({"bsn:1": None, "bsn:2": None, "bsn:3": None})
    stmt = select(m.Jongere.sleutel).where(m.Jongere.id.in_(bindparam("b", expanding=True))).order_by(m.Jongere.sleutel)
    assert rechtstreeks.plan(db.engine.dialect, stmt) is None
    with db.transaction() as s:
        rijen = rechtstreeks.uitvoeren(s.connection(), stmt, {"b": [ids["bsn:1"], ids["bsn:3"]]})
    assert rijen == [("bsn:1",), ("bsn:3",)]


def test_a_value_every_call_must_give_is_never_silently_null(db: Database) -> None:
    with db.transaction() as s, pytest.raises(KeyError):
        rechtstreeks.eerste(s.connection(), select(m.Jongere.id).where(m.Jongere.sleutel == bindparam("b_s")), {})


@pytest.mark.parametrize("db", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_connection_lost_mid_transaction_is_the_store_unavailable(db: Database) -> None:
    """PostgreSQL ends the session's backend while a transaction runs: the next statement straight to the driver
    fails as it would through SQLAlchemy (the store unavailable, the connection invalidated, so the pool never
    hands it out again), and the next transaction works on a new connection. (SQLite has no server to lose.)"""
    beheer = create_engine(db.engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    fout: Exception | None = None
    with pytest.raises(DatabaseUnavailable), db.transaction() as s:
        c = s.connection()
        pid = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with beheer.connect() as b:
            b.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        try:
            rechtstreeks.eerste(c, upsert_jongere("postgresql"), {"sleutel": "bsn:9", "geboortedatum": None})
        except Exception as exc:
            fout = exc
            raise
    assert isinstance(fout, DBAPIError) and fout.connection_invalidated
    beheer.dispose()
    with db.transaction() as s:
        assert rechtstreeks.eerste(
            s.connection(), upsert_jongere("postgresql"), {"sleutel": "bsn:9", "geboortedatum": None}
        )
