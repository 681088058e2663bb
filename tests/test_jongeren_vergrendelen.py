"""``Repository.lock_jongeren``: the youths of a batch are created or locked in one statement per page of rows,
on both backends, and every key gets its own row's id, whether the youth was new or known, whatever order the
database returns the rows in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import event, select

from store import models as m
from store.db import Database
from store.repository import Repository


@contextmanager
def _geteld(db: Database) -> Iterator[list[str]]:
    """The statements the driver is handed while the block runs (an executemany counts once)."""
    gezien: list[str] = []

    def noteer(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        gezien.append(statement)

    event.listen(db.engine, "before_cursor_execute", noteer)
    try:
        yield gezien
    finally:
        event.remove(db.engine, "before_cursor_execute", noteer)


def _sleutels(eerste: int, aantal: int) -> list[str]:
    # Out of key order on purpose: the rows are written in key order whatever the caller's order.
    return [f"k{(eerste + i) * 7919 % 100_000:06d}" for i in range(aantal)]


def test_a_batch_of_youths_is_one_statement_and_each_key_gets_its_row(db: Database) -> None:
    eerst, daarna = _sleutels(0, 600), _sleutels(300, 600)  # half of the second batch is known already
    with db.transaction() as s, _geteld(db) as gezien:
        ids = Repository(s).lock_jongeren({k: (date(2010, 1, 1) if i % 2 else None) for i, k in enumerate(eerst)})
    assert len([x for x in gezien if "INSERT INTO jongere" in x]) == 1
    with db.transaction() as s, _geteld(db) as gezien:
        ids2 = Repository(s).lock_jongeren({k: date(2011, 2, 2) for k in daarna})
    assert len([x for x in gezien if "INSERT INTO jongere" in x]) == 1

    with db.transaction() as s:
        rijen = {r.sleutel: (r.id, r.geboortedatum) for r in s.scalars(select(m.Jongere))}
    assert len(rijen) == len(set(eerst) | set(daarna))
    for k, i in (ids | ids2).items():
        assert rijen[k][0] == i
    assert ids2[daarna[0]] == ids[daarna[0]]  # known youths keep their row
    # A known birth date is kept; an unknown one is filled in by the later filing.
    for i, k in enumerate(eerst):
        verwacht = date(2010, 1, 1) if i % 2 else (date(2011, 2, 2) if k in ids2 else None)
        assert rijen[k][1] == verwacht, k
