"""Reading a request body within the size limit, and refusing a larger one so that the client hears why.

A client that sends its whole body without waiting for ``100 Continue`` (Python's http.client,
requests, zeep, PHP, most record systems) is still writing when the gateway decides to refuse. If the
gateway answered and closed at once, the client would see a broken pipe or a reset instead of
``VIR-BERICHT-TE-GROOT``. So an oversized body is read and thrown away, up to a hard cap
(``VIR_MAX_AFVOER_BYTES``), and then answered with the fault; reading costs a little bandwidth and no
memory. A body announced larger than the cap, or one that keeps coming past it, is not worth reading:
the fault goes out at once and the rest is left unread, and the connection ends with the answer
(``Connection: close``), although clients may otherwise keep theirs. A WSGI application cannot say that
itself (``Connection`` is a hop-by-hop header, which PEP 3333 reserves to the server), so it asks the
server through the environ (``VERBINDING_SLUITEN``, ``gateway.server.Werker``).
"""

from __future__ import annotations

from typing import Any

from gateway.errors import TransportError

BLOK = 64 * 1024

VERBINDING_SLUITEN = "vir.verbinding_sluiten"
"""Environ key of a callable the server puts there: called before the answer starts, the connection closes
after the answer instead of waiting for the client's next request."""


class TeGroot(TransportError):
    """The body exceeds ``VIR_MAX_REQUEST_BYTES``."""

    code = "VIR-BERICHT-TE-GROOT"


def _afvoeren(invoer: Any, hoeveel: int | None, cap: int) -> bool:
    """Read and discard ``hoeveel`` bytes (or until the end when unknown), at most ``cap``. Whether the end
    was reached."""
    gelezen = 0
    while (hoeveel is None or gelezen < hoeveel) and gelezen < cap:
        stuk = invoer.read(BLOK if hoeveel is None else min(BLOK, hoeveel - gelezen))
        if not stuk:
            return True
        gelezen += len(stuk)
    return hoeveel is not None and gelezen >= hoeveel


def _na_antwoord_sluiten(environ: dict[str, Any]) -> None:
    sluiten = environ.get(VERBINDING_SLUITEN)
    if sluiten is not None:
        sluiten()


def lees_body(environ: dict[str, Any], max_bytes: int, afvoer_bytes: int) -> bytes:
    """The request body, at most ``max_bytes``; raises ``TeGroot`` for a larger one after discarding it
    (up to ``afvoer_bytes`` in all)."""
    invoer = environ["wsgi.input"]
    try:
        lengte: int | None = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        lengte = None  # chunked, or no length: read until the end
    if lengte is not None and lengte > max_bytes:
        # Beyond the cap not worth reading: the connection ends with the answer.
        if lengte > afvoer_bytes or not _afvoeren(invoer, lengte, afvoer_bytes):
            _na_antwoord_sluiten(environ)
        raise TeGroot()
    body = invoer.read(lengte if lengte is not None else max_bytes + 1)
    if len(body) > max_bytes:
        if not _afvoeren(invoer, None, afvoer_bytes - len(body)):
            _na_antwoord_sluiten(environ)
        raise TeGroot()
    return body
