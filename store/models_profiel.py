"""Profile content and designated professionals (``gateway/profielen.py``, docs/privacy.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.basis import Base, Tijdstip

# --- profile content and designated professionals (``gateway/profielen.py``) ---------------------------


class Profielinhoud(Base):
    """What an instantie's profile says to its chain partners (agreed with the municipality): the privacy
    protocol in force, target group, signalling criteria, procedures and coordination role; and where it
    stands (municipality, sector) and whether its filers must be designated. No personal data."""

    __tablename__ = "profielinhoud"

    instantie_id: Mapped[int] = mapped_column(ForeignKey("instantie.id"), primary_key=True)
    privacy_titel: Mapped[str | None] = mapped_column(String(200), default=None)
    privacy_versie: Mapped[str | None] = mapped_column(String(40), default=None)
    privacy_link: Mapped[str | None] = mapped_column(String(400), default=None)
    doelgroep: Mapped[str | None] = mapped_column(Text, default=None)
    signaleringscriteria: Mapped[str | None] = mapped_column(Text, default=None)
    procedures: Mapped[str | None] = mapped_column(Text, default=None)
    regierol: Mapped[str | None] = mapped_column(Text, default=None)
    regievoorkeur: Mapped[int | None] = mapped_column(Integer, default=None)  # 1 = the municipality's first
    gemeente: Mapped[str | None] = mapped_column(String(4), default=None)  # CBS municipality code
    sector: Mapped[str | None] = mapped_column(String(40), default=None)
    aanwijzing: Mapped[bool | None] = mapped_column(default=None)  # None: on outside development mode


class MeldingsbevoegdeRij(Base):
    """A professional the instantie designated to file (Jeugdwet art. 7.1.3.1): personal data, see
    docs/privacy.md. A revoked designation keeps its row (log entries and meldingen name the person)."""

    __tablename__ = "meldingsbevoegde"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instantie_id: Mapped[int] = mapped_column(ForeignKey("instantie.id"))
    code: Mapped[str] = mapped_column(String(80))  # the professional's id in the instantie's own system
    naam: Mapped[str] = mapped_column(String(200))
    functie: Mapped[str | None] = mapped_column(String(200), default=None)
    telefoon: Mapped[str | None] = mapped_column(String(40), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    actief: Mapped[bool] = mapped_column(default=True)
    aangewezen: Mapped[datetime] = mapped_column(Tijdstip())
    ingetrokken: Mapped[datetime | None] = mapped_column(Tijdstip(), default=None)

    __table_args__ = (UniqueConstraint("instantie_id", "code", name="uq_meldingsbevoegde_code"),)
