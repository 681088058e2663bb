"""The message log's tables: its entries (``logregel``), its head (``loghoofd``) and its signed checkpoints.

Every statement the log runs is here, by name; ``gateway/log/`` decides what to write and when, and
``store/logboom.py`` keeps the tree's interior nodes. All functions take the caller's session, so entries
commit with the work they record. The statements of an append are built once and go straight to the driver
(``store/rechtstreeks.py``): an append is part of every request.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    bindparam,
    create_engine,
    false,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, aliased

from store import rechtstreeks
from store.models import Checkpoint, LogHoofd, LogregelRij
from store.sporen import bevat

# The redaction entries' operation (``gateway/log/redactie.py``): their payloads are never removed.
REDACTIE = "log redact"
# The entries that carry messages (requests, answers, faults), as opposed to reads and operator actions.
BERICHTEN = ("inkomend", "uitgaand", "fout")


# --- the head and appends ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hoofd:
    """The stored head: tree size, right-edge frontier and root."""

    grootte: int
    frontier: bytes
    wortel: bytes


_HOOFD_OP_SLOT = select(LogHoofd.grootte, LogHoofd.frontier, LogHoofd.wortel).where(LogHoofd.id == 1).with_for_update()
_HOOFD_ZETTEN = (
    update(LogHoofd)
    .where(LogHoofd.id == 1)
    .values(grootte=bindparam("b_grootte"), frontier=bindparam("b_frontier"), wortel=bindparam("b_wortel"))
)
_REGELS_INVOEGEN = insert(LogregelRij)


GENOMEN = "logregel_volgnummers"
"""``session.info`` key: the entry numbers this transaction took from the sequence (gaps if it does not commit)."""

OP_SLOT = "loghoofd_op_slot"
"""``session.info`` key: when this transaction got the head (``time.perf_counter()``), and how long it waited."""


_HOOFD_ZONDER_WACHTEN = _HOOFD_OP_SLOT.with_for_update(skip_locked=True)


def hoofd_op_slot(s: Session) -> Hoofd:
    """The head, locked until the transaction ends (``SELECT … FOR UPDATE``; SQLite's writers are serialised
    anyway): whoever holds it is the only one extending the tree. The transaction notes when it got it, and how
    long it waited for it (``store/db.py`` reports both when the transaction ends)."""
    hoofd = _op_slot(s, _HOOFD_OP_SLOT)
    assert hoofd is not None
    return hoofd


def hoofd_als_vrij(s: Session) -> Hoofd | None:
    """The head, locked until the transaction ends, if no other transaction holds it; None at once if one
    does (``FOR UPDATE SKIP LOCKED``): a sequencer that finds another at work leaves the batch to it."""
    return _op_slot(s, _HOOFD_ZONDER_WACHTEN)


def _op_slot(s: Session, vraag: Any) -> Hoofd | None:
    begin = time.perf_counter()
    rij = rechtstreeks.eerste(s.connection(), vraag)
    if rij is None:
        return None
    grootte, frontier, wortel = rij
    if OP_SLOT not in s.info:
        nu = time.perf_counter()
        s.info[OP_SLOT] = (nu, nu - begin)
    return Hoofd(int(grootte), bytes(frontier), bytes(wortel))


def schrijf_regels(s: Session, regels: Sequence[dict[str, Any]]) -> None:
    """New entries (column values, ``volgnummer`` and ``leaf`` included), in one executemany."""
    if regels:
        rechtstreeks.veel(s.connection(), _REGELS_INVOEGEN, regels)


_VOLGNUMMER = text("SELECT nextval('logregel_volgnummer')")


def volgnummer(s: Session) -> int:
    """The next entry number from the sequence (PostgreSQL): taken at once and never given twice, whether
    or not the transaction commits (a number whose transaction rolled back is a gap the sequencer fills)."""
    rij = rechtstreeks.eerste(s.connection(), _VOLGNUMMER)
    assert rij is not None
    n = int(rij[0])
    s.info.setdefault(GENOMEN, []).append(n)
    return n


_WACHTEND = (
    select(LogregelRij.volgnummer, LogregelRij.leaf)
    .where(LogregelRij.volgnummer >= bindparam("vanaf"))
    .order_by(LogregelRij.volgnummer)
    .limit(bindparam("aantal"))
)


_IETS_WACHTEND = select(
    select(LogregelRij.volgnummer)
    .where(LogregelRij.volgnummer >= select(LogHoofd.grootte).where(LogHoofd.id == 1).scalar_subquery())
    .exists()
)


def iets_wachtend(s: Session) -> bool:
    """Whether any committed entry waits after the tree's end (without locking anything: a transaction that
    only reads commits without a write to the WAL)."""
    return bool(s.connection().execute(_IETS_WACHTEND).scalar())


def wachtend(s: Session, vanaf: int, aantal: int) -> list[tuple[int, bytes]]:
    """(number, leaf hash) of the committed entries from ``vanaf`` on, in order, at most ``aantal``: those
    the sequencer has not yet taken into the tree (there may be gaps between them)."""
    return [(int(v), bytes(leaf)) for v, leaf in s.connection().execute(_WACHTEND, {"vanaf": vanaf, "aantal": aantal})]


_WACHT_KORT = text("SET LOCAL lock_timeout = '200ms'")
_WACHT_NORMAAL = text("SET LOCAL lock_timeout = 0")


def vul_gat_kort(s: Session, rij: dict[str, Any]) -> bytes | None:
    """``vul_gat``, waiting at most a moment for a transaction that holds the number (in a savepoint):
    None when it does not end within that moment."""
    try:
        with s.begin_nested():
            s.connection().execute(_WACHT_KORT)
            leaf = vul_gat(s, rij)
            s.connection().execute(_WACHT_NORMAAL)
            return leaf
    except OperationalError:
        return None


def vul_gat(s: Session, rij: dict[str, Any]) -> bytes:
    """Write the gap entry ``rij`` at its number unless an entry holds that number; the leaf hash of the entry
    that holds it afterwards. An uncommitted entry at that number makes this wait for its transaction: if that
    commits, its entry stays and the gap entry is not written; if it rolled back, the gap entry is."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    geschreven = (
        s.connection()
        .execute(
            pg_insert(LogregelRij)
            .values(**rij)
            .on_conflict_do_nothing(index_elements=["volgnummer"])
            .returning(LogregelRij.leaf)
        )
        .scalar_one_or_none()
    )
    if geschreven is not None:
        return bytes(geschreven)
    return bytes(
        s.connection().execute(select(LogregelRij.leaf).where(LogregelRij.volgnummer == rij["volgnummer"])).scalar_one()
    )


def zet_hoofd(s: Session, hoofd: Hoofd) -> None:
    rechtstreeks.uitvoeren(
        s.connection(),
        _HOOFD_ZETTEN,
        {"b_grootte": hoofd.grootte, "b_frontier": hoofd.frontier, "b_wortel": hoofd.wortel},
    )


_HOOFD_EN_HOOGSTE = select(
    LogHoofd.grootte, LogHoofd.wortel, LogHoofd.frontier, select(func.max(LogregelRij.volgnummer)).scalar_subquery()
).where(LogHoofd.id == 1)


def hoofd_en_hoogste(s: Session) -> tuple[Hoofd, int | None]:
    """The head as stored, and the highest entry number stored (they differ only in a damaged log)."""
    grootte, wortel, frontier, hoogste = s.execute(_HOOFD_EN_HOOGSTE).one()
    return Hoofd(int(grootte), bytes(frontier), bytes(wortel)), hoogste


# --- entries -------------------------------------------------------------------------------------


def regel(s: Session, volgnummer: int) -> LogregelRij | None:
    return s.get(LogregelRij, volgnummer)


def regels_tussen(s: Session, van: int, tot: int) -> list[LogregelRij]:
    """Entries ``van`` … ``tot`` (inclusive), in order."""
    q = select(LogregelRij).where(LogregelRij.volgnummer.between(van, tot)).order_by(LogregelRij.volgnummer)
    return list(s.execute(q).scalars())


def leaves(s: Session, grootte: int) -> list[bytes]:
    """The leaf hashes of entries 0 … grootte-1, in order."""
    rows = s.execute(
        select(LogregelRij.leaf).where(LogregelRij.volgnummer < grootte).order_by(LogregelRij.volgnummer)
    ).scalars()
    return [bytes(r) for r in rows]


@dataclass(frozen=True)
class Zoekvraag:
    """Filters of an operator's search (``vir-gateway log search``); None means "any"."""

    van: str | None = None
    tot: str | None = None
    operatie: str | None = None
    actor: str | None = None
    foutcode: str | None = None
    soort: str | None = None
    bericht_id: str | None = None  # as berichtId or as kruisverwijzing
    bsn: str | None = None  # a payload holding it as an element's whole text


def met_filter(
    q: Any,
    van: str | None,
    tot: str | None,
    operatie: str | None,
    actor: str | None,
    foutcode: str | None,
    soort: str | None,
    bericht_id: str | None,
) -> Any:
    """``q`` narrowed to the entries in [van, tot) with these values (empty: any); a berichtId also finds the
    answer or fault that names it as kruisverwijzing. Shared by ``log search`` and the console.

    Only ``bericht_id`` is indexed, not ``kruisverwijzing`` (an index more for every filing to write), so the
    answer is found through its request: the log writes an entry naming a berichtId as kruisverwijzing only
    together with the request's entry carrying it, at the same ``tijdstip`` (``gateway/pipeline.py``,
    ``Logboek.afwijzing``). Both halves then use an index (as a union: an ``OR`` of them is a filter on every
    entry to PostgreSQL); ``kruisverwijzing`` alone would read the whole log."""
    if van:
        q = q.where(LogregelRij.tijdstip >= van)
    if tot:
        q = q.where(LogregelRij.tijdstip < tot)
    for waarde, kolom in (
        (operatie, LogregelRij.operatie),
        (actor, LogregelRij.actor),
        (foutcode, LogregelRij.foutcode),
        (soort, LogregelRij.soort),
    ):
        if waarde:
            q = q.where(kolom == waarde)
    if bericht_id:
        verzoek, antwoord = aliased(LogregelRij), aliased(LogregelRij)
        genoemd = union_all(
            select(verzoek.volgnummer).where(verzoek.bericht_id == bericht_id),
            select(antwoord.volgnummer)
            .join(verzoek, antwoord.tijdstip == verzoek.tijdstip)
            .where(verzoek.bericht_id == bericht_id, antwoord.kruisverwijzing == bericht_id),
        )
        q = q.where(LogregelRij.volgnummer.in_(genoemd))
    return q


def zoek(s: Session, vraag: Zoekvraag, *, limit: int) -> list[LogregelRij]:
    """The newest ``limit`` entries matching ``vraag``, in log order."""
    q = select(LogregelRij).order_by(LogregelRij.volgnummer.desc()).limit(limit)
    q = met_filter(q, vraag.van, vraag.tot, vraag.operatie, vraag.actor, vraag.foutcode, vraag.soort, vraag.bericht_id)
    if vraag.bsn:
        q = q.where(bevat(s, LogregelRij.payload, f">{vraag.bsn}<".encode()))
    return list(reversed(s.execute(q).scalars().all()))


# --- redactions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selectie:
    """Which entries a redaction is about; the conditions given all hold (none given: no entry)."""

    voor: str | None = None  # logged before this time (RFC 3339, as stored)
    bsn: str | None = None  # the payload holds this BSN as an element's whole text
    bereiken: Sequence[tuple[int, int]] = field(default=())  # entry numbers, inclusive ranges

    def waar(self, s: Session) -> ColumnElement[bool]:
        delen: list[ColumnElement[bool]] = []
        if self.voor is not None:
            delen.append(LogregelRij.tijdstip < self.voor)
        if self.bsn is not None:
            delen.append(bevat(s, LogregelRij.payload, f">{self.bsn}<".encode()))
        if self.bereiken:
            delen.append(or_(*(LogregelRij.volgnummer.between(a, b) for a, b in self.bereiken)))
        return and_(*delen) if delen else false()


def _met_payload() -> list[ColumnElement[bool]]:
    return [LogregelRij.payload.is_not(None), LogregelRij.operatie != REDACTIE]


def iets_te_redigeren(s: Session, selectie: Selectie) -> int | None:
    """An entry of ``selectie`` that still has a payload, if any (a cheap look before locking the head)."""
    # No ORDER BY: the database may then answer from an index on the selection (the time) instead of
    # walking the whole log in entry order when nothing is due.
    return s.execute(
        select(LogregelRij.volgnummer).where(selectie.waar(s), *_met_payload()).limit(1)
    ).scalar_one_or_none()


def te_redigeren(s: Session, selectie: Selectie, *, onder: int) -> list[int]:
    """The numbers of the entries of ``selectie`` below ``onder`` that still have a payload, in order
    (redaction entries never count)."""
    q = (
        select(LogregelRij.volgnummer)
        .where(selectie.waar(s), *_met_payload(), LogregelRij.volgnummer < onder)
        .order_by(LogregelRij.volgnummer)
    )
    return list(s.execute(q).scalars())


def verwijder_payloads(s: Session, bereiken: Iterable[tuple[int, int]], *, door: int) -> None:
    """Remove the payloads of the entries in ``bereiken`` (inclusive ranges), marking each with the number of
    the redaction entry ``door`` that records it."""
    for a, b in bereiken:
        s.execute(
            update(LogregelRij)
            .where(LogregelRij.volgnummer.between(a, b), *_met_payload())
            .values(payload=None, payload_verwijderd=str(door))
        )


def redacties_tot(s: Session, grootte: int) -> Iterator[LogregelRij]:
    """The redaction entries of the tree of ``grootte`` entries, in log order."""
    return iter(
        s.execute(
            select(LogregelRij)
            .where(LogregelRij.operatie == REDACTIE, LogregelRij.soort == "beheer", LogregelRij.volgnummer < grootte)
            .order_by(LogregelRij.volgnummer)
        ).scalars()
    )


def regels_van_meldingen(s: Session, melding_ids: Iterable[str], teksten: Iterable[bytes] = ()) -> list[int]:
    """The numbers of the message entries (requests, answers, faults) whose payload holds one of the meldingIds,
    of any entry whose payload holds one of ``teksten``, and of the message entries that share a berichtId with
    those (same actor): the request an answer answered. Only entries still holding a payload."""
    ids = [i.encode() for i in sorted(set(melding_ids))]
    woorden = sorted(set(teksten))
    if not ids and not woorden:
        return []
    r = LogregelRij
    waar: list[ColumnElement[bool]] = []
    if ids:
        waar.append(r.soort.in_(BERICHTEN) & or_(*(bevat(s, r.payload, n) for n in ids)))
    if woorden:
        waar.append(or_(*(bevat(s, r.payload, n) for n in woorden)))
    nummers: set[int] = set()
    paren: set[tuple[str, str]] = set()
    for volgnummer, actor, bericht_id, kruisverwijzing in s.execute(
        select(r.volgnummer, r.actor, r.bericht_id, r.kruisverwijzing).where(r.payload.is_not(None), or_(*waar))
    ):
        nummers.add(volgnummer)
        for b in (bericht_id, kruisverwijzing):
            if b:
                paren.add((actor, b))
    lijst = sorted(paren)
    for i in range(0, len(lijst), 200):
        deel = lijst[i : i + 200]
        nummers.update(
            s.scalars(
                select(r.volgnummer).where(
                    r.soort.in_(BERICHTEN),
                    r.payload.is_not(None),
                    or_(*(and_(r.actor == a, or_(r.bericht_id == b, r.kruisverwijzing == b)) for a, b in deel)),
                )
            )
        )
    return sorted(nummers)


# --- checkpoints ---------------------------------------------------------------------------------

_LAATSTE_CHECKPOINT = select(Checkpoint).order_by(Checkpoint.grootte.desc()).limit(1)


def laatste_checkpoint(s: Session) -> Checkpoint | None:
    return s.execute(_LAATSTE_CHECKPOINT).scalar_one_or_none()


def checkpoint(s: Session, grootte: int) -> Checkpoint | None:
    """The checkpoint of the tree of ``grootte`` entries, if one was signed."""
    return s.execute(select(Checkpoint).where(Checkpoint.grootte == grootte)).scalar_one_or_none()


def checkpoint_voor(s: Session, volgnummer: int) -> Checkpoint | None:
    """The newest checkpoint that covers entry ``volgnummer``."""
    return s.execute(
        select(Checkpoint).where(Checkpoint.grootte > volgnummer).order_by(Checkpoint.grootte.desc()).limit(1)
    ).scalar_one_or_none()


def checkpoints(s: Session) -> Sequence[Checkpoint]:
    """Every checkpoint, oldest first."""
    return s.execute(select(Checkpoint).order_by(Checkpoint.grootte)).scalars().all()


def checkpoints_tot(s: Session, grootte: int | None = None) -> list[tuple[int, bytes]]:
    """(size, signed XML) of the checkpoints up to ``grootte`` entries (all: None), oldest first."""
    q = select(Checkpoint.grootte, Checkpoint.xml).order_by(Checkpoint.grootte)
    if grootte is not None:
        q = q.where(Checkpoint.grootte <= grootte)
    return [(int(n), bytes(x)) for n, x in s.execute(q)]


def checkpoint_wortels(s: Session) -> list[tuple[int, bytes]]:
    """(size, root) of every checkpoint as stored beside its signed XML."""
    return [(int(n), bytes(w)) for n, w in s.execute(select(Checkpoint.grootte, Checkpoint.wortel))]


def bewaar_checkpoint(s: Session, grootte: int, wortel: bytes, tijdstip: str, xml: bytes) -> Checkpoint:
    cp = Checkpoint(grootte=grootte, wortel=wortel, tijdstip=tijdstip, xml=xml)
    s.add(cp)
    return cp


# --- the whole log, straight from the driver (verification) --------------------------------------

_KOLOMMEN = frozenset(c.key for c in LogregelRij.__table__.columns)
_engines: dict[str, Engine] = {}


@contextmanager
def ruwe_regels(url: str, lo: int, hi: int, kolommen: Sequence[str]) -> Iterator[Iterable[tuple[Any, ...]]]:
    """Entries ``lo`` … ``hi``-1 in order as the driver's plain tuples of ``kolommen``, for a process that checks
    millions of them (``log verify``'s workers): no ORM, no result processing. One engine per process and URL."""
    onbekend = set(kolommen) - _KOLOMMEN
    if onbekend:
        raise ValueError(f"not a column of logregel: {sorted(onbekend)}")
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = create_engine(url)
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"SELECT {', '.join(kolommen)} FROM logregel "  # noqa: S608 (column names checked above)
        f"WHERE volgnummer >= {mark} AND volgnummer < {mark} ORDER BY volgnummer"
    )
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        cur.execute(sql, (lo, hi))
        yield cur
    finally:
        raw.close()
