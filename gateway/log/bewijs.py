"""Proofs from the stored log: leaves, inclusion proofs against checkpoints, consistency proofs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.log import merkle
from store.models import Checkpoint, LogRegel


def leaves(session: Session, grootte: int) -> list[bytes]:
    """The leaf hashes of entries 0 … grootte-1, in order."""
    rows = session.execute(
        select(LogRegel.leaf).where(LogRegel.volgnummer < grootte).order_by(LogRegel.volgnummer)
    ).scalars()
    return list(rows)


def checkpoint_voor(session: Session, volgnummer: int) -> Checkpoint | None:
    """The newest checkpoint that covers entry ``volgnummer``."""
    return session.execute(
        select(Checkpoint).where(Checkpoint.grootte > volgnummer).order_by(Checkpoint.grootte.desc()).limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Inclusie:
    volgnummer: int
    leaf: bytes
    grootte: int
    pad: list[bytes]
    checkpoint: Checkpoint


def inclusie(session: Session, volgnummer: int, leaf: bytes) -> Inclusie | None:
    cp = checkpoint_voor(session, volgnummer)
    if cp is None:
        return None
    pad = merkle.inclusion_proof(leaves(session, cp.grootte), volgnummer, cp.grootte)
    return Inclusie(volgnummer, leaf, cp.grootte, pad, cp)
