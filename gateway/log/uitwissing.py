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

from sqlalchemy.orm import Session

from gateway.log import redactie
from gateway.log.redactie import Redactie
from store import logboek as opslag
from store.logboek import Selectie


def entries(session: Session, melding_ids: Iterable[str], teksten: Iterable[bytes] = ()) -> list[int]:
    """The numbers of the entries to redact for these meldingen (requests, answers, faults) and texts (any entry),
    still holding a payload."""
    return opslag.regels_van_meldingen(session, melding_ids, teksten)


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
    waar = Selectie(bereiken=redactie.bereiken(nummers))
    return redactie.redigeer(session, waar=waar, reden=reden, actor=actor, tijdstip=tijdstip, context=context)
