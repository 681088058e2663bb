"""The process log: one line per request on standard error, for the operator's log collector.

    {"time": "2026-12-01T22:11:25.123456Z", "service": "ketenpartner", "operation": "MeldingAfgeven",
     "fault": "VIR-BSN-ONGELDIG", "status": 500, "duration_ms": 12.3,
     "correlation_id": "…", "sender_oin": "00000001111111111000", "message_id": "…"}

JSON by default (``VIR_PROCESLOG=json``); ``VIR_PROCESLOG=tekst`` writes the same fields as one
readable line for development. A line holds names from the contract, codes, times, the sender's
organisation number and the message and correlation ids: never a BSN, a name, a date of birth or any
other part of a message body. The message log (``vir-gateway log``) is where the content is kept.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

_log = logging.getLogger("vir.verzoek")


@dataclass
class Verzoekregel:
    service: str
    operation: str
    status: int
    duration_ms: float
    fault: str | None = None
    correlation_id: str | None = None
    sender_oin: str | None = None
    message_id: str | None = None


class _Opmaak(logging.Formatter):
    def __init__(self, formaat: str) -> None:
        super().__init__()
        self.formaat = formaat

    def format(self, record: logging.LogRecord) -> str:
        regel: Verzoekregel = record.regel  # type: ignore[attr-defined]
        tijd = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        velden = {"time": tijd, **vars(regel)}  # vars, not asdict: no deep copy per request
        if self.formaat == "json":
            return json.dumps(velden, separators=(",", ":"))
        return " ".join(f"{k}={v}" for k, v in velden.items() if v is not None)


def inrichten(formaat: str) -> None:
    """Send request lines to standard error in ``formaat`` (``json`` or ``tekst``); once per process."""
    if _log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Opmaak(formaat))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False


def schrijf(regel: Verzoekregel) -> None:
    _log.info("request", extra={"regel": regel})
