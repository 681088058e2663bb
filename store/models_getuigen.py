"""The witnesses' tables (docs/getuigen.md): checkpoints cosigned across systems. No personal data."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.basis import Base

# --- witnesses (docs/getuigen.md): checkpoints cosigned across systems ---------------------------------


class GetuigdCheckpoint(Base):
    """A peer's checkpoint that this node cosigned, with the cosignature it returned: the witness's memory
    of that log. The newest per peer is where the next consistency proof must start. No personal data."""

    __tablename__ = "getuigd_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer: Mapped[str] = mapped_column(String(20))
    grootte: Mapped[int] = mapped_column(BigInteger)
    wortel: Mapped[bytes] = mapped_column(LargeBinary(32))
    checkpoint: Mapped[bytes] = mapped_column(LargeBinary)  # the peer's signed checkpoint, byte for byte
    cosignatuur: Mapped[bytes] = mapped_column(LargeBinary)  # ours over it, byte for byte
    tijdstip: Mapped[str] = mapped_column(String(32))  # when we cosigned, RFC 3339 UTC

    __table_args__ = (UniqueConstraint("peer", "grootte", name="uq_getuigd_peer_grootte"),)


class Cosignatuur(Base):
    """A peer's cosignature of one of our checkpoints (``checkpoint.grootte``), as it returned it. No
    personal data."""

    __tablename__ = "cosignatuur"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer: Mapped[str] = mapped_column(String(20))
    grootte: Mapped[int] = mapped_column(BigInteger, index=True)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    tijdstip: Mapped[str] = mapped_column(String(32))  # when we received it

    __table_args__ = (UniqueConstraint("peer", "grootte", name="uq_cosignatuur_peer_grootte"),)


class GesplitstZicht(Base):
    """A peer that presented a checkpoint inconsistent with one this node had cosigned (a split view): both
    checkpoints as evidence, and why they cannot both be true. Reported by ``vir-gateway log getuigen``
    until an operator acknowledges it. No personal data."""

    __tablename__ = "gesplitst_zicht"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer: Mapped[str] = mapped_column(String(20), index=True)
    tijdstip: Mapped[str] = mapped_column(String(32))
    reden: Mapped[str] = mapped_column(String(200))
    bekend_grootte: Mapped[int] = mapped_column(BigInteger)
    bekend_checkpoint: Mapped[bytes] = mapped_column(LargeBinary)
    nieuw_grootte: Mapped[int] = mapped_column(BigInteger)
    nieuw_checkpoint: Mapped[bytes] = mapped_column(LargeBinary)
    volgnummer: Mapped[int | None] = mapped_column(BigInteger, default=None)  # its entry in our log
