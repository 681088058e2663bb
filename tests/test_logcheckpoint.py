"""When a request's path looks whether a checkpoint is due (``Logboek.misschien_checkpoint``, at most once a
second per worker), a checkpoint that is not due must cost no lock: on SQLite taking the log head means taking
the write lock, and waiting for it behind another worker's batch of a thousand meldingen stalled the worker that
only wanted to look. A checkpoint that is due is still signed, after the holder lets go."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gateway.config import Settings
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from gateway.log.writer import append
from store import logboek as opslag
from store.db import Database


def _schrijf(boek: Logboek, db: Database, n: int) -> None:
    with db.transaction() as s:
        append(s, [Logregel(boek.nu(), "beheer", "test", "tester", f"regel {i}".encode()) for i in range(n)])


def _houd_hoofd_vast(db: Database, seconden: float) -> threading.Thread:
    """Another transaction that holds the head (and on SQLite the write lock) for a while."""
    vast = threading.Event()

    def houd() -> None:
        with db.transaction() as s:
            opslag.hoofd_op_slot(s)
            vast.set()
            time.sleep(seconden)

    t = threading.Thread(target=houd)
    t.start()
    assert vast.wait(10)
    return t


def test_a_checkpoint_not_due_does_not_wait_for_the_head(db: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=db.url, checkpoint_seconden=3600.0, checkpoint_regels=1000)
    boek = Logboek(settings, db)
    _schrijf(boek, db, 3)
    eerste = boek.checkpoint(force=True)
    assert eerste is not None and eerste.grootte == 3
    _schrijf(boek, db, 2)  # grown, but neither old nor large enough for a checkpoint

    houder = _houd_hoofd_vast(db, 2.0)
    begin = time.monotonic()
    assert boek.checkpoint(force=False, wachten=False) is None
    assert time.monotonic() - begin < 1.0  # it did not wait for the holder
    houder.join()

    # Due (by the number of entries): signed, once the head is free.
    boek_vaak = Logboek(
        Settings(data_dir=tmp_path, database_url=db.url, checkpoint_seconden=3600.0, checkpoint_regels=2), db
    )
    houder = _houd_hoofd_vast(db, 0.5)
    nieuw = boek_vaak.checkpoint(force=False, wachten=True)
    houder.join()
    assert nieuw is not None and nieuw.grootte == 5
    assert boek_vaak.checkpoint(force=False) is None  # nothing grew since
