"""What a melding leaves beside its own row, deleted with it (docs/privacy.md): the signals about it, the stored
answers that show it, and deliveries of it to other systems not yet made.

A melding or match is found in stored bytes by its id (a random UUID), so these deletes need no index of their
own: they run when a melding is deleted or destroyed, or a youth erased, which is rare beside filing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, delete, func, literal, or_, select
from sqlalchemy.orm import Session

from store import models as m

# The signal that tells a filer its melding ended: the reason only, so it outlives the melding it names.
MELDING_BEEINDIGD = "meldingBeeindigd"
DOORGEVEN = "doorgeven"


def _van(kaart: dict[str, Any], oin: str, systeem: str) -> bool:
    """Whether a stored contact card is that of party ``oin`` of another system ``systeem`` (whose cards here
    carry ``bronsysteem`` ``systeem/…``)."""
    return bool(kaart.get("oin") == oin and str(kaart.get("bronsysteem", "")).startswith(f"{systeem}/"))


def bevat(session: Session, kolom: Any, needle: bytes) -> ColumnElement[bool]:
    """``kolom`` (bytes) holds ``needle`` somewhere."""
    if session.get_bind().dialect.name == "sqlite":
        return func.instr(kolom, needle) > 0
    return func.position(literal(needle, LargeBinary).op("IN")(kolom)) > 0


class Sporen:
    def __init__(self, session: Session) -> None:
        self.s = session

    def vergeet(self, melding_ids: Iterable[str], match_ids: Iterable[str] = ()) -> int:
        """Delete the traces of these meldingen and matches: signals about them (except a ``meldingBeeindigd``,
        which carries nothing but the reason), stored answers showing them, and undelivered deliveries of them.
        The number of rows deleted."""
        meldingen, matches = sorted(set(melding_ids)), sorted(set(match_ids))
        ids = meldingen + matches
        if not ids:
            return 0
        weg = 0
        signalen: list[ColumnElement[bool]] = []
        if meldingen:
            signalen.append(m.Signaal.melding_id.in_(meldingen) & (m.Signaal.soort != MELDING_BEEINDIGD))
        signalen.extend(m.Signaal.inhoud.contains(i, autoescape=True) for i in matches)
        for stmt in (
            delete(m.Signaal).where(or_(*signalen)),
            delete(m.Bericht).where(or_(*(bevat(self.s, m.Bericht.antwoord, i.encode()) for i in ids))),
        ):
            result: Any = self.s.execute(stmt, execution_options={"synchronize_session": False})
            weg += int(result.rowcount)
        if meldingen:
            result = self.s.execute(
                delete(m.FederatieUitgaand).where(
                    m.FederatieUitgaand.bron_melding_id.in_(meldingen), m.FederatieUitgaand.soort == DOORGEVEN
                ),
                execution_options={"synchronize_session": False},
            )
            weg += int(result.rowcount)
            self.s.execute(
                delete(m.FederatieAfnemer).where(m.FederatieAfnemer.melding_id.in_(meldingen)),
                execution_options={"synchronize_session": False},
            )
        return weg

    def zonder_kaart(self, match_ids: Iterable[str], oin: str, systeem: str) -> int:
        """Another system's party (``systeem``, ``oin``) left: the signals that show one of these matches no longer
        carry its contact card (nor name it as coordinator), and the stored answers that show them go (a retry
        is then a new request). The number of rows changed."""
        ids = sorted(set(match_ids))
        if not ids:
            return 0
        geraakt = 0
        signalen = self.s.execute(
            select(m.Signaal).where(or_(*(m.Signaal.inhoud.contains(i, autoescape=True) for i in ids)))
        ).scalars()
        for signaal in signalen:
            inhoud = json.loads(signaal.inhoud or "null")
            if not isinstance(inhoud, dict):
                continue
            partijen = inhoud.get("partijen", [])
            blijven = [p for p in partijen if not _van(p, oin, systeem)]
            if len(blijven) != len(partijen) or inhoud.get("regievoerder") == oin:
                inhoud["partijen"] = blijven
                if inhoud.get("regievoerder") == oin:
                    inhoud["regievoerder"] = None
                signaal.inhoud = json.dumps(inhoud, separators=(",", ":"))
                geraakt += 1
        result: Any = self.s.execute(
            delete(m.Bericht).where(or_(*(bevat(self.s, m.Bericht.antwoord, i.encode()) for i in ids))),
            execution_options={"synchronize_session": False},
        )
        self.s.flush()
        return geraakt + int(result.rowcount)

    def vergeet_afgeleverd(self) -> int:
        """Deliveries to other systems that were made: the peer has them; nothing here needs them again."""
        result: Any = self.s.execute(delete(m.FederatieUitgaand).where(m.FederatieUitgaand.status == "afgeleverd"))
        return int(result.rowcount)
