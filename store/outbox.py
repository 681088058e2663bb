"""The federation outbox: deliveries written in the same transaction as the change they carry, and
claimed by workers afterwards.

Claiming marks rows ``bezig`` with a lease in a short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so concurrent workers never take the same row); delivery happens outside any transaction;
the result is written in another short one. A worker that dies leaves its rows to be claimed again when
the lease runs out. Delivery is at least once; receipt is idempotent on (system, meldingId, version).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.db import Database
from store.models import FederatieAfnemer, FederatieUitgaand, Peer
from store.register import PeerGegevens, lees_actieve_peers

WACHTEND, BEZIG, AFGELEVERD, DOOD = "wachtend", "bezig", "afgeleverd", "dood"


@dataclass(frozen=True)
class Levering:
    id: int
    peer: str
    url: str
    soort: str
    inhoud: dict[str, Any]
    pogingen: int
    peer_oin: str


class Outbox:
    """What one transaction sends to the other systems: rows of ``federatie_uitgaand``, committed with the
    change they carry, and who was sent which melding (``federatie_afnemer``), so that its changes and its
    withdrawal go there and nowhere else. ``pseudoniem`` turns a youth key into the federation pseudonym (the
    caller's: the store knows no keys)."""

    def __init__(
        self,
        session: Session,
        systeem: str,
        hub: bool,
        nu: datetime,
        pseudoniem: Callable[[str], str] | None = None,
        *,
        peers: Callable[[], Sequence[PeerGegevens]] | None = None,
    ) -> None:
        self.session = session
        self.systeem = systeem
        self.hub = hub
        self.nu = nu
        # Where the active peers come from: the register a process keeps (``store/register.py``), or a query.
        self._lees_peers = peers or (lambda: lees_actieve_peers(session.connection()))
        self._peers: Sequence[PeerGegevens] | None = None
        self.pseudoniem = pseudoniem

    def peers(self) -> Sequence[PeerGegevens]:
        if self._peers is None:
            self._peers = self._lees_peers()
        return self._peers

    def afnemers(self, melding_id: str) -> list[str]:
        """The peers that were sent this melding (our row's meldingId) and have not had its withdrawal."""
        return list(
            self.session.scalars(
                select(FederatieAfnemer.peer)
                .where(FederatieAfnemer.melding_id == melding_id)
                .order_by(FederatieAfnemer.peer)
            )
        )

    def vergeet_afnemer(self, peer: str, melding_ids: Sequence[str]) -> None:
        """``peer`` no longer needs these meldingen (it holds no melding on their youth any more)."""
        if melding_ids:
            self.session.execute(
                delete(FederatieAfnemer).where(
                    FederatieAfnemer.peer == peer, FederatieAfnemer.melding_id.in_(melding_ids)
                ),
                execution_options={"synchronize_session": False},
            )

    def _enqueue(self, soort: str, bron: dict[str, Any], inhoud: dict[str, Any], naar: Sequence[str]) -> None:
        actief = {p.systeem for p in self.peers()}
        rows = [
            {
                "peer": p,
                "soort": soort,
                "bron_systeem": bron["systeem"],
                "bron_melding_id": bron["meldingId"],
                "versie": bron["versie"],
                "inhoud": json.dumps(inhoud, separators=(",", ":")),
                "status": WACHTEND,
                "pogingen": 0,
                "volgende_poging": self.nu,
                "laatste_fout": None,
                "aangemaakt": self.nu,
            }
            for p in sorted(set(naar) & actief)
        ]
        if rows:
            self.session.connection().execute(insert(FederatieUitgaand), rows)

    def doorgeven(self, bron: dict[str, Any], inhoud: dict[str, Any], naar: Sequence[str], melding_id: str) -> None:
        """A melding held here (our row ``melding_id``) as it is now, to the peers ``naar``, who are from now on
        among its receivers."""
        naar = sorted({p.systeem for p in self.peers()} & set(naar))
        if not naar:
            return
        self._enqueue("doorgeven", bron, {**inhoud, "bron": bron}, naar)
        stmt = _dialect_insert(self.session, FederatieAfnemer).values(
            [{"melding_id": melding_id, "peer": p} for p in naar]
        )
        self.session.execute(stmt.on_conflict_do_nothing(index_elements=["melding_id", "peer"]))

    def aankondigen(self, bron: dict[str, Any], pseudoniem: str, naar: Sequence[str]) -> None:
        """Ask the peers ``naar`` whether they hold a melding on the youth with this pseudonym (one that does
        sends its own; docs/federation.md). Nothing but the pseudonym."""
        self._enqueue("aankondigen", bron, {"jongere": pseudoniem}, naar)

    def regie(self, match_id: str, inhoud: dict[str, Any], naar: Sequence[str]) -> None:
        """The coordination of our match ``match_id`` (a pseudonym and its state, no names) to the peers ``naar``."""
        self._enqueue("regie", {"systeem": self.systeem, "meldingId": match_id, "versie": 0}, inhoud, naar)

    def gezin(self, bron: dict[str, Any], inhoud: dict[str, Any], naar: Sequence[str]) -> None:
        """(A hub) the family match of another system's melding (``bron``), contact cards only, to that system."""
        self._enqueue("gezin", bron, inhoud, naar)

    def intrekken(self, bron: dict[str, Any], melding_id: str) -> None:
        """Withdraw a melding (our row ``melding_id``) from the peers that were sent it. Its deliveries not yet
        made are superseded (and carry its contact card): they go, so no peer receives it after its withdrawal
        and nothing of it lingers here."""
        self.session.execute(
            delete(FederatieUitgaand).where(
                FederatieUitgaand.bron_systeem == bron["systeem"],
                FederatieUitgaand.bron_melding_id == bron["meldingId"],
                FederatieUitgaand.soort != "intrekken",
                FederatieUitgaand.status != AFGELEVERD,
            ),
            execution_options={"synchronize_session": False},
        )
        self._enqueue("intrekken", bron, {"bron": bron}, self.afnemers(melding_id))
        self.session.execute(
            delete(FederatieAfnemer).where(FederatieAfnemer.melding_id == melding_id),
            execution_options={"synchronize_session": False},
        )


def _dialect_insert(session: Session, table: Any) -> Any:
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)


def claim(db: Database, n: int, lease: timedelta, nu: datetime) -> list[Levering]:
    """Take up to ``n`` due deliveries for this worker."""
    with db.transaction() as s:
        q = (
            select(FederatieUitgaand, Peer.url, Peer.oin)
            .join(Peer, Peer.systeem == FederatieUitgaand.peer)
            .where(
                or_(FederatieUitgaand.status == WACHTEND, FederatieUitgaand.status == BEZIG),
                FederatieUitgaand.volgende_poging <= nu,
            )
            .order_by(FederatieUitgaand.id)
            .limit(n)
        )
        if not db.is_sqlite:
            q = q.with_for_update(skip_locked=True, of=FederatieUitgaand)
        rows = s.execute(q).all()
        for row, _url, _oin in rows:
            row.status = BEZIG
            row.volgende_poging = nu + lease  # the lease: retaken if this worker dies
        return [Levering(r.id, r.peer, url, r.soort, json.loads(r.inhoud), r.pogingen, oin) for r, url, oin in rows]


def afgeleverd(db: Database, levering: Levering, ook: Callable[[Session], object] | None = None) -> None:
    """Mark a delivery done; ``ook`` runs in the same transaction (the log entries of the exchange)."""
    with db.transaction() as s:
        s.execute(
            update(FederatieUitgaand)
            .where(FederatieUitgaand.id == levering.id)
            .values(status=AFGELEVERD, pogingen=levering.pogingen + 1, laatste_fout=None)
        )
        if ook is not None:
            ook(s)


def mislukt(
    db: Database, levering: Levering, fout: str, nu: datetime, *, basis: float, maximum: float, max_pogingen: int
) -> bool:
    """Record a failed attempt with exponential backoff; True when the delivery is now dead."""
    pogingen = levering.pogingen + 1
    dood = pogingen >= max_pogingen
    wacht = min(maximum, basis * (2 ** (pogingen - 1)))
    with db.transaction() as s:
        s.execute(
            update(FederatieUitgaand)
            .where(FederatieUitgaand.id == levering.id)
            .values(
                status=DOOD if dood else WACHTEND,
                pogingen=pogingen,
                laatste_fout=fout[:400],
                volgende_poging=nu + timedelta(seconds=wacht),
            )
        )
    return dood


def stand(db: Database) -> list[tuple[str, str, int]]:
    """Deliveries per peer and state: (peer, state, count)."""
    with db.transaction(write=False) as s:
        return list(
            s.execute(
                select(FederatieUitgaand.peer, FederatieUitgaand.status, func.count())
                .group_by(FederatieUitgaand.peer, FederatieUitgaand.status)
                .order_by(FederatieUitgaand.peer)
            )
        )


def dood(db: Database) -> list[FederatieUitgaand]:
    with db.transaction(write=False) as s:
        return list(
            s.execute(
                select(FederatieUitgaand).where(FederatieUitgaand.status == DOOD).order_by(FederatieUitgaand.id)
            ).scalars()
        )


def opnieuw(s: Session, ids: Sequence[int] | None, nu: datetime) -> int:
    """Put dead deliveries back in the queue (all, or the given ids), in the caller's transaction."""
    q = update(FederatieUitgaand).where(FederatieUitgaand.status == DOOD)
    if ids:
        q = q.where(FederatieUitgaand.id.in_(ids))
    result: Any = s.execute(q.values(status=WACHTEND, pogingen=0, volgende_poging=nu))
    return int(result.rowcount)
