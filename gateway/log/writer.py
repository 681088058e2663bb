"""Appending to the log inside the caller's transaction, and the sequencer that extends the tree.

An entry's leaf hash commits to its number (``gateway/log/regel.py``), so an entry gets its number when it
is added, and its receipt (number and leaf hash) at once. Two ways to number, by backend:

- **Under the head** (SQLite, whose writers are serialised anyway): the append locks the single ``loghoofd``
  row, numbers its entries from the tree's size and writes entries, interior nodes (``store/logboom.py``) and
  the new head with the work. Callers append as the last step before committing.
- **From a sequence** (PostgreSQL): the append takes each entry's number from ``logregel_volgnummer`` and
  writes the entries with the work, without touching the head, so filings in any number of processes do not
  wait for each other. The tree (nodes and head) is extended afterwards by the **sequencer** (``integreer``),
  which takes the head once for a whole batch of committed entries, in number order. A number whose
  transaction rolled back (or whose process was killed) leaves a gap; once it has been a gap for
  ``GAT_WACHTTIJD`` seconds the sequencer writes a gap entry there (``log gat``), so the tree stays dense and
  every number is accounted for. An entry that still arrives for that number fails its transaction, so it is
  never acknowledged. Entries not yet in the tree are as durable as the work they record; they are covered by
  the first checkpoint after their integration (checkpoints integrate first).

Either way entries and the work they record commit together or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from gateway.log.merkle import Frontier
from gateway.log.regel import Logregel, leaf_of, tijdstempel
from store import logboek as opslag
from store.logboom import schrijf_knopen

GAT = "log gat"
"""The operation of a gap entry: a number taken by a transaction that did not commit."""
GAT_WACHTTIJD = 5.0
"""Seconds a number must have been a gap before the sequencer fills it (a filing takes its numbers well
under a second before it writes them)."""
PARTIJ = 5000
"""Entries the sequencer reads at a time."""


@dataclass(frozen=True)
class Ontvangstbewijs:
    """A receipt: where an entry stands in the log, and its leaf hash."""

    volgnummer: int
    leaf: bytes


def volgnummers_uit_reeks(session: Session) -> bool:
    """Whether this store numbers entries from a sequence (PostgreSQL) rather than under the head."""
    return session.get_bind().dialect.name == "postgresql"


def _rij(regel: Logregel, volgnummer: int, leaf: bytes) -> dict[str, object]:
    return {
        "volgnummer": volgnummer,
        "tijdstip": regel.tijdstip,
        "soort": regel.soort,
        "operatie": regel.operatie,
        "actor": regel.actor,
        "bericht_id": regel.bericht_id,
        "kruisverwijzing": regel.kruisverwijzing,
        "foutcode": regel.foutcode,
        "correlatie_id": regel.correlatie_id,
        "payload_digest": regel.digest,
        "payload_lengte": len(regel.payload),
        "payload": regel.payload,
        "payload_verwijderd": None,
        "leaf": leaf,
    }


class Append:
    """An open append: entries get their numbers as they are added, and are written on ``close``."""

    def __init__(self, session: Session, *, hoofd: bool = False) -> None:
        """``hoofd``: also hold the head (and, on a sequence, integrate what is committed first): nothing is
        taken into the tree while this transaction runs (a redaction choosing its entries)."""
        self.session = session
        self.reeks = volgnummers_uit_reeks(session)
        self.rows: list[dict[str, object]] = []
        self.knopen: list[tuple[int, int, bytes]] = []
        self.frontier: Frontier | None = None
        self._gereserveerd: int | None = None
        if not self.reeks:
            head = opslag.hoofd_op_slot(session)
            self.frontier = Frontier.from_bytes(head.grootte, head.frontier)
        elif hoofd:
            integreer(session, wachten=True)

    def volgende(self) -> int:
        """The number the next ``add`` gives its entry."""
        if self.frontier is not None:
            return self.frontier.size
        if self._gereserveerd is None:
            self._gereserveerd = opslag.volgnummer(self.session)
        return self._gereserveerd

    def add(self, regel: Logregel) -> Ontvangstbewijs:
        volgnummer = self.volgende()
        self._gereserveerd = None
        leaf = leaf_of(regel, volgnummer)
        if self.frontier is not None:
            self.knopen.extend(self.frontier.append_nodes(leaf))
        self.rows.append(_rij(regel, volgnummer, leaf))
        return Ontvangstbewijs(volgnummer, leaf)

    def close(self) -> None:
        opslag.schrijf_regels(self.session, self.rows)
        if self.frontier is not None:
            schrijf_knopen(self.session.connection(), self.knopen)
            f = self.frontier
            opslag.zet_hoofd(self.session, opslag.Hoofd(f.size, f.to_bytes(), f.root()))


class GeenAppend:
    """The append of a gateway whose log is switched off (benchmarks only): receipts without a place."""

    def add(self, regel: Logregel) -> Ontvangstbewijs:
        return Ontvangstbewijs(-1, b"\0" * 32)

    def close(self) -> None:
        pass


def append(
    session: Session, regels: Sequence[Logregel | Callable[[list[Ontvangstbewijs]], Logregel]]
) -> list[Ontvangstbewijs]:
    """Append entries in order. An entry may be a function of the receipts before it (an answer
    that carries the receipt of its request)."""
    a = Append(session)
    bewijzen: list[Ontvangstbewijs] = []
    for r in regels:
        bewijzen.append(a.add(r if isinstance(r, Logregel) else r(bewijzen)))
    a.close()
    return bewijzen


# --- the sequencer --------------------------------------------------------------------------------


@dataclass
class Gaten:
    """When this process first saw each gap (``time.monotonic()``), so a gap is filled only once it is old."""

    gezien: dict[int, float] = field(default_factory=dict)
    wachttijd: float = GAT_WACHTTIJD

    def oud_genoeg(self, volgnummer: int) -> bool:
        nu = time.monotonic()
        eerst = self.gezien.setdefault(volgnummer, nu)
        return nu - eerst >= self.wachttijd

    def vergeet_tot(self, grootte: int) -> None:
        """The gaps before ``grootte`` are closed (the tree has grown past them)."""
        if self.gezien:
            self.gezien = {v: t for v, t in self.gezien.items() if v >= grootte}


def _gat(volgnummer: int, reden: str = "geen regel vastgelegd") -> dict[str, object]:
    from datetime import UTC, datetime

    payload = json.dumps({"reden": reden}, separators=(",", ":"), ensure_ascii=False).encode()
    regel = Logregel(tijdstempel(datetime.now(UTC)), "beheer", GAT, "logboek", payload)
    return _rij(regel, volgnummer, leaf_of(regel, volgnummer))


@dataclass(frozen=True)
class Integratie:
    """What one sequencer run did: the head after it, and how many entries it took in (gap entries too)."""

    hoofd: opslag.Hoofd
    opgenomen: int
    gaten: int = 0


def integreer(session: Session, *, wachten: bool, gaten: Gaten | None = None) -> Integratie | None:
    """Take the committed entries after the tree's end into the tree, in number order, in the caller's
    transaction (which then holds the head until it ends). ``wachten``: wait for the head; otherwise return
    None at once when another transaction holds it. Stops before a gap that is not yet ``gaten``-old (without
    ``gaten``: before any gap). Under the head on SQLite every entry is in the tree already."""
    head = opslag.hoofd_op_slot(session) if wachten else opslag.hoofd_als_vrij(session)
    if head is None:
        return None
    if not volgnummers_uit_reeks(session):
        return Integratie(head, 0)
    f = Frontier.from_bytes(head.grootte, head.frontier)
    knopen: list[tuple[int, int, bytes]] = []
    opgenomen = gevuld = 0
    klaar = False
    while not klaar:
        rijen = opslag.wachtend(session, f.size, PARTIJ)
        if not rijen:
            break
        for volgnummer, leaf in rijen:
            while f.size < volgnummer:
                gat = _vul(session, f.size, gaten)
                if gat is None:
                    klaar = True
                    break
                knopen.extend(f.append_nodes(gat))
                opgenomen += 1
                gevuld += 1
            if klaar:
                break
            knopen.extend(f.append_nodes(leaf))
            opgenomen += 1
        if len(rijen) < PARTIJ:
            break
    if gaten is not None:
        gaten.vergeet_tot(f.size)
    if not opgenomen:
        return Integratie(head, 0)
    schrijf_knopen(session.connection(), knopen)
    nieuw = opslag.Hoofd(f.size, f.to_bytes(), f.root())
    opslag.zet_hoofd(session, nieuw)
    return Integratie(nieuw, opgenomen, gevuld)


def _vul(session: Session, volgnummer: int, gaten: Gaten | None) -> bytes | None:
    """The leaf at ``volgnummer``: a gap entry written there, or the entry that committed there meanwhile;
    None when the gap is too young, or a transaction holding that number does not end within a moment."""
    if gaten is None or not gaten.oud_genoeg(volgnummer):
        return None
    return opslag.vul_gat_kort(session, _gat(volgnummer))


def vul_gaten(session: Session, volgnummers: Sequence[int]) -> None:
    """Gap entries at the numbers a transaction of this process took and did not commit (an entry that did
    commit at such a number stays), so the sequencer need not wait for them."""
    for v in volgnummers:
        opslag.vul_gat(session, _gat(v, "transactie teruggedraaid"))
