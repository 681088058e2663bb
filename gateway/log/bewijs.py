"""Proofs from the stored log, reading O(log n) hashes: inclusion proofs against checkpoints and
consistency proofs between tree sizes.

``merkle.inclusion_plan`` / ``consistency_plan`` name the stored nodes a proof needs, one query
fetches them (``store/logboom.py``), ``merkle.rehash`` folds them. Every proof is checked against the
signed root before it is handed out, so stored nodes that were changed make a ``ProofError``, never a
wrong proof.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.errors import ServerError
from gateway.log import merkle
from store import logboek as opslag
from store.logboom import lees_knopen
from store.models import Checkpoint


class ProofError(ServerError):
    """The stored tree cannot give a proof that verifies; ``detail`` says where. A server error: a
    chain partner asking for its receipt's proof gets an internal-error fault, the operator a line."""


def leaves(session: Session, grootte: int) -> list[bytes]:
    """The leaf hashes of entries 0 … grootte-1, in order (for an export, which ships them all)."""
    return opslag.leaves(session, grootte)


def checkpoint_voor(session: Session, volgnummer: int) -> Checkpoint | None:
    """The newest checkpoint that covers entry ``volgnummer``."""
    return opslag.checkpoint_voor(session, volgnummer)


def _proof(session: Session, plan: list[list[merkle.Node]]) -> list[bytes]:
    hashes = lees_knopen(session, (n for nodes in plan for n in nodes))
    missing = [n for nodes in plan for n in nodes if n not in hashes]
    if missing:
        level, pos = missing[0]
        raise ProofError(f"the stored tree lacks node {level}/{pos} ({len(missing)} missing)")
    return merkle.rehash(plan, hashes)


def inclusion_path(session: Session, volgnummer: int, grootte: int) -> list[bytes]:
    """The audit path of entry ``volgnummer`` in the tree of ``grootte`` entries."""
    return _proof(session, merkle.inclusion_plan(volgnummer, grootte))


def consistency(session: Session, oud: int, nieuw: int) -> list[bytes]:
    """The consistency proof between the trees of ``oud`` and ``nieuw`` entries (oud ≤ nieuw)."""
    return _proof(session, merkle.consistency_plan(oud, nieuw))


def root(session: Session, grootte: int) -> bytes:
    """The root of the tree of the first ``grootte`` entries, from its O(log n) perfect subtrees."""
    if grootte == 0:
        return merkle.EMPTY_ROOT
    return _proof(session, [merkle.perfect_nodes(0, grootte)])[0]


@dataclass(frozen=True)
class Inclusie:
    volgnummer: int
    leaf: bytes
    grootte: int
    pad: list[bytes]
    checkpoint: Checkpoint


def inclusie(session: Session, volgnummer: int, leaf: bytes, cp: Checkpoint | None = None) -> Inclusie | None:
    """The inclusion proof of an entry against checkpoint ``cp``, by default the newest covering it (None: no
    checkpoint yet)."""
    cp = cp or checkpoint_voor(session, volgnummer)
    if cp is None:
        return None
    pad = inclusion_path(session, volgnummer, cp.grootte)
    if not merkle.verify_inclusion(leaf, volgnummer, cp.grootte, pad, cp.wortel):
        raise ProofError(f"the stored tree does not prove entry {volgnummer} against checkpoint {cp.grootte}")
    return Inclusie(volgnummer, leaf, cp.grootte, pad, cp)
