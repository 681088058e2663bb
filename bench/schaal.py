"""A store that stays fast when full: ``MeldingAfgeven`` and ``MatchesOpvragen`` at 10 thousand, 1 million and
10 million stored meldingen.

    python bench/schaal.py [--sizes 10000 1000000 10000000] [--requests 500] [--warmup 50] [--workers 1]
                           [--database URL] [--keep DIR] [--lijst K] [--plans]

Fills the store directly (filing 10 million meldingen through the gateway would take hours) and grows it step by
step, so that one run measures every size: after each step it starts the gateway (``vir-gateway serve --demo``,
as ``bench/endtoend.py`` does) on the filled store, warms it up and sends ``--requests`` ``MeldingAfgeven`` and
as many ``MatchesOpvragen`` over HTTP, one at a time from one client, alternating, and checks every answer:

- ``MeldingAfgeven`` in turn on a youth the index does not know, on a youth of the fill with one melding (a
  match arises against the full tables: two signals, two counts) and on a youth of the fill with a match of two
  instanties (the match grows to three);
- ``MatchesOpvragen`` with the ``meldingId`` of a melding of the fill that has a match: the answer must hold
  exactly that match, with the other instantie as its party.

The target: p50 at 10 million meldingen at most 1.5 times p50 at 10,000, for both operations. After the first
size the store is copied, and every larger size is measured alternately with that copy (two gateways, blocks of
``BLOK`` pairs of requests to one, then to the other), so that the comparison does not depend on what else the
machine does meanwhile. The run reports p50, p90 and p99 per operation and size, and p50 at the largest size
over p50 at the smallest both ways: as measured first, and as measured in the same minutes.

The fill writes what filings through the gateway would have left in the store, with the indexes the migrations
created (they stay in place while it writes), in bulk: executemany in large transactions on SQLite, COPY on
PostgreSQL. The model, per three meldingen on two youths (as ``bench/meldingen.lua``): one youth with one melding,
one youth with meldingen of two instanties, so a third of the meldingen made a match; the three demo instanties
take turns. Rows are built with the gateway's own functions (the youth's key, the planned end date, the contact
card, the match as a signal shows it, the stored answer as rendered), and after each measurement a youth filed
through the gateway is compared column by column with what the fill would have written for it. Filings are
spread over the past year, and the store holds what the retention run keeps (``gateway.onderhoud``): every
youth, melding, match and count, the signals of the last ``signaal_dagen`` days (never acknowledged) and the
stored answers of the last ``herhaalvenster_dagen`` days. The message log is not filled: it stays as small as the
measurement leaves it (``bench/logproof.py`` measures the log at 10 million entries).

After each measurement the statements of one ``MeldingAfgeven`` (a match) and one ``MatchesOpvragen`` are
captured in process and explained (``EXPLAIN QUERY PLAN`` / ``EXPLAIN``); a full scan of a table that grows with
the meldingen is reported (``--plans`` prints every plan).

``--database URL`` runs on PostgreSQL: a fresh database on that URL's server, dropped at the end. Default SQLite
in a temporary directory. ``--keep DIR`` keeps the work directory (and the PostgreSQL database) and continues a
kept store in a later run. ``--lijst K`` also times K ``MatchesOpvragen`` without ``meldingId`` (the first page
of all of an instantie's matches; with three demo instanties each holds a third of the store).

Exit status: 0 done (targets are reported), 1 a request failed or the fill is not faithful, 2 wrong usage or a
gateway that did not start.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import logging
import math
import operator
import os
import random
import re
import shlex
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests
from endtoend import GATEWAY, BenchError, RequestsFailed, Server, _terminate, fresh_database
from lxml import etree
from sqlalchemy import bindparam, create_engine, event, select, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Engine, make_url

import gateway  # noqa: F401  (Spyne shim first)
from gateway import berichten as B
from gateway.cli import DEMO_INSTANTIES
from gateway.config import Settings, from_env
from gateway.domain.jongere import Jongere
from gateway.domain.model import Contactkaart, MatchBeeld
from gateway.domain.regels import Regels, bsn_is_geldig
from gateway.domain.soorten import MatchSoort, MatchStatus, MeldingStatus, SignaalSoort
from gateway.index.kern import compact, kaart
from gateway.render import als_xml
from gateway.vertaling import match_naar_bericht
from store import models as m

TARGET_RATIO = 1.5
"""p50 at the largest size may be at most this multiple of p50 at the smallest (10 million vs 10,000)."""
MAX_SIZE = 14_000_000
"""The youths' BSNs (below) leave room for this many meldingen."""

MB_NAAM, MB_TELEFOON, BRONSYSTEEM = "Anna de Vries", "050-1234567", "bench"
"""The professional and application of every filing, of the fill and of the measured requests alike."""
SPREIDING = timedelta(days=365)
"""The fill's filings lie in this period before the run's start."""
GULDEN = (math.sqrt(5) - 1) / 2
CHUNK = 60_000
"""Meldingen per transaction of the fill."""
GROEIEND = ("jongere", "melding", "match", "signaal", "telling", "bericht")
"""Tables that grow with the meldingen: a full scan of one is a finding (the log is not filled here)."""
BLOK = 25
"""Pairs of requests sent to one store before the other's turn, when two are measured together."""
KLEIN = 10_000
"""PostgreSQL rightly reads a table of fewer rows (its estimate) whole: not a finding."""

TABELLEN: dict[str, Any] = {
    "jongere": m.Jongere, "melding": m.Melding, "match": m.Match,
    "signaal": m.Signaal, "telling": m.Telling, "bericht": m.Bericht,
}  # fmt: skip
"""The tables the fill writes, in this order."""
KOLOMMEN = {t: tuple(model.__table__.columns.keys()) for t, model in TABELLEN.items()}
_ALS_RIJ = {t: operator.itemgetter(*kolommen) for t, kolommen in KOLOMMEN.items()}


class NietGetrouw(Exception):
    """The fill does not write what the gateway writes (exit status 1)."""


# --------------------------------------------------------------------------------------------------
# The model: which youth, instantie and moment each melding of the fill has


def bsn(q: int) -> str:
    """A valid BSN for each q in 100,000 … 9,999,999, a different one for each: q's seven digits, an eighth digit
    0 (1 when 0 would make the check digit 10) and the elfproef's check digit."""
    cijfers = f"{q:07d}"
    som = sum(int(c) * w for c, w in zip(cijfers, range(9, 2, -1), strict=True))
    achtste = 1 if som % 11 == 10 else 0
    return f"{cijfers}{achtste}{(som + 2 * achtste) % 11}"


EERSTE_Q = 100_000
"""Youth k of the fill has BSN ``bsn(EERSTE_Q + k)``; new youths of the measurement count down from the top."""
LAATSTE_Q = 9_999_999


@dataclass(frozen=True)
class Partij:
    """A demo instantie as the fill needs it."""

    id: int
    oin: str
    kaart: Contactkaart
    """The contact card others see of its meldingen (all of the fill's meldingen name the same professional)."""
    gemeente: str | None
    """Where its counts belong (its profile; the population register is empty)."""


@dataclass
class Stand:
    """Where a fill step continues: the next row id of each table, the last signal number of each instantie, and
    the youth and melding of a group whose second instantie's melding is still to come."""

    ids: dict[str, int]
    volgnummers: dict[int, int]
    open_paar: tuple[int, str, Partij] | None = None


class Model:
    """Melding i of the fill is melding r = i mod 3 of group g = i div 3. Youth 2g has one melding (instantie
    g mod 3); youth 2g+1 has meldingen of instanties (g+1) mod 3 and (g+2) mod 3, and the second one made the
    client match. Group g was filed at ``nu`` minus a fraction of ``SPREIDING`` (the golden-ratio sequence, so
    that every prefix of the groups covers the whole period evenly), melding r r seconds later."""

    def __init__(self, settings: Settings, nu: datetime, partijen: Sequence[Partij]) -> None:
        self.settings = settings
        self.nu = nu
        self.partijen = partijen
        self.regels = Regels(settings.max_melding_jaren, settings.max_leeftijd, settings.archief_jaren)
        self.signaal_grens = nu - timedelta(days=settings.signaal_dagen)
        self.bericht_grens = nu - timedelta(days=settings.herhaalvenster_dagen)
        self._einddata: dict[date, date] = {}

    def tijd(self, i: int) -> datetime:
        g, r = divmod(i, 3)
        terug = SPREIDING.total_seconds() * ((g * GULDEN) % 1.0) + 60.0
        return self.nu - timedelta(seconds=round(terug - r, 6))

    @staticmethod
    def jongere(i: int) -> int:
        g, r = divmod(i, 3)
        return 2 * g + (r > 0)

    def partij(self, i: int) -> Partij:
        g, r = divmod(i, 3)
        return self.partijen[(g + r) % 3]

    def einddatum(self, t: datetime) -> date:
        """The planned end date of a filing at ``t`` without a requested one (``Indienen.einddatum``)."""
        dag = t.date()
        if dag not in self._einddata:
            self._einddata[dag] = self.regels.geplande_einddatum(None, dag, dag)
        return self._einddata[dag]

    # --- rows, each as the gateway writes it (also used to check the gateway's own rows) -----------------

    @staticmethod
    def jongere_rij(rij_id: int, nummer: str) -> dict[str, Any]:
        return {"id": rij_id, "sleutel": Jongere.met_bsn(nummer, None).sleutel, "geboortedatum": None,
                "pseudoniem": None}  # fmt: skip

    def melding_rij(self, rij_id: int, melding_id: str, partij: Partij, jongere_id: int, t: datetime) -> dict[str, Any]:
        """``Indienen._nieuwe_melding`` of a MeldingAfgeven of ``bench/meldingen.lua``'s shape (no end date asked,
        no designated professional's id, not shielded), counted where ``Kern._gemeente`` counts it."""
        return {
            "id": rij_id, "melding_id": melding_id, "instantie_id": partij.id, "jongere_id": jongere_id,
            "status": MeldingStatus.ACTIEF.value, "afgegeven": t, "gewijzigd": t,
            "geplande_einddatum": self.einddatum(t), "beeindigd": None, "reden": None, "archief_tot": None,
            "versie": 1, "mb_naam": MB_NAAM, "mb_functie": None, "mb_telefoon": MB_TELEFOON, "mb_email": None,
            "bronsysteem": BRONSYSTEEM, "mb_code": None, "gemeente": partij.gemeente, "bron_systeem": None,
            "bron_melding_id": None, "afgeschermd": False, "verloop_gemeld": False, "archief_gemeld": False,
        }  # fmt: skip

    @staticmethod
    def match_rij(rij_id: int, match_id: str, jongere_id: int, t: datetime) -> dict[str, Any]:
        return {
            "id": rij_id, "match_id": match_id, "jongere_id": jongere_id, "soort": MatchSoort.CLIENTMATCH.value,
            "status": MatchStatus.ACTIEF.value, "ontstaan": t, "beeindigd": None, "regievoerder_id": None,
            "regie_tijdstip": None, "regie_systeem": None, "leden": None,
        }  # fmt: skip

    @staticmethod
    def beeld(match_id: str, eigen: str, t: datetime, ander: Partij) -> MatchBeeld:
        """A new client match of two parties as the party of melding ``eigen`` sees it."""
        return MatchBeeld(match_id, eigen, MatchSoort.CLIENTMATCH, MatchStatus.ACTIEF, t, (ander.kaart,))

    def signaal_rij(
        self, rij_id: int, partij: Partij, volgnummer: int, t: datetime, match_id: str, eigen: str, ander: Partij
    ) -> dict[str, Any]:
        """The ``nieuweMatch`` signal of ``partij`` (its melding ``eigen``) about a match with ``ander``."""
        inhoud = compact(self.beeld(match_id, eigen, t, ander).to_json())
        soort = SignaalSoort.NIEUWE_MATCH.value
        return {"id": rij_id, "instantie_id": partij.id, "volgnummer": volgnummer, "soort": soort, "tijdstip": t,
                "melding_id": eigen, "inhoud": inhoud}  # fmt: skip

    @staticmethod
    def telling_rij(rij_id: int, t: datetime, partij: Partij, soort: str) -> dict[str, Any]:
        return {"id": rij_id, "tijdstip": t, "instantie_id": partij.id, "soort": soort, "gemeente": partij.gemeente,
                "waarde": None}  # fmt: skip

    def antwoord(
        self, melding_id: str, partij: Partij, t: datetime, bericht_id: str, beeld: MatchBeeld | None, volgnummer: int
    ) -> bytes:
        """The stored answer of a ``MeldingAfgeven``, rendered as the gateway renders it (its receipt names a
        log entry the small log of the fill does not have)."""
        antwoord = B.MeldingAfgevenResponse(
            meldingId=melding_id,
            geplandeEinddatum=self.einddatum(t),
            match=[match_naar_bericht(beeld)] if beeld is not None else [],
            archiefsignaal=None,
        )
        antwoord.stuurgegevens = B.StuurgegevensAntwoord(
            berichtId=str(uuid.uuid4()),
            tijdstip=t,
            zender=B.Zender(oin=self.settings.gateway_oin, applicatie=self.settings.applicatie),
            ontvanger=B.Ontvanger(oin=partij.oin),
            kruisverwijzing=bericht_id,
        )
        leaf = hashlib.sha256(bericht_id.encode()).digest()
        antwoord.stuurgegevens.ontvangstbewijs = B.Ontvangstbewijs(
            volgnummer=volgnummer, leafHash=base64.b64encode(leaf).decode()
        )
        return bytes(etree.tostring(als_xml(antwoord, B.MeldingAfgevenResponse)))

    def bericht_rij(
        self, rij_id: int, partij: Partij, melding_id: str, t: datetime, beeld: MatchBeeld | None, bericht_id: str
    ) -> dict[str, Any]:
        """The claimed berichtId with its stored answer (``Repository.claim_bericht``, ``bewaar_antwoord``)."""
        return {
            "id": rij_id, "zender_oin": partij.oin, "bericht_id": bericht_id, "operatie": "MeldingAfgeven",
            "verzoek_hash": hashlib.sha256(bericht_id.encode()).digest(),
            "antwoord": self.antwoord(melding_id, partij, t, bericht_id, beeld, 3 * rij_id), "tijdstip": t,
        }  # fmt: skip

    def controleer(self) -> None:
        """Every row function gives every column of its table, and the BSNs pass the gateway's elfproef."""
        p, t = self.partijen[0], self.nu
        voorbeeld = {
            "jongere": self.jongere_rij(1, bsn(EERSTE_Q)), "melding": self.melding_rij(1, "m", p, 1, t),
            "match": self.match_rij(1, "x", 1, t), "signaal": self.signaal_rij(1, p, 1, t, "x", "m", p),
            "telling": self.telling_rij(1, t, p, "meldingen"), "bericht": self.bericht_rij(1, p, "m", t, None, "b"),
        }  # fmt: skip
        for tabel, rij in voorbeeld.items():
            if set(rij) != set(KOLOMMEN[tabel]):
                raise NietGetrouw(
                    f"the fill's row of {tabel} misses or adds columns: {set(rij) ^ set(KOLOMMEN[tabel])}"
                )
        for q in (EERSTE_Q, LAATSTE_Q, *random.Random(7).sample(range(EERSTE_Q, LAATSTE_Q), 2000)):
            if not bsn_is_geldig(bsn(q)):
                raise NietGetrouw(f"bsn({q}) = {bsn(q)} fails the gateway's elfproef")

    # --- a batch of the fill --------------------------------------------------------------------------------

    def rijen(self, lo: int, hi: int, stand: Stand) -> dict[str, list[tuple[Any, ...]]]:
        """The rows of meldingen lo … hi-1 for every table; ``stand`` moves on."""
        lijsten: dict[str, list[tuple[Any, ...]]] = {t: [] for t in KOLOMMEN}
        ids = stand.ids

        def volgend(tabel: str) -> int:
            ids[tabel] += 1
            return ids[tabel] - 1

        def rij(tabel: str, waarden: dict[str, Any]) -> None:
            lijsten[tabel].append(_ALS_RIJ[tabel](waarden))

        for i in range(lo, hi):
            r = i % 3
            t, partij = self.tijd(i), self.partij(i)
            if r < 2:
                jongere_id = volgend("jongere")
                rij("jongere", self.jongere_rij(jongere_id, bsn(EERSTE_Q + self.jongere(i))))
            else:
                assert stand.open_paar is not None
                jongere_id = stand.open_paar[0]
            melding_id = str(uuid.uuid4())
            rij("melding", self.melding_rij(volgend("melding"), melding_id, partij, jongere_id, t))
            rij("telling", self.telling_rij(volgend("telling"), t, partij, "meldingen"))
            beeld = None
            if r == 1:
                stand.open_paar = (jongere_id, melding_id, partij)
            elif r == 2:
                assert stand.open_paar is not None
                _, eerste, eerste_partij = stand.open_paar
                stand.open_paar = None
                match_id = str(uuid.uuid4())
                rij("match", self.match_rij(volgend("match"), match_id, jongere_id, t))
                beeld = self.beeld(match_id, melding_id, t, eerste_partij)
                # ``Kern._signaleer``: one notice per party in ascending instantie id, numbered per instantie.
                kant = sorted(
                    [(eerste_partij, eerste, partij), (partij, melding_id, eerste_partij)], key=lambda k: k[0].id
                )
                for wie, eigen, ander in kant:
                    stand.volgnummers[wie.id] += 1
                    if t >= self.signaal_grens:
                        nummer = stand.volgnummers[wie.id]
                        rij("signaal", self.signaal_rij(volgend("signaal"), wie, nummer, t, match_id, eigen, ander))
                    rij("telling", self.telling_rij(volgend("telling"), t, wie, "clientmatches"))
            if t >= self.bericht_grens:
                bericht = self.bericht_rij(volgend("bericht"), partij, melding_id, t, beeld, str(uuid.uuid4()))
                rij("bericht", bericht)
        return lijsten


# --------------------------------------------------------------------------------------------------
# The store: SQLite or PostgreSQL


class Opslag:
    """The filled database: reads through SQLAlchemy, bulk writes through the driver."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url)
        self.is_sqlite = url.startswith("sqlite")

    def close(self) -> None:
        self.engine.dispose()

    def partijen(self) -> list[Partij]:
        """The demo instanties, in the order of ``DEMO_INSTANTIES``."""
        uit = []
        with self.engine.connect() as c:
            for oin, _, _ in DEMO_INSTANTIES:
                rij = c.execute(select(m.Instantie).where(m.Instantie.oin == oin, m.Instantie.systeem.is_(None))).one()
                inst = m.Instantie(
                    **{k: getattr(rij, k) for k in ("id", "oin", "naam", "vestiging", "afschermcontact")}
                )
                voorbeeld = m.Melding(
                    afgeschermd=False,
                    mb_naam=MB_NAAM,
                    mb_functie=None,
                    mb_telefoon=MB_TELEFOON,
                    mb_email=None,
                    bronsysteem=BRONSYSTEEM,
                )
                gemeente = c.execute(
                    select(m.Profielinhoud.gemeente).where(m.Profielinhoud.instantie_id == rij.id)
                ).scalar_one_or_none()
                uit.append(Partij(rij.id, oin, kaart(voorbeeld, inst), gemeente))
        return uit

    def stand(self, model: Model, lo: int) -> Stand:
        """Where a fill from melding ``lo`` continues."""
        with self.engine.connect() as c:
            ids = {
                t: int(c.execute(text(f'SELECT coalesce(max(id), 0) + 1 FROM "{t}"')).scalar_one()) for t in KOLOMMEN
            }
            volg = {int(i): int(n) for i, n in c.execute(text("SELECT id, signaal_uitgegeven FROM instantie"))}
            open_paar = None
            if lo % 3 == 2:  # the group's second youth has its first melding: look it up
                sleutel = Jongere.met_bsn(bsn(EERSTE_Q + model.jongere(lo)), None).sleutel
                partij = model.partij(lo - 1)
                jid, mid = c.execute(
                    text(
                        "SELECT j.id, m.melding_id FROM jongere j JOIN melding m ON m.jongere_id = j.id "
                        "WHERE j.sleutel = :s AND m.instantie_id = :i"
                    ),
                    {"s": sleutel, "i": partij.id},
                ).one()
                open_paar = (int(jid), str(mid), partij)
        return Stand(ids, volg, open_paar)

    @contextlib.contextmanager
    def schrijver(self) -> Iterator[Callable[[dict[str, list[tuple[Any, ...]]]], None]]:
        """A function that writes one batch of rows and commits it."""
        if self.is_sqlite:
            with self._sqlite() as f:
                yield f
        else:
            with self._postgres() as f:
                yield f

    @contextlib.contextmanager
    def _sqlite(self) -> Iterator[Callable[[dict[str, list[tuple[Any, ...]]]], None]]:
        path = make_url(self.url).database
        assert path is not None
        self.engine.dispose()  # no other connection, or the journal mode cannot change
        conn = sqlite3.connect(path, isolation_level=None)
        # The gateway is stopped while the fill writes: a rollback journal without syncs, a large page cache.
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        dialect = sqlite_dialect.dialect()
        omzetten: dict[str, list[tuple[int, Callable[[Any], Any]]]] = {}
        for tabel, kolommen in KOLOMMEN.items():
            c = TABELLEN[tabel].__table__.c
            omzetten[tabel] = [
                (n, p) for n, k in enumerate(kolommen) if (p := c[k].type.dialect_impl(dialect).bind_processor(dialect))
            ]

        def schrijf(rijen: dict[str, list[tuple[Any, ...]]]) -> None:
            conn.execute("BEGIN")
            for tabel, lijst in rijen.items():
                if not lijst:
                    continue
                kolommen = KOLOMMEN[tabel]
                stmt = f'INSERT INTO "{tabel}" ({", ".join(kolommen)}) VALUES ({", ".join("?" * len(kolommen))})'
                conv = omzetten[tabel]
                conn.executemany(stmt, (_omgezet(r, conv) for r in lijst))
            conn.execute("COMMIT")

        try:
            yield schrijf
        finally:
            conn.execute("PRAGMA journal_mode=WAL")  # as the gateway keeps it
            conn.close()

    @contextlib.contextmanager
    def _postgres(self) -> Iterator[Callable[[dict[str, list[tuple[Any, ...]]]], None]]:
        conn = psycopg.connect(make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False))
        conn.execute("SET synchronous_commit = off")

        def schrijf(rijen: dict[str, list[tuple[Any, ...]]]) -> None:
            with conn.cursor() as cur:
                for tabel, lijst in rijen.items():
                    if not lijst:
                        continue
                    with cur.copy(f'COPY "{tabel}" ({", ".join(KOLOMMEN[tabel])}) FROM STDIN') as copy:
                        for r in lijst:
                            copy.write_row(r)
            conn.commit()

        try:
            yield schrijf
        finally:
            conn.close()

    def afronden(self, stand: Stand) -> float:
        """After a fill step: the instanties' signal counters and (PostgreSQL) the id sequences, then what
        autovacuum would do after so many inserts (VACUUM ANALYZE); returns the seconds the vacuum took. SQLite
        gets no ANALYZE: the gateway never runs one."""
        with self.engine.begin() as c:
            for instantie_id, n in stand.volgnummers.items():
                c.execute(
                    text("UPDATE instantie SET signaal_uitgegeven = :n WHERE id = :i"), {"n": n, "i": instantie_id}
                )
            if not self.is_sqlite:
                for tabel in KOLOMMEN:
                    c.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('\"{tabel}\"', 'id'), :n, false)"),
                        {"n": stand.ids[tabel]},
                    )
        if self.is_sqlite:
            return 0.0
        t0 = time.perf_counter()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f"VACUUM (ANALYZE) {', '.join(KOLOMMEN)}, instantie"))
        return time.perf_counter() - t0

    def rust(self) -> float:
        """Write what the fill left dirty before measuring (PostgreSQL: a CHECKPOINT; both: the page cache to disk),
        so that the measurement does not share the disk with the write-back of millions of rows; its seconds."""
        t0 = time.perf_counter()
        if not self.is_sqlite:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("CHECKPOINT"))
        os.sync()
        return time.perf_counter() - t0

    def tellingen(self) -> dict[str, int]:
        with self.engine.connect() as c:
            return {
                t: int(c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in (*KOLOMMEN, "logregel")
            }

    def grootte(self) -> str:
        """The database's size on disk."""
        if self.is_sqlite:
            path = Path(make_url(self.url).database or "")
            delen = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
            wal = " + WAL" if len(delen) > 1 else ""
            return f"{sum(p.stat().st_size for p in delen) / 2**30:.2f} GiB (SQLite file{wal})"
        with self.engine.connect() as c:
            n = int(c.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        return f"{n / 2**30:.2f} GiB (pg_database_size)"

    def meldingen_van(self, sleutels: Sequence[str]) -> dict[str, list[tuple[int, str, str | None]]]:
        """The active meldingen of these youths (instantie id, meldingId, the youth's active client match's id)."""
        uit: dict[str, list[tuple[int, str, str | None]]] = {s: [] for s in sleutels}
        q = text(
            "SELECT j.sleutel, m.instantie_id, m.melding_id, "
            "(SELECT x.match_id FROM match x WHERE x.jongere_id = j.id AND x.soort = 'clientmatch' "
            "AND x.status = 'actief') FROM jongere j JOIN melding m ON m.jongere_id = j.id "
            "WHERE j.sleutel IN :s AND m.status = 'actief'"
        ).bindparams(bindparam("s", expanding=True))
        with self.engine.connect() as c:
            for n in range(0, len(sleutels), 500):
                for sleutel, inst, mid, match_id in c.execute(q, {"s": list(sleutels[n : n + 500])}):
                    uit[sleutel].append((int(inst), str(mid), match_id))
        return uit


def _omgezet(rij: tuple[Any, ...], conv: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    if not conv:
        return rij
    lijst = list(rij)
    for n, f in conv:
        if lijst[n] is not None:
            lijst[n] = f(lijst[n])
    return tuple(lijst)


def vul(opslag: Opslag, model: Model, lo: int, hi: int) -> tuple[float, float]:
    """Meldingen lo … hi-1 of the model into the store; (seconds writing, seconds of the vacuum)."""
    t0 = time.perf_counter()
    stand = opslag.stand(model, lo)
    geschreven = 0
    with opslag.schrijver() as schrijf:
        for a in range(lo, hi, CHUNK):
            b = min(hi, a + CHUNK)
            rijen = model.rijen(a, b, stand)
            geschreven += len(rijen["melding"])
            schrijf(rijen)
            tempo = (b - lo) / (time.perf_counter() - t0)
            print(f"\r  filling: {b:,}/{hi:,} ({tempo:,.0f} meldingen/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if geschreven != hi - lo:
        raise NietGetrouw(f"the fill wrote {geschreven:,} meldingen, not {hi - lo:,}")
    vacuum = opslag.afronden(stand)
    return time.perf_counter() - t0 - vacuum, vacuum


# --------------------------------------------------------------------------------------------------
# Requests


def _stuurgegevens(oin: str, gateway_oin: str) -> str:
    tijdstip = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"<kp:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId><g:tijdstip>{tijdstip}</g:tijdstip>"
        f"<g:zender><g:oin>{oin}</g:oin><g:applicatie>{BRONSYSTEEM}</g:applicatie></g:zender>"
        f"<g:ontvanger><g:oin>{gateway_oin}</g:oin></g:ontvanger></kp:stuurgegevens>"
    )


_ENVELOP = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="urn:nl:vir:gateway:gegevens:v1"><soap:Body>{}'
    "</soap:Body></soap:Envelope>"
)


def afgeven(oin: str, nummer: str, gateway_oin: str) -> bytes:
    return _ENVELOP.format(
        f"<kp:MeldingAfgeven>{_stuurgegevens(oin, gateway_oin)}<kp:jongere><g:bsn>{nummer}</g:bsn></kp:jongere>"
        f"<kp:meldingsbevoegde><g:naam>{MB_NAAM}</g:naam><g:telefoon>{MB_TELEFOON}</g:telefoon>"
        "</kp:meldingsbevoegde></kp:MeldingAfgeven>"
    ).encode()


def opvragen(oin: str, melding_id: str | None, gateway_oin: str) -> bytes:
    wat = f"<kp:meldingId>{melding_id}</kp:meldingId>" if melding_id else "<kp:paginaGrootte>10</kp:paginaGrootte>"
    return _ENVELOP.format(f"<kp:MatchesOpvragen>{_stuurgegevens(oin, gateway_oin)}{wat}</kp:MatchesOpvragen>").encode()


@dataclass(frozen=True)
class Verzoek:
    """One request of the measurement and what its answer must say."""

    soort: str
    """``nieuw``, ``enkel`` or ``paar`` (MeldingAfgeven on a new youth, a fill youth with one melding, one with a
    match), ``opvragen`` (MatchesOpvragen with a meldingId) or ``lijst`` (without)."""
    oin: str
    body: bytes
    partners: tuple[str, ...] = ()
    """The OINs of the other parties the answer's match must name (sorted; none: no match)."""
    match_id: str | None = None
    """The match the answer must show (MatchesOpvragen)."""
    nummer: str = ""
    """The youth's BSN (MeldingAfgeven)."""

    @property
    def operatie(self) -> str:
        return "MatchesOpvragen" if self.soort in ("opvragen", "lijst") else "MeldingAfgeven"


_MATCH_ID = re.compile(rb"<g:matchId>([^<]+)</g:matchId>")
_PARTIJ_OIN = re.compile(rb"<g:partij><g:instantie><g:oin>([0-9]+)</g:oin>")
_TOTAAL = re.compile(rb"<kp:totaal>([0-9]+)</kp:totaal>")


def fout_in(verzoek: Verzoek, status: int, body: bytes) -> str | None:
    """What is wrong with the answer (None: it says what it must)."""
    if status != 200 or f"{verzoek.operatie}Response".encode() not in body:
        return f"HTTP {status}"
    if verzoek.soort == "lijst":
        m_ = _TOTAAL.search(body)
        return None if m_ and int(m_.group(1)) > 0 else "no matches listed"
    matches = _MATCH_ID.findall(body)
    partners = tuple(sorted(x.decode() for x in _PARTIJ_OIN.findall(body)))
    if len(matches) != (1 if verzoek.partners else 0) or partners != verzoek.partners:
        return f"expected a match with {verzoek.partners or 'nobody'}, got {len(matches)} match(es) with {partners}"
    if verzoek.match_id is not None:
        totaal = _TOTAAL.search(body)
        if matches[0].decode() != verzoek.match_id or totaal is None or totaal.group(1) != b"1":
            return f"expected exactly match {verzoek.match_id} of the fill, got {matches[0].decode()}"
    return None


@dataclass
class Keuze:
    """The requests of one measurement, drawn from the filled store and checked against it first."""

    afgeven: list[Verzoek]
    opvragen: list[Verzoek]
    lijst: list[Verzoek]
    plan_afgeven: Verzoek
    plan_opvragen: Verzoek


def kies(
    opslag: Opslag,
    model: Model,
    gevuld: int,
    aantal: int,
    lijst: int,
    nieuw: Iterator[int],
    seed: int,
    gateway_oin: str,
) -> Keuze:
    """``aantal`` MeldingAfgeven (new youth, fill youth with one melding, fill youth with a match, in turn) and
    ``aantal`` MatchesOpvragen on fill youths with a match, plus one of each for the plans. Youths of the fill are
    drawn from its complete groups and used only when the store holds exactly what the fill wrote for them (a
    kept store's earlier measurements filed on some)."""
    rng = random.Random(seed)
    groepen = gevuld // 3
    per_soort = aantal // 3 + 2
    nodig = 3 * per_soort + aantal + 8
    if groepen < nodig:
        raise BenchError(f"{gevuld:,} meldingen are too few for {aantal} requests of each kind")
    getrokken = rng.sample(range(groepen), min(groepen, 2 * nodig))
    sleutels = {
        g: (
            Jongere.met_bsn(bsn(EERSTE_Q + 2 * g), None).sleutel,
            Jongere.met_bsn(bsn(EERSTE_Q + 2 * g + 1), None).sleutel,
        )
        for g in getrokken
    }
    meldingen = opslag.meldingen_van([s for paar in sleutels.values() for s in paar])
    oin = {p.id: p.oin for p in model.partijen}
    enkel: list[Verzoek] = []
    paar: list[Verzoek] = []
    opv: list[Verzoek] = []
    for g in getrokken:
        eerste, tweede = model.partij(3 * g), model.partij(3 * g + 1)
        derde = model.partij(3 * g + 2)
        een, twee = meldingen[sleutels[g][0]], meldingen[sleutels[g][1]]
        if [x[0] for x in een] != [eerste.id] or sorted(x[0] for x in twee) != sorted((tweede.id, derde.id)):
            continue  # not as the fill left it
        if len(enkel) < per_soort:
            nummer = bsn(EERSTE_Q + 2 * g)
            enkel.append(
                Verzoek("enkel", tweede.oin, afgeven(tweede.oin, nummer, gateway_oin), (eerste.oin,), None, nummer)
            )
        elif len(paar) < per_soort:
            nummer = bsn(EERSTE_Q + 2 * g + 1)
            partners = tuple(sorted((tweede.oin, derde.oin)))
            paar.append(Verzoek("paar", eerste.oin, afgeven(eerste.oin, nummer, gateway_oin), partners, None, nummer))
        elif len(opv) < aantal + 1:
            (_, mid, match_id) = next(x for x in twee if x[0] == tweede.id)
            body = opvragen(tweede.oin, mid, gateway_oin)
            opv.append(Verzoek("opvragen", tweede.oin, body, (oin[derde.id],), match_id))
        else:
            break
    if len(opv) < aantal + 1:
        raise BenchError("too few youths of the fill are as the fill left them")
    nieuwe: list[Verzoek] = []
    while len(nieuwe) < per_soort:
        nummer = bsn(next(nieuw))
        partij = model.partijen[len(nieuwe) % 3]
        nieuwe.append(Verzoek("nieuw", partij.oin, afgeven(partij.oin, nummer, gateway_oin), (), None, nummer))
    bekend = opslag.meldingen_van([Jongere.met_bsn(v.nummer, None).sleutel for v in nieuwe])
    if any(bekend.values()):
        raise BenchError("a new youth of the measurement is in the store already (a kept store: start afresh)")
    reeks = [v for drie in zip(nieuwe, enkel, paar, strict=False) for v in drie]
    lijsten = [Verzoek("lijst", p.oin, opvragen(p.oin, None, gateway_oin)) for p in model.partijen]
    return Keuze(reeks[:aantal], opv[:aantal], [lijsten[n % 3] for n in range(lijst)], enkel[-1], opv[-1])


# --------------------------------------------------------------------------------------------------
# Measurement


@dataclass
class Meting:
    """Latencies of one size in seconds, per operation and per kind of MeldingAfgeven."""

    backend: str
    grootte: int
    """Meldingen stored when the measurement began."""
    referentie: bool = False
    """The copy of the smallest store, measured alternately with a larger one."""
    tijden: dict[str, list[float]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)

    def p50(self, op: str) -> float:
        return pct(self.tijden[op], 0.5)


def pct(xs: Sequence[float], p: float) -> float:
    """The nearest-rank percentile."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(p * len(s)) - 1))]


def stuur(sessie: requests.Session, server: Server, verzoek: Verzoek) -> float:
    """Send one request and check its answer; its latency in seconds (request sent to answer read)."""
    t0 = time.perf_counter()
    r = sessie.post(server.url, data=verzoek.body, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=120)
    body = r.content
    dt = time.perf_counter() - t0
    if (fout := fout_in(verzoek, r.status_code, body)) is not None:
        raise RequestsFailed(
            f"{verzoek.operatie} ({verzoek.soort}) failed: {fout}\nanswer: {body[:1500]!r}\n"
            f"--- last lines of the gateway log ---\n{server.log_tail()}"
        )
    return dt


def meet(doelen: Sequence[tuple[Server, Keuze, Meting]], warmup: int) -> None:
    """MeldingAfgeven and MatchesOpvragen in turn from one client; with two stores (a larger one and the copy of
    the smallest) in blocks of ``BLOK`` pairs, one store after the other, so both see the same machine (a request
    that follows one to the other gateway pays a few ms for waking it). The first ``warmup`` of each kind are not
    timed."""
    sessie = requests.Session()
    load0 = os.getloadavg()[0]
    totaal = len(doelen[0][1].afgeven)
    for begin in range(0, totaal, BLOK):
        for server, keuze, meting in doelen:
            for n in range(begin, min(totaal, begin + BLOK)):
                for verzoek in (keuze.afgeven[n], keuze.opvragen[n]):
                    dt = stuur(sessie, server, verzoek)
                    if n >= warmup:
                        meting.tijden.setdefault(verzoek.operatie, []).append(dt)
                        if verzoek.operatie == "MeldingAfgeven":
                            meting.tijden.setdefault(verzoek.soort, []).append(dt)
    for server, keuze, meting in doelen:
        for v in keuze.lijst:
            meting.tijden.setdefault("MatchesOpvragen (all, page 1)", []).append(stuur(sessie, server, v))
    for _, _, meting in doelen:
        meting.load = (load0, os.getloadavg()[0])


# --------------------------------------------------------------------------------------------------
# Is the fill faithful? A youth filed through the gateway against what the fill would have written


def _utc(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    return v


def _rijen(c: Any, tabel: str, *voorwaarden: Any) -> list[dict[str, Any]]:
    t = TABELLEN[tabel].__table__
    q = select(t).where(*voorwaarden).order_by(t.c.id)
    return [{k: _utc(v) for k, v in r._mapping.items()} for r in c.execute(q)]


_EIGEN_BERICHT = re.compile(rb"(<kp:stuurgegevens><g:berichtId>)[^<]+(</g:berichtId>)")
_ONTVANGSTBEWIJS = re.compile(rb"<g:ontvangstbewijs>.*?</g:ontvangstbewijs>")


def _zonder_unieke(antwoord: bytes) -> bytes:
    """An answer without what differs for every answer: its own berichtId and its log receipt."""
    return _ONTVANGSTBEWIJS.sub(b"<g:ontvangstbewijs/>", _EIGEN_BERICHT.sub(rb"\1-\2", antwoord))


def vergelijk(opslag: Opslag, model: Model, keuze: Keuze) -> int:
    """Compare the rows of the last measured filings on a new youth and on a fill youth with one melding (a
    match) with what ``Model`` writes for the same ids and moment: every column, the signals' content and the
    stored answers byte for byte (but for the answer's own berichtId and its log receipt). Returns the number of
    rows compared."""
    partij = {p.id: p for p in model.partijen}
    verschillen: list[str] = []
    vergeleken = 0

    def zelfde(tabel: str, echt: dict[str, Any], verwacht: dict[str, Any]) -> None:
        nonlocal vergeleken
        vergeleken += 1
        for k in KOLOMMEN[tabel]:
            a, b = echt[k], _utc(verwacht[k])
            if k == "antwoord":
                a, b = _zonder_unieke(bytes(a)), _zonder_unieke(b)
            if a != b:
                verschillen.append(f"{tabel}.{k}: the gateway wrote {a!r}, the fill writes {b!r}")

    laatste = {v.soort: v for v in keuze.afgeven}
    with opslag.engine.connect() as c:
        for soort in ("nieuw", "enkel"):
            verzoek = laatste[soort]
            [jongere] = _rijen(c, "jongere", m.Jongere.sleutel == Jongere.met_bsn(verzoek.nummer, None).sleutel)
            zelfde("jongere", jongere, model.jongere_rij(jongere["id"], verzoek.nummer))
            *eerder, nieuw = _rijen(c, "melding", m.Melding.jongere_id == jongere["id"])
            t, wie = nieuw["afgegeven"], partij[nieuw["instantie_id"]]
            zelfde("melding", nieuw, model.melding_rij(nieuw["id"], nieuw["melding_id"], wie, jongere["id"], t))
            verwacht = [model.telling_rij(0, t, wie, "meldingen")]
            beeld = None
            if eerder:
                [eerste] = eerder
                ander = partij[eerste["instantie_id"]]
                [match] = _rijen(c, "match", m.Match.jongere_id == jongere["id"])
                zelfde("match", match, model.match_rij(match["id"], match["match_id"], jongere["id"], t))
                ids = [eerste["melding_id"], nieuw["melding_id"]]
                signalen = _rijen(c, "signaal", m.Signaal.melding_id.in_(ids))
                if len(signalen) != 2:
                    verschillen.append(f"signaal: the gateway wrote {len(signalen)} signals of a new match, not 2")
                for s in signalen:
                    tegen = ander if s["melding_id"] == nieuw["melding_id"] else wie
                    eigen = partij[s["instantie_id"]]
                    zelfde("signaal", s, model.signaal_rij(
                        s["id"], eigen, s["volgnummer"], t, match["match_id"], s["melding_id"], tegen
                    ))  # fmt: skip
                verwacht += [model.telling_rij(0, t, p, "clientmatches") for p in (wie, ander)]
                beeld = model.beeld(match["match_id"], nieuw["melding_id"], t, ander)
            tellingen = sorted((x["instantie_id"], x["soort"], x["gemeente"], x["waarde"])
                               for x in _rijen(c, "telling", m.Telling.tijdstip == t))  # fmt: skip
            vergeleken += len(tellingen)
            if tellingen != sorted((x["instantie_id"], x["soort"], x["gemeente"], x["waarde"]) for x in verwacht):
                verschillen.append(f"telling: the gateway wrote {tellingen}, the fill writes {verwacht}")
            bericht_id = re.search(rb"<g:berichtId>([^<]+)</g:berichtId>", verzoek.body)
            assert bericht_id is not None
            [bericht] = _rijen(c, "bericht", m.Bericht.bericht_id == bericht_id.group(1).decode())
            verwacht_bericht = model.bericht_rij(
                bericht["id"], wie, nieuw["melding_id"], t, beeld, bericht["bericht_id"]
            )
            verwacht_bericht["verzoek_hash"] = bericht["verzoek_hash"]  # the hash of the request's bytes
            zelfde("bericht", bericht, verwacht_bericht)
    if verschillen:
        raise NietGetrouw("the fill does not write what the gateway writes:\n  " + "\n  ".join(verschillen))
    return vergeleken


# --------------------------------------------------------------------------------------------------
# Query plans of the measured operations, captured in process


def wsgi_post(app: Any, body: bytes) -> tuple[int, bytes]:
    """One POST to the chain-partner service through the WSGI interface, as gunicorn makes it."""
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "PATH_INFO": "/v1/ketenpartner",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    out = b"".join(app(environ, lambda s, h, *a: status.append(s)))
    return int(status[0].split()[0]), out


_SQLITE_SCAN = re.compile(r"\bSCAN (\w+)")
FK_CHECK = "(foreign-key counter check: skipped at run time, OP_FkIfZero, unless a violation is pending)"


def _sqlite_plan(cur: Any, statement: str, params: Any) -> tuple[list[str], list[str]]:
    """SQLite's plan of a statement, and its full scans of growing tables. Inserting a parent row (the youth's
    upsert) shows a scan of each child table for SQLite's foreign-key counter; the bytecode jumps over it while no
    constraint violation is pending (``OP_FkIfZero``), so it is marked, and found by explaining the statement once
    more with foreign keys off."""

    def plan() -> list[str]:
        cur.execute("EXPLAIN QUERY PLAN " + statement, params)
        return [str(r[3]) for r in cur.fetchall()]

    regels = plan()
    cur.execute("PRAGMA foreign_keys=OFF")
    try:
        zonder = plan()
    finally:
        cur.execute("PRAGMA foreign_keys=ON")
    rest = list(zonder)
    uit = []
    for regel in regels:
        if regel in rest:
            rest.remove(regel)
            uit.append(regel)
        else:
            uit.append(f"{regel}   {FK_CHECK}")
    scans = [x for x in zonder if (s := _SQLITE_SCAN.search(x)) and s.group(1) in GROEIEND]
    return uit, scans


def _pg_scans(knoop: dict[str, Any], rijen: dict[str, float]) -> Iterator[str]:
    """Full scans in a PostgreSQL JSON plan: a Seq Scan, or an index scan without an index condition, of a growing
    table that is not small (``rijen``: the planner's row estimates)."""
    soort, tabel = knoop.get("Node Type", ""), knoop.get("Relation Name", "")
    volledig = soort == "Seq Scan" or (soort.startswith("Index") and "Index Cond" not in knoop)
    if tabel in GROEIEND and volledig and rijen.get(tabel, 0) >= KLEIN:
        yield f"{soort} on {tabel}"
    for kind in knoop.get("Plans", []):
        yield from _pg_scans(kind, rijen)


@dataclass(frozen=True)
class Plan:
    operatie: str
    sql: str
    params: Any
    plan: list[str]
    scans: list[str]


def plannen(settings: Settings, keuze: Keuze) -> list[Plan]:
    """Run one MeldingAfgeven (a fill youth with one melding: a match) and one MatchesOpvragen (and, with
    ``--lijst``, one without meldingId) in process on the store, capture their statements and explain each
    (explaining executes nothing)."""
    from store.db import Database
    from vir.app import create_app

    verzoeklog = logging.getLogger("vir.verzoek")  # the request lines (gateway/proceslog.py): not printed here
    if not verzoeklog.handlers:
        verzoeklog.addHandler(logging.NullHandler())
        verzoeklog.propagate = False
    db = Database(settings.url)
    app = create_app(settings, db)
    gezien: list[tuple[str, Any]] = []

    def vang(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, executemany: bool) -> None:
        if not executemany and statement.lstrip()[:6].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            gezien.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", vang)
    uit: list[Plan] = []
    try:
        for verzoek in (keuze.plan_afgeven, keuze.plan_opvragen, *keuze.lijst[:1]):
            gezien.clear()
            status, body = wsgi_post(app, verzoek.body)
            if (fout := fout_in(verzoek, status, body)) is not None:
                raise RequestsFailed(f"{verzoek.operatie} in process failed: {fout}\n{body[:1500]!r}")
            event.remove(db.engine, "before_cursor_execute", vang)
            raw = db.engine.raw_connection()
            try:
                cur = raw.cursor()
                if not db.is_sqlite:
                    cur.execute("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")
                    rijen = {str(n): float(r) for n, r in cur.fetchall()}
                for statement, params in gezien:
                    if db.is_sqlite:
                        regels, scans = _sqlite_plan(cur, statement, params)
                    else:
                        cur.execute("EXPLAIN " + statement, params)
                        regels = [str(r[0]) for r in cur.fetchall()]
                        cur.execute("EXPLAIN (FORMAT JSON) " + statement, params)
                        rij = cur.fetchone()
                        assert rij is not None
                        scans = list(_pg_scans(rij[0][0]["Plan"], rijen))
                    naam = f"{verzoek.operatie} (all, page 1)" if verzoek.soort == "lijst" else verzoek.operatie
                    uit.append(Plan(naam, " ".join(statement.split()), params, regels, scans))
                raw.rollback()
            finally:
                raw.close()
            event.listen(db.engine, "before_cursor_execute", vang)
    finally:
        with contextlib.suppress(Exception):
            event.remove(db.engine, "before_cursor_execute", vang)
        db.dispose()
    return uit


# --------------------------------------------------------------------------------------------------
# The run


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[10_000, 1_000_000, 10_000_000],
        help="stored meldingen to measure at, ascending (default 10000 1000000 10000000)",
    )
    p.add_argument("--requests", type=int, default=500, help="measured requests per operation and size (default 500)")
    p.add_argument("--warmup", type=int, default=50, help="unmeasured requests per operation first (default 50)")
    p.add_argument("--workers", type=int, default=1, help="gunicorn workers of the gateway (default 1)")
    p.add_argument("--database", metavar="URL", help="PostgreSQL: a fresh database on this URL's server")
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep (and continue) the store in this directory")
    p.add_argument(
        "--lijst",
        type=int,
        default=0,
        metavar="K",
        help="also time K MatchesOpvragen without meldingId per size (default 0)",
    )
    p.add_argument("--plans", action="store_true", help="print every query plan, not only full scans")
    p.add_argument("--seed", type=int, default=1, help="random seed of the youths drawn (default 1)")
    return p


class Toestand:
    """What a kept store remembers between runs (``schaal.json`` in its directory)."""

    def __init__(self, pad: Path) -> None:
        self.pad = pad
        self.data: dict[str, Any] = json.loads(pad.read_text()) if pad.exists() else {}

    def bewaar(self) -> None:
        self.pad.write_text(json.dumps(self.data, indent=2) + "\n")

    def nieuwe_q(self) -> Iterator[int]:
        """BSN numbers of youths new to the store, counting down from the top (never handed out twice)."""
        while True:
            self.data["nieuw"] = self.data.get("nieuw", 0) + 1
            yield LAATSTE_Q - self.data["nieuw"] + 1


@contextlib.contextmanager
def database(args: argparse.Namespace, toestand: Toestand) -> Iterator[str | None]:
    """The gateway's PostgreSQL database (None: SQLite): fresh and dropped afterwards, or kept with ``--keep``."""
    if args.database is None:
        yield None
        return
    if args.keep is None:
        with fresh_database(args.database) as url:
            yield url
        return
    if "database" not in toestand.data:
        naam = f"vir_schaal_{random.randrange(16**8):08x}"
        beheer = create_engine(args.database, isolation_level="AUTOCOMMIT")
        with beheer.connect() as c:
            c.execute(text(f'CREATE DATABASE "{naam}"'))
        beheer.dispose()
        toestand.data["database"] = make_url(args.database).set(database=naam).render_as_string(hide_password=False)
        toestand.bewaar()
    yield toestand.data["database"]


def instellingen(data: Path, url: str | None) -> Settings:
    """The gateway's settings as ``Server`` starts it (this environment, the data directory, the database)."""
    env = {k: v for k, v in os.environ.items() if k != "VIR_DATABASE_URL"}
    env["VIR_DATA_DIR"] = str(data)
    if url:
        env["VIR_DATABASE_URL"] = url
    return from_env(env)


def gateway_server(werk: Path, workers: int, url: str | None) -> Server:
    """``vir-gateway serve --demo`` on the store in ``werk`` (``Server`` of ``bench/endtoend.py``); the port file
    of an earlier start goes first, or the new one would be taken for the old port."""
    (werk / f"{GATEWAY.name}.port").unlink(missing_ok=True)
    return Server(GATEWAY, werk, workers, url)


def ms(x: float) -> str:
    return f"{1000 * x:8.2f}"


def verslag(metingen: list[Meting], commando: str) -> None:
    """The table of every figure, and the targets."""
    print(f"\nresults of: {commando}")
    print(
        f"{'backend':<10} {'stored':>17}  {'operation':<30} {'n':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8}  load before/after"
    )
    volgorde = ("MeldingAfgeven", "nieuw", "enkel", "paar", "MatchesOpvragen", "MatchesOpvragen (all, page 1)")
    namen = {
        "nieuw": "  of it: new youth",
        "enkel": "  of it: youth with 1 melding",
        "paar": "  of it: youth with a match",
    }
    for mt in metingen:
        grootte = f"{mt.grootte:,}" + (" (copy)" if mt.referentie else "")
        for op in (x for x in volgorde if x in mt.tijden):
            xs = mt.tijden[op]
            print(
                f"{mt.backend:<10} {grootte:>17}  {namen.get(op, op):<30} {len(xs):>5} {ms(pct(xs, 0.5))} "
                f"{ms(pct(xs, 0.9))} {ms(pct(xs, 0.99))} {ms(max(xs))}  {mt.load[0]:.2f}/{mt.load[1]:.2f}"
            )
    eigen = [mt for mt in metingen if not mt.referentie]
    if len(eigen) < 2:
        return
    klein, groot = eigen[0], eigen[-1]
    na = metingen[-1]  # the copy is measured with the largest store and reported right after it
    kopie = na if na.referentie else None
    print(f"\ntarget: p50 at the largest size <= {TARGET_RATIO} x p50 at the smallest")
    for op in ("MeldingAfgeven", "MatchesOpvragen"):
        uitkomsten = [(f"measured first, at {klein.grootte:,}", klein.p50(op))]
        if kopie is not None:
            uitkomsten.append((f"the copy of that store ({kopie.grootte:,}), in the same minutes", kopie.p50(op)))
        for wat, noemer in uitkomsten:
            ratio = groot.p50(op) / noemer
            print(
                f"  {op}: p50 at {groot.grootte:,} / p50 {wat} = {ratio:.2f}   "
                f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}"
            )


@dataclass
class Referentie:
    """A copy of the store at the smallest size, measured alternately with every larger one."""

    werk: Path
    url: str | None
    grootte: int
    opslag: Opslag


def kopieer(
    werk: Path, url: str | None, opslag: Opslag, toestand: Toestand, opruimen: contextlib.ExitStack
) -> Referentie:
    """Copy the store as it is now (the gateway stopped): its data directory (SQLite file, signing key) and, on
    PostgreSQL, its database (CREATE DATABASE … TEMPLATE). Dropped at the end unless kept."""
    doel = werk / "kopie"
    shutil.rmtree(doel, ignore_errors=True)
    opslag.close()  # a template must have no sessions
    shutil.copytree(werk / "data", doel / "data")
    ref_url = None
    if url is not None:
        bron = make_url(url)
        naam = f"{bron.database}_kopie"
        with _beheer(url) as c:
            c.execute(text(f'CREATE DATABASE "{naam}" TEMPLATE "{bron.database}"'))
        ref_url = bron.set(database=naam).render_as_string(hide_password=False)
        if "database" not in toestand.data:
            opruimen.callback(_drop, url, naam)
    grootte = int(toestand.data["gevuld"])
    toestand.data["kopie"] = {"grootte": grootte, "database": ref_url}
    toestand.bewaar()
    return Referentie(doel, ref_url, grootte, Opslag(instellingen(doel / "data", ref_url).url))


@contextlib.contextmanager
def _beheer(url: str) -> Iterator[Any]:
    """An autocommit connection to the server of ``url`` (its maintenance database)."""
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            yield c
    finally:
        engine.dispose()


def _drop(url: str, naam: str) -> None:
    with _beheer(url) as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": naam})
        c.execute(text(f'DROP DATABASE IF EXISTS "{naam}"'))


def toon(meting: Meting) -> None:
    for op in ("MeldingAfgeven", "MatchesOpvragen", "MatchesOpvragen (all, page 1)"):
        if op in meting.tijden:
            xs = meting.tijden[op]
            wat = f"{meting.grootte:,}" + (" (copy)" if meting.referentie else "")
            print(f"  {wat}: {op}: p50 {ms(pct(xs, 0.5)).strip()} ms, p90 {ms(pct(xs, 0.9)).strip()} ms, "
                  f"p99 {ms(pct(xs, 0.99)).strip()} ms")  # fmt: skip


def run(args: argparse.Namespace, werk: Path, commando: str) -> int:
    toestand = Toestand(werk / "schaal.json")
    backend = "postgresql" if args.database else "sqlite"
    if toestand.data.get("backend", backend) != backend:
        raise BenchError(f"{werk} holds a {toestand.data['backend']} store; run with the same backend")
    toestand.data["backend"] = backend
    metingen: list[Meting] = []
    with contextlib.ExitStack() as opruimen:
        url = opruimen.enter_context(database(args, toestand))
        settings = instellingen(werk / "data", url)
        if "nu" not in toestand.data:
            print("creating the store: the gateway's first start (migrations, demo instanties) ...", flush=True)
            with gateway_server(werk, 1, url):
                pass
            toestand.data.update(nu=datetime.now(UTC).isoformat(), gevuld=0)
            toestand.bewaar()
        opslag = Opslag(settings.url)
        opruimen.callback(opslag.close)
        ref: Referentie | None = None
        if (k := toestand.data.get("kopie")) is not None:
            ref = Referentie(
                werk / "kopie",
                k["database"],
                k["grootte"],
                Opslag(instellingen(werk / "kopie" / "data", k["database"]).url),
            )
            opruimen.callback(ref.opslag.close)
        model = Model(settings, datetime.fromisoformat(toestand.data["nu"]), opslag.partijen())
        model.controleer()
        nieuw = toestand.nieuwe_q()
        for grootte in args.sizes:
            gevuld = int(toestand.data["gevuld"])
            if grootte < gevuld:
                print(f"\nsize {grootte:,}: skipped, the kept store holds {gevuld:,} meldingen of the fill already")
                continue
            print(f"\n=== {backend}: {grootte:,} meldingen of the fill ===", flush=True)
            if grootte > gevuld:
                schrijven, vacuum = vul(opslag, model, gevuld, grootte)
                toestand.data["gevuld"] = grootte
                toestand.bewaar()
                extra = f", then VACUUM (ANALYZE) {vacuum:.0f} s" if vacuum else ""
                print(f"filled meldingen {gevuld:,} … {grootte - 1:,} in {schrijven:.0f} s "
                      f"({(grootte - gevuld) / schrijven:,.0f} meldingen/s){extra}")  # fmt: skip
            rijen = opslag.tellingen()
            print("rows: " + ", ".join(f"{t} {n:,}" for t, n in rijen.items()))
            print(f"database size: {opslag.grootte()}; free on its disk: {_vrij(werk)}")
            aantal = args.warmup + args.requests
            keuze = kies(opslag, model, grootte, aantal, args.lijst, nieuw, args.seed, settings.gateway_oin)
            meting = Meting(backend, rijen["melding"])
            doelen = [(werk, url, keuze, meting)]
            if ref is not None:
                ref_keuze = kies(
                    ref.opslag, model, ref.grootte, aantal, 0, nieuw, args.seed + grootte, settings.gateway_oin
                )
                doelen.append((ref.werk, ref.url, ref_keuze, Meting(backend, ref.opslag.tellingen()["melding"], True)))
            toestand.bewaar()
            print(f"dirty pages written before measuring ({'CHECKPOINT, ' if url else ''}sync): {opslag.rust():.0f} s")
            print(f"measuring: {args.warmup} + {args.requests} requests per operation, {args.workers} worker(s)"
                  + (f", alternating with the copy of the store at {ref.grootte:,}" if ref else "")
                  + f"; load average {os.getloadavg()[0]:.2f} ...", flush=True)  # fmt: skip
            with contextlib.ExitStack() as servers:
                gemeten = [(servers.enter_context(gateway_server(w, args.workers, u)), k, mt) for w, u, k, mt in doelen]
                meet(gemeten, args.warmup)
            for _, _, _, mt in doelen:
                metingen.append(mt)
                toon(mt)
            print(f"  load average {meting.load[0]:.2f} before, {meting.load[1]:.2f} after")
            n = vergelijk(opslag, model, keuze)
            print(f"fill checked: {n} rows the gateway wrote for a new youth and for a match on a youth of the fill "
                  "are exactly what the fill writes; every answer named the expected match")  # fmt: skip
            toon_plannen(plannen(settings, keuze), args.plans)
            if ref is None and grootte < args.sizes[-1]:
                ref = kopieer(werk, url, opslag, toestand, opruimen)
                opruimen.callback(ref.opslag.close)
                print(f"copied the store at {ref.grootte:,}: measured again alongside every larger size")
    verslag(metingen, commando)
    print("The message log was not filled: it holds only the measurement's own entries (bench/logproof.py measures "
          "proofs at 10 million entries).")  # fmt: skip
    return 0


def toon_plannen(lijst: list[Plan], alles: bool) -> None:
    """The plans with a full scan of a growing table, and those of the list form's reads of meldingen (every plan
    with ``alles``)."""
    scans = [p for p in lijst if p.scans]
    print(
        f"query plans: {len(lijst)} statements of {', '.join(dict.fromkeys(p.operatie for p in lijst))}; "
        f"full scans of a growing table: {len(scans) or 'none'}"
    )
    for p in lijst:
        if not (alles or p.scans or ("(all" in p.operatie and "FROM melding JOIN" in p.sql)):
            continue
        print(f"  [{p.operatie}] {p.sql}\n    parameters: {p.params!r}")
        for regel in p.plan:
            print(f"    | {regel}")
        if p.scans:
            print(f"    SCAN: {', '.join(p.scans)}")


def _vrij(pad: Path) -> str:
    st = os.statvfs(pad)
    return f"{st.f_bavail * st.f_frsize / 2**30:.0f} GiB"


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if sorted(args.sizes) != args.sizes or min(args.sizes) < 1 or max(args.sizes) > MAX_SIZE:
        p.error(f"--sizes must be ascending, between 1 and {MAX_SIZE:,}")
    if args.requests < 10 or args.warmup < 0 or args.workers < 1 or args.lijst < 0:
        p.error("--requests must be at least 10, --workers at least 1, --warmup and --lijst not negative")
    commando = shlex.join(["python", "bench/schaal.py", *(sys.argv[1:] if argv is None else argv)])
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        print(f"vir-gateway at scale: {commando}")
        print(
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
            f"{'PostgreSQL' if args.database else 'SQLite'}; Python {sys.version.split()[0]}"
        )
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            return run(args, args.keep.resolve(), commando)
        with tempfile.TemporaryDirectory(prefix="vir-schaal-") as tmp:
            return run(args, Path(tmp), commando)
    except (RequestsFailed, NietGetrouw) as exc:
        sys.stdout.flush()
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    except BenchError as exc:
        sys.stdout.flush()
        print(f"\nbenchmark could not run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\ninterrupted; gateway stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
