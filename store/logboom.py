"""The message log's stored tree: the interior nodes, so that a proof reads O(log n) hashes.

A node is the root of a perfect subtree (``gateway/log/merkle.py``): level 1 and up live in
``logknoop``; level 0 are the leaf hashes in ``logregel``. Nodes are written by the same append that
writes the entries they complete, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import BigInteger, Connection, Integer, LargeBinary, insert, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from store.models import Base, LogRegel

Node = tuple[int, int]


class LogKnoop(Base):
    """The hash of a complete perfect subtree of the log: level ≥ 1, position on that level."""

    __tablename__ = "logknoop"

    niveau: Mapped[int] = mapped_column(Integer, primary_key=True)
    positie: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


def schrijf_knopen(conn: Connection, knopen: Sequence[tuple[int, int, bytes]]) -> None:
    if knopen:
        conn.execute(insert(LogKnoop), [{"niveau": n, "positie": p, "hash": h} for n, p, h in knopen])


def lees_knopen(session: Session, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The hashes of the given nodes, in two indexed look-ups (leaves and interior nodes)."""
    wanted = set(nodes)
    leaves = [p for n, p in wanted if n == 0]
    inner = [(n, p) for n, p in wanted if n > 0]
    found: dict[Node, bytes] = {}
    if leaves:
        query = select(LogRegel.volgnummer, LogRegel.leaf).where(LogRegel.volgnummer.in_(leaves))
        for v, leaf in session.execute(query):
            found[(0, v)] = bytes(leaf)
    if inner:
        rows = session.execute(
            select(LogKnoop.niveau, LogKnoop.positie, LogKnoop.hash).where(
                tuple_(LogKnoop.niveau, LogKnoop.positie).in_(inner)
            )
        )
        for n, p, h in rows:
            found[(n, p)] = bytes(h)
    return found
