"""``Repository.insert_alle`` hands a batch's rows to the driver's executemany itself (``store/repository.py``,
``store/rechtstreeks.py``); what it stores must be, byte for byte as the database holds it, what SQLAlchemy's own
executemany stores for the same rows: the plain rows of a batch (``store.basis.Nieuw``), mapped objects, and
dicts that leave out columns with a default. Read back through the driver, so no type conversion hides a
difference."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert

from gateway.domain.soorten import MeldingStatus
from store import models as m
from store.basis import Nieuw
from store.db import Database
from store.repository import Repository

NU = datetime(2026, 11, 23, 10, 15, 30, 123456, tzinfo=UTC)
ELDERS = datetime(2026, 11, 23, 11, 15, 30, tzinfo=timezone(timedelta(hours=1)))


def _meldingen(instantie_id: int, jongeren: list[int], merk: str, eerste: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "melding_id": f"{merk}-{i}",
            "instantie_id": instantie_id,
            "jongere_id": j,
            "status": MeldingStatus.ACTIEF,  # a str subclass, as the index writes it
            "afgegeven": NU if i % 2 else ELDERS,
            "gewijzigd": NU,
            "geplande_einddatum": date(2027, 11, 23),
            "versie": 1,
            "mb_naam": "Anna de Vries" if i % 3 else "Ëlla ’t Hart",
            "mb_functie": None if i % 2 else "Jeugdhulpverlener",
            "mb_telefoon": "050-1234567",
            "mb_email": None,
            "bronsysteem": "ECD",
            "afgeschermd": bool(i % 2),
            "verloop_gemeld": False,
            "archief_gemeld": False,
            **({"mb_code": "m-7"} if i % 4 == 0 else {}),
        }
        for i, j in enumerate(jongeren, eerste)
    ]


def _tellingen(instantie_id: int) -> list[dict[str, Any]]:
    return [
        {"tijdstip": NU, "instantie_id": instantie_id, "soort": "meldingen", "gemeente": g, "waarde": w}
        for g, w in [("0014", None), (None, 3), ("0363", 0)]
    ]


def _rijen(db: Database, tabel: str, zonder: tuple[str, ...]) -> list[tuple[Any, ...]]:
    with db.engine.connect() as c:
        res = c.exec_driver_sql(f"SELECT * FROM {tabel} ORDER BY id")
        kolommen = [d[0] for d in res.cursor.description]
        return [tuple(v for k, v in zip(kolommen, r, strict=True) if k not in zonder) for r in res.fetchall()]


def test_insert_alle_stores_what_sqlalchemy_stores(db: Database) -> None:
    with db.transaction() as s:
        repo = Repository(s)
        instantie = repo.add_instantie("00000001111111111000", "Jeugdzorg Noord", None, NU).id
        jongeren = list(repo.lock_jongeren({f"bsn:{n:09d}": None for n in range(100_000_001, 100_000_013)}).values())

    # The gateway's way: plain rows (with and without optional columns), mapped objects, dicts with defaults left out.
    with db.transaction() as s:
        repo = Repository(s)
        helft = len(jongeren) // 2
        repo.insert_alle(m.Melding, [Nieuw(m.Melding, **w) for w in _meldingen(instantie, jongeren[:helft], "a")])
        repo.insert_alle(m.Melding, [m.Melding(**w) for w in _meldingen(instantie, jongeren[helft:], "a", helft)])
        repo.insert_alle(m.Telling, _tellingen(instantie))
        repo.insert_alle(m.Telling, [{"tijdstip": NU, "instantie_id": instantie, "soort": "x"}] * 2)
    eigen_meldingen = _rijen(db, "melding", ("id", "melding_id"))
    eigen_tellingen = _rijen(db, "telling", ("id",))
    with db.transaction() as s:
        s.execute(m.Melding.__table__.delete())
        s.execute(m.Telling.__table__.delete())

    # SQLAlchemy's own executemany, with the column values as the ORM gives them (defaults filled in).
    with db.transaction() as s:
        c = s.connection()
        alle = [m.Melding(**w) for w in _meldingen(instantie, jongeren, "b")]
        standaard = {k.key: k.default.arg for k in m.Melding.__table__.columns if k.default is not None}
        c.execute(
            insert(m.Melding.__table__),
            [
                {
                    k.key: (v if (v := getattr(r, k.key)) is not None or k.key not in standaard else standaard[k.key])
                    for k in m.Melding.__table__.columns
                    if k.key != "id"
                }
                for r in alle
            ],
        )
        c.execute(insert(m.Telling.__table__), _tellingen(instantie))
        c.execute(insert(m.Telling.__table__), [{"tijdstip": NU, "instantie_id": instantie, "soort": "x"}] * 2)
    assert len(eigen_meldingen) == len(jongeren) and len(eigen_tellingen) == 5
    assert eigen_meldingen == _rijen(db, "melding", ("id", "melding_id"))
    assert eigen_tellingen == _rijen(db, "telling", ("id",))


def test_equal_counts_are_one_row_each_as_sqlalchemy_stores_them(db: Database) -> None:
    """``Repository.tellingen`` makes a run of equal counts in the database (one statement, a counting CTE):
    every event is still a row of its own, byte for byte what SQLAlchemy's executemany stores for those rows,
    the moment in UTC whatever its offset, and a municipality, a number or neither kept per row."""
    with db.transaction() as s:
        repo = Repository(s)
        a = repo.add_instantie("00000001111111111000", "Jeugdzorg Noord", None, NU).id
        b = repo.add_instantie("00000001222222222000", "Politie Oost", None, NU).id
    aantallen = {(a, "meldingen", None, None): 1000, (b, "clientmatches", "0363", None): 1}
    aantallen |= {(b, "afstemmingen", "0014", 5): 3, (a, "clientmatches", "0014", None): 2}
    with db.transaction() as s:
        Repository(s).tellingen(ELDERS, aantallen)
    eigen = sorted(_rijen(db, "telling", ("id",)), key=repr)
    with db.transaction() as s:
        s.execute(m.Telling.__table__.delete())
    with db.transaction() as s:
        rijen = [
            {"tijdstip": NU.replace(microsecond=0), "instantie_id": i, "soort": soort, "gemeente": g, "waarde": w}
            for (i, soort, g, w), n in aantallen.items()
            for _ in range(n)
        ]
        s.connection().execute(insert(m.Telling.__table__), rijen)
    assert len(eigen) == 1006
    assert eigen == sorted(_rijen(db, "telling", ("id",)), key=repr)
