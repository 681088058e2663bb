"""The message log's stored tree: the interior nodes, so that a proof reads O(log n) hashes.

A node is the root of a perfect subtree (``gateway/log/merkle.py``), named by its level and its
position on that level. Level 1 and up live in ``logknoop`` under one integer key,
``sleutel = positie · 64 + niveau`` (a level is below 64), so that a proof's nodes are one ``IN``
look-up on the primary key; level 0 are the leaf hashes in ``logregel``. Nodes are written by the
same append that writes the entries they complete, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.orm import Session

from store import rechtstreeks
from store.models import LogKnoop, LogregelRij

Node = tuple[int, int]


def sleutel(niveau: int, positie: int) -> int:
    return (positie << 6) | niveau


_KNOPEN = select(LogKnoop.sleutel, LogKnoop.hash).where(LogKnoop.sleutel.in_(bindparam("s", expanding=True)))
_LEAVES = select(LogregelRij.volgnummer, LogregelRij.leaf).where(
    LogregelRij.volgnummer.in_(bindparam("v", expanding=True))
)


_KNOPEN_INVOEGEN = insert(LogKnoop)


def schrijf_knopen(conn: Connection, knopen: Sequence[tuple[int, int, bytes]]) -> None:
    if knopen:
        rechtstreeks.veel(conn, _KNOPEN_INVOEGEN, [{"sleutel": sleutel(n, p), "hash": h} for n, p, h in knopen])


def lees_knopen(session: Session, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The hashes of the given nodes, in two primary-key look-ups (leaves and interior nodes)."""
    wanted = set(nodes)
    leaves = [p for n, p in wanted if n == 0]
    inner = [sleutel(n, p) for n, p in wanted if n > 0]
    found: dict[Node, bytes] = {}
    if leaves:
        for v, leaf in session.execute(_LEAVES, {"v": leaves}):
            found[(0, v)] = bytes(leaf)
    if inner:
        for k, h in session.execute(_KNOPEN, {"s": inner}):
            found[(k & 63, k >> 6)] = bytes(h)
    return found
