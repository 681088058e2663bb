"""Redacting the log entries of particular meldingen at once, rather than after the log retention: a melding
ended as ``onterecht`` (it should never have been filed) and a youth's erasure (``vir-gateway betrokkene
wissen``). Like every removal of payloads it is one logged redaction (``gateway/log/redactie.py``), so
``log verify`` keeps passing.

Which entries: the requests, answers and faults whose payload holds one of the meldingIds (the answer to a
filing, a change, an ending, a delivery to a peer, a read of matches or signals) or a given search text (the
youth's BSN as an element's text), and the request each such answer answered (same sender, its berichtId),
which holds the youth and the professional but not the meldingId it was given. Access entries (soort
``inzage``) stay: they name who read what by id, and a data subject may ask for exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from gateway.log import redactie
from gateway.log.redactie import Redactie
from store.models import LogregelRij
from store.sporen import bevat

BERICHTEN = ("inkomend", "uitgaand", "fout")


def entries(session: Session, melding_ids: Iterable[str], teksten: Iterable[bytes] = ()) -> list[int]:
    """The numbers of the entries to redact for these meldingen (requests, answers, faults) and texts (any entry),
    still holding a payload."""
    ids = [i.encode() for i in sorted(set(melding_ids))]
    woorden = sorted(set(teksten))
    if not ids and not woorden:
        return []
    r = LogregelRij
    waar: list[ColumnElement[bool]] = []
    if ids:
        waar.append(r.soort.in_(BERICHTEN) & or_(*(bevat(session, r.payload, n) for n in ids)))
    if woorden:  # a text (the BSN) wherever it stands, also in an operator's search
        waar.append(or_(*(bevat(session, r.payload, n) for n in woorden)))
    nummers: set[int] = set()
    paren: set[tuple[str, str]] = set()
    for volgnummer, actor, bericht_id, kruisverwijzing in session.execute(
        select(r.volgnummer, r.actor, r.bericht_id, r.kruisverwijzing).where(r.payload.is_not(None), or_(*waar))
    ):
        nummers.add(volgnummer)
        for b in (bericht_id, kruisverwijzing):
            if b:
                paren.add((actor, b))
    lijst = sorted(paren)
    for i in range(0, len(lijst), 200):
        deel = lijst[i : i + 200]
        nummers.update(
            session.scalars(
                select(r.volgnummer).where(
                    r.soort.in_(BERICHTEN),
                    r.payload.is_not(None),
                    or_(*(and_(r.actor == a, or_(r.bericht_id == b, r.kruisverwijzing == b)) for a, b in deel)),
                )
            )
        )
    return sorted(nummers)


def redigeer_meldingen(
    session: Session,
    melding_ids: Iterable[str],
    *,
    reden: str,
    actor: str,
    tijdstip: str,
    teksten: Iterable[bytes] = (),
    context: dict[str, Any] | None = None,
) -> Redactie | None:
    """One logged redaction of the entries of these meldingen, in the caller's transaction; None when no entry
    holds a payload of them."""
    nummers = entries(session, melding_ids, teksten)
    if not nummers:
        return None
    waar: ColumnElement[bool] = or_(*(LogregelRij.volgnummer.between(a, b) for a, b in redactie.bereiken(nummers)))
    return redactie.redigeer(session, waar=waar, reden=reden, actor=actor, tijdstip=tijdstip, context=context)
