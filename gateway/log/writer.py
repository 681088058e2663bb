"""Appending to the log inside the caller's transaction.

Every append writes the entries, the interior nodes of the tree they complete (``store/logboom.py``,
for proofs in O(log n)) and the new head. It locks the single ``loghoofd`` row (``SELECT … FOR
UPDATE``; SQLite's writers are serialised anyway), so any number of gateway processes extend one tree
and never fork it. Callers append as the last step before committing, to hold that lock briefly.
Entries, nodes, head and the work they record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.log.merkle import Frontier
from gateway.log.regel import Logregel, leaf_of
from store import logboek as opslag
from store.logboom import schrijf_knopen


@dataclass(frozen=True)
class Ontvangstbewijs:
    """A receipt: where an entry stands in the log, and its leaf hash."""

    volgnummer: int
    leaf: bytes


class Append:
    """An open append: the head is locked; entries get consecutive numbers until ``close``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        head = opslag.hoofd_op_slot(session)
        self.frontier = Frontier.from_bytes(head.grootte, head.frontier)
        self.rows: list[dict[str, object]] = []
        self.knopen: list[tuple[int, int, bytes]] = []

    def add(self, regel: Logregel) -> Ontvangstbewijs:
        volgnummer = self.frontier.size
        leaf = leaf_of(regel, volgnummer)
        self.knopen.extend(self.frontier.append_nodes(leaf))
        self.rows.append(
            {
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
        )
        return Ontvangstbewijs(volgnummer, leaf)

    def close(self) -> None:
        opslag.schrijf_regels(self.session, self.rows)
        schrijf_knopen(self.session.connection(), self.knopen)
        opslag.zet_hoofd(self.session, opslag.Hoofd(self.frontier.size, self.frontier.to_bytes(), self.frontier.root()))


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
