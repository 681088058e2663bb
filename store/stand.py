"""The state an operator watches, read from the store: outbox per peer, log size, the newest
checkpoint and retention run, and whether the schema is the newest. Counts and times only; nothing
here refers to a youth or a person."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from store.migrate import alembic_config
from store.models import Checkpoint, FederatieUitgaand, LogHoofd, LogregelRij


@dataclass
class Onderhoudsrun:
    tijdstip: datetime
    aantallen: dict[str, int]  # beeindigd_<reden>, vernietigd, verloopsignalen, jongeren_vergeten; empty once pruned


@dataclass
class Stand:
    outbox: dict[tuple[str, str], int] = field(default_factory=dict)  # (peer, status) → deliveries
    log_grootte: int = 0
    checkpoint: datetime | None = None
    onderhoud: Onderhoudsrun | None = None


def _tijd(rfc3339: str) -> datetime:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))


def lees_stand(session: Session) -> Stand:
    stand = Stand()
    rijen = session.execute(
        select(FederatieUitgaand.peer, FederatieUitgaand.status, func.count()).group_by(
            FederatieUitgaand.peer, FederatieUitgaand.status
        )
    )
    stand.outbox = {(peer, status): int(n) for peer, status, n in rijen}
    stand.log_grootte = int(session.execute(select(LogHoofd.grootte).where(LogHoofd.id == 1)).scalar() or 0)
    laatste = session.execute(select(Checkpoint.tijdstip).order_by(Checkpoint.grootte.desc()).limit(1)).scalar()
    stand.checkpoint = _tijd(laatste) if laatste else None
    run = session.execute(
        select(LogregelRij.tijdstip, LogregelRij.payload)
        .where(LogregelRij.soort == "beheer", LogregelRij.operatie == "onderhoud")
        .order_by(LogregelRij.volgnummer.desc())
        .limit(1)
    ).first()
    if run is not None:
        stand.onderhoud = Onderhoudsrun(_tijd(run.tijdstip), _aantallen(run.payload))
    return stand


def _aantallen(payload: bytes | None) -> dict[str, int]:
    if not payload:
        return {}
    verslag = json.loads(payload)
    aantallen = {f"beeindigd_{reden}": len(ids) for reden, ids in verslag.get("beeindigd", {}).items()}
    aantallen["vernietigd"] = len(verslag.get("vernietigd", []))
    aantallen["verloopsignalen"] = len(verslag.get("verloopsignalen", []))
    aantallen["jongeren_vergeten"] = int(verslag.get("jongerenVergeten", 0))
    return aantallen


@cache
def nieuwste_revisie() -> str | None:
    """The head of the migrations this code ships with."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def schema_revisie(session: Session) -> str | None:
    """The migration the database is at (None for a database never migrated)."""
    if not inspect(session.connection()).has_table("alembic_version"):
        return None
    return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
