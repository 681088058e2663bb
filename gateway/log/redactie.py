"""Redactions are entries: removing payloads appends a ``beheer`` entry that names them.

Payloads leave the log in three ways, each through ``redigeer``: an operator's ``log redact``, the
retention run (``VIR_LOG_BEWAAR_JAREN`` after logging) and a data subject's erasure (``log redact
--bsn``, ``betrokkene wissen``), and a melding ended as ``onterecht`` (``gateway/log/uitwissing.py``). In one
transaction, holding the log head, it removes the payloads, marks each entry with
the number of the redaction entry, and appends that entry:

    soort "beheer", operatie "log redact", payload (canonical JSON, never redacted itself):
    {"reden": "beheerder" | "bewaartermijn" | "uitwissing" | "onterecht", "regels": [[a, b], …], "verwijderd": n, …}

``regels`` are the redacted entry numbers as inclusive ranges. The leaf hash commits to the payload's
digest, so the redaction entry cannot be changed afterwards either, and verification
(``gateway/log/verify.py``) accepts a missing payload only where a redaction entry logged *after*
it covers it. A ``payload_verwijderd`` mark set by hand names no such entry and is reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.log.regel import Logregel
from gateway.log.writer import Append, integreer
from store import logboek as opslag
from store.logboek import Selectie
from store.models import LogregelRij

OPERATIE = opslag.REDACTIE
REDENEN = ("beheerder", "bewaartermijn", "uitwissing", "onterecht")

Bereik = tuple[int, int]  # inclusive


def bereiken(nummers: Iterable[int]) -> list[Bereik]:
    """Sorted numbers as inclusive ranges: 1,2,3,7 → [(1, 3), (7, 7)]."""
    out: list[list[int]] = []
    for n in nummers:
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return [(a, b) for a, b in out]


def is_redactie(soort: str, operatie: str) -> bool:
    return soort == "beheer" and operatie == OPERATIE


def gedekt(payload: bytes, volgnummer: int) -> list[Bereik]:
    """The ranges a redaction entry (number ``volgnummer``) covers; only entries before it count.
    A payload that is not a redaction record covers nothing."""
    try:
        doc = json.loads(payload)
        ranges = [(int(a), int(b)) for a, b in doc["regels"]]
    except (ValueError, TypeError, KeyError):
        return []
    return [(a, min(b, volgnummer - 1)) for a, b in ranges if a <= b and a < volgnummer]


def samenvoegen(ranges: Iterable[Bereik]) -> list[Bereik]:
    out: list[Bereik] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def ongedekt(weg: Sequence[Bereik], dekking: Sequence[Bereik]) -> list[Bereik]:
    """The parts of ``weg`` (missing payloads) that ``dekking`` (merged redactions) does not cover."""
    out: list[Bereik] = []
    dek = samenvoegen(dekking)
    i = 0
    for a, b in samenvoegen(weg):
        while i < len(dek) and dek[i][1] < a:
            i += 1
        j, lo = i, a
        while lo <= b:
            if j >= len(dek) or dek[j][0] > b:
                out.append((lo, b))
                break
            if dek[j][0] > lo:
                out.append((lo, dek[j][0] - 1))
            lo = max(lo, dek[j][1] + 1)
            j += 1
    return out


def iets_te_redigeren(session: Session, selectie: Selectie) -> int | None:
    """An entry of ``selectie`` that still has a payload, if any (a cheap look before locking the head)."""
    return opslag.iets_te_redigeren(session, selectie)


@dataclass(frozen=True)
class Redactie:
    volgnummer: int  # of the redaction entry
    verwijderd: int
    bereiken: list[Bereik]


def redigeer(
    session: Session,
    *,
    waar: Selectie,
    reden: str,
    actor: str,
    tijdstip: str,
    context: dict[str, Any] | None = None,
) -> Redactie:
    """Remove the payloads of the entries ``waar`` selects and log that, in the caller's transaction.

    Redaction entries themselves are never redacted: they hold entry numbers only, and verification
    needs them."""
    if reden not in REDENEN:
        raise ValueError(f"unknown reason {reden!r}")
    # Holds the log head: nothing is taken into the tree while we choose. The redaction entry's number comes
    # after every entry chosen; an entry of a filing still running when we choose is not chosen.
    append = Append(session, hoofd=True)
    volgnummer = append.volgende()
    nummers = opslag.te_redigeren(session, waar, onder=volgnummer)
    ranges = bereiken(nummers)
    opslag.verwijder_payloads(session, ranges, door=volgnummer)
    payload = json.dumps(
        {"reden": reden, "regels": [list(r) for r in ranges], "verwijderd": len(nummers), **(context or {})},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    append.add(Logregel(tijdstip, "beheer", OPERATIE, actor, payload))
    append.close()
    if append.reeks:
        # Into the tree at once (the head is still ours), unless a filing still running holds a number before
        # it: then the sequencer takes it in after that filing.
        integreer(session, wachten=True)
    return Redactie(volgnummer, len(nummers), ranges)


def redacties_tot(session: Session, grootte: int) -> Iterator[LogregelRij]:
    """The redaction entries of the tree of ``grootte`` entries, in log order (a bundle carries them)."""
    return opslag.redacties_tot(session, grootte)
