"""The operator console's queries (``gateway/console/``): every read and change it makes, by name.

All functions take the caller's session, so a change and its log entry share one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, func, literal, select, update
from sqlalchemy.orm import Session

from store.getuigen import Getuigen, Stand

# The log's own reads, shared with ``vir-gateway log``.
from store.logboek import checkpoint as checkpoint
from store.logboek import checkpoints_tot as checkpoints_tot
from store.logboek import laatste_checkpoint as laatste_checkpoint
from store.logboek import met_filter
from store.logboek import regel as regel
from store.logboek import regels_tussen as regels_tussen
from store.models import Beheerder, Checkpoint, FederatieUitgaand, Instantie, LogregelRij, Peer

STATUSSEN = ("wachtend", "bezig", "afgeleverd", "dood")
"""The states of a federation delivery (``federatie_uitgaand.status``), in the order of their life."""

PROFIELWIJZIGINGEN = ("instantie-profiel", "beheer instantie-profiel")
"""Operations of the log entries that change a profile: from the CLI and from the console."""


# --- the overview ------------------------------------------------------------------------------


def per_uur(s: Session, sinds: str) -> dict[str, dict[str, int]]:
    """Incoming requests and faults per hour (``YYYY-MM-DDTHH``) from ``sinds`` on (an RFC 3339 time)."""
    uur = func.substr(LogregelRij.tijdstip, 1, 13)
    q = (
        select(uur, LogregelRij.soort, func.count())
        .where(LogregelRij.tijdstip >= sinds, LogregelRij.soort.in_(("inkomend", "fout")))
        .group_by(uur, LogregelRij.soort)
    )
    uit: dict[str, dict[str, int]] = {}
    for label, soort, n in s.execute(q).tuples():
        uit.setdefault(label, {"inkomend": 0, "fout": 0})[soort] = int(n)
    return uit


def leveringen_per_peer(s: Session) -> dict[str, dict[str, int]]:
    """Federation deliveries per peer and state (every registered peer, also with none)."""
    uit: dict[str, dict[str, int]] = {p: dict.fromkeys(STATUSSEN, 0) for p in s.scalars(select(Peer.systeem))}
    q = select(FederatieUitgaand.peer, FederatieUitgaand.status, func.count()).group_by(
        FederatieUitgaand.peer, FederatieUitgaand.status
    )
    for peer, status, n in s.execute(q).tuples():
        uit.setdefault(peer, dict.fromkeys(STATUSSEN, 0))[status] = int(n)
    return dict(sorted(uit.items()))


def laatste_onderhoud(s: Session) -> LogregelRij | None:
    """The log entry of the newest retention run (``vir-gateway onderhoud`` or the worker's)."""
    return s.execute(
        select(LogregelRij)
        .where(LogregelRij.soort == "beheer", LogregelRij.operatie == "onderhoud")
        .order_by(LogregelRij.volgnummer.desc())
        .limit(1)
    ).scalar_one_or_none()


def loggrootte(s: Session) -> int:
    return int(s.scalar(select(func.coalesce(func.max(LogregelRij.volgnummer) + 1, 0))) or 0)


# --- the log -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zoekvraag:
    """The filters of the log search; empty strings mean "any"."""

    van: str = ""
    tot: str = ""
    operatie: str = ""
    instantie: str = ""
    bericht_id: str = ""
    foutcode: str = ""
    soort: str = ""

    def gebruikt(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def zoek(s: Session, vraag: Zoekvraag, *, voor: int | None, limit: int) -> list[LogregelRij]:
    """Entries matching ``vraag``, newest first, below volgnummer ``voor`` (paging backwards)."""
    q = select(LogregelRij).order_by(LogregelRij.volgnummer.desc()).limit(limit)
    if voor is not None:
        q = q.where(LogregelRij.volgnummer < voor)
    q = met_filter(
        q, vraag.van, vraag.tot, vraag.operatie, vraag.instantie, vraag.foutcode, vraag.soort, vraag.bericht_id
    )
    return list(s.execute(q).scalars())


def _bevat(s: Session, naald: bytes) -> Any:
    if s.get_bind().dialect.name == "sqlite":
        return func.instr(LogregelRij.payload, naald) > 0
    return func.position(literal(naald, LargeBinary).op("IN")(LogregelRij.payload)) > 0


def zoek_bsn(s: Session, bsn: str, *, limit: int) -> list[LogregelRij]:
    """Entries whose payload holds the BSN as an element's whole text, newest first."""
    q = select(LogregelRij).where(_bevat(s, f">{bsn}<".encode())).order_by(LogregelRij.volgnummer.desc()).limit(limit)
    return list(s.execute(q).scalars())


# --- checkpoints -------------------------------------------------------------------------------


def checkpoints(s: Session, limit: int) -> Sequence[Checkpoint]:
    return s.execute(select(Checkpoint).order_by(Checkpoint.grootte.desc()).limit(limit)).scalars().all()


# --- federation --------------------------------------------------------------------------------


def peers(s: Session) -> Sequence[Peer]:
    return s.execute(select(Peer).order_by(Peer.systeem)).scalars().all()


def dode_leveringen(s: Session, limit: int = 200) -> Sequence[FederatieUitgaand]:
    q = select(FederatieUitgaand).where(FederatieUitgaand.status == "dood").order_by(FederatieUitgaand.id).limit(limit)
    return s.execute(q).scalars().all()


def opnieuw_aanbieden(s: Session, ids: Sequence[int], nu: datetime) -> list[int]:
    """Put the given dead deliveries back in the queue, due now; returns the ids that were dead."""
    dood = list(
        s.scalars(
            select(FederatieUitgaand.id)
            .where(FederatieUitgaand.status == "dood", FederatieUitgaand.id.in_(ids))
            .order_by(FederatieUitgaand.id)
        )
    )
    if dood:
        s.execute(
            update(FederatieUitgaand)
            .where(FederatieUitgaand.id.in_(dood))
            .values(status="wachtend", pogingen=0, volgende_poging=nu)
        )
    return dood


# --- instanties ----------------------------------------------------------------------------------


def instanties(s: Session) -> Sequence[Instantie]:
    return s.execute(select(Instantie).where(Instantie.systeem.is_(None)).order_by(Instantie.naam)).scalars().all()


def instantie(s: Session, oin: str) -> Instantie | None:
    return s.execute(select(Instantie).where(Instantie.oin == oin, Instantie.systeem.is_(None))).scalar_one_or_none()


def profielwijzigingen(s: Session, oin: str, limit: int = 50) -> list[tuple[LogregelRij, dict[str, Any]]]:
    """The log entries that changed the profile of ``oin``, newest first, with their recorded profile."""
    q = (
        select(LogregelRij)
        .where(LogregelRij.operatie.in_(PROFIELWIJZIGINGEN), _bevat(s, json.dumps(oin).encode()))
        .order_by(LogregelRij.volgnummer.desc())
        .limit(limit)
    )
    uit = []
    for r in s.execute(q).scalars():
        try:
            wat = json.loads(r.payload) if r.payload is not None else {}
        except ValueError:
            wat = {}
        profiel = wat.get("profiel", wat)
        if profiel.get("oin") == oin:
            uit.append((r, wat))
    return uit


# --- operators -----------------------------------------------------------------------------------


def beheerders(s: Session) -> Sequence[Beheerder]:
    return s.execute(select(Beheerder).order_by(Beheerder.naam)).scalars().all()


def beheerder(s: Session, naam: str) -> Beheerder | None:
    return s.execute(select(Beheerder).where(Beheerder.naam == naam)).scalar_one_or_none()


def beheerder_met_afdruk(s: Session, vingerafdruk: str) -> Beheerder | None:
    return s.execute(select(Beheerder).where(Beheerder.vingerafdruk == vingerafdruk)).scalar_one_or_none()


def getuigen(s: Session) -> list[Stand]:
    """Per registered peer: the newest of our checkpoints it cosigned and when, and its split views."""
    return Getuigen(s).stand()
