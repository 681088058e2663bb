"""Reading a request body within the size limit, and refusing a larger one so that the client hears why.

A client that sends its whole body without waiting for ``100 Continue`` (Python's http.client,
requests, zeep, PHP, most record systems) is still writing when the gateway decides to refuse. If the
gateway answered and closed at once, the client would see a broken pipe or a reset instead of
``VIR-BERICHT-TE-GROOT``. So an oversized body is read and thrown away, up to a hard cap
(``VIR_MAX_AFVOER_BYTES``), and then answered with the fault; reading costs a little bandwidth and no
memory. A body announced larger than the cap, or one that keeps coming past it, is not worth reading:
the fault goes out with ``Connection: close`` and the connection is closed.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import TransportError

BLOK = 64 * 1024


class TeGroot(TransportError):
    """The body exceeds ``VIR_MAX_REQUEST_BYTES``; ``sluiten`` when it also exceeds the discard cap."""

    code = "VIR-BERICHT-TE-GROOT"

    def __init__(self, *, sluiten: bool) -> None:
        super().__init__(code="VIR-BERICHT-TE-GROOT")
        self.sluiten = sluiten


def _afvoeren(invoer: Any, hoeveel: int | None, cap: int) -> bool:
    """Read and discard ``hoeveel`` bytes (or until the end when unknown); False when the cap was reached first."""
    gelezen = 0
    while hoeveel is None or gelezen < hoeveel:
        if gelezen >= cap:
            return False
        stuk = invoer.read(BLOK if hoeveel is None else min(BLOK, hoeveel - gelezen))
        if not stuk:
            return True
        gelezen += len(stuk)
    return True


def lees_body(environ: dict[str, Any], max_bytes: int, afvoer_bytes: int) -> bytes:
    """The request body, at most ``max_bytes``; raises ``TeGroot`` for a larger one after discarding it
    (up to ``afvoer_bytes`` in all)."""
    invoer = environ["wsgi.input"]
    try:
        lengte: int | None = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        lengte = None  # chunked, or no length: read until the end
    if lengte is not None and lengte > max_bytes:
        if lengte > afvoer_bytes:
            raise TeGroot(sluiten=True)
        _afvoeren(invoer, lengte, afvoer_bytes)
        raise TeGroot(sluiten=False)
    body = invoer.read(lengte if lengte is not None else max_bytes + 1)
    if len(body) > max_bytes:
        raise TeGroot(sluiten=not _afvoeren(invoer, None, afvoer_bytes - len(body)))
    return body
