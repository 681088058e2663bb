"""Reading a request body within the size limit, and refusing a larger one so that the client hears why.

A client that sends its whole body without waiting for ``100 Continue`` (Python's http.client,
requests, zeep, PHP, most record systems) is still writing when the gateway decides to refuse. If the
gateway answered and closed at once, the client would see a broken pipe or a reset instead of
``VIR-BERICHT-TE-GROOT``. So an oversized body is read and thrown away, up to a hard cap
(``VIR_MAX_AFVOER_BYTES``), and then answered with the fault; reading costs a little bandwidth and no
memory. A body announced larger than the cap, or one that keeps coming past it, is not worth reading:
the fault goes out at once and the rest is left unread. gunicorn's sync workers (what ``serve`` runs)
close the connection after every answer, so the unread rest ends with the connection. (A WSGI
application cannot ask for that itself: ``Connection`` is a hop-by-hop header, which PEP 3333 reserves
to the server.)
"""

from __future__ import annotations

from typing import Any

from gateway.errors import TransportError

BLOK = 64 * 1024


class TeGroot(TransportError):
    """The body exceeds ``VIR_MAX_REQUEST_BYTES``."""

    code = "VIR-BERICHT-TE-GROOT"


def _afvoeren(invoer: Any, hoeveel: int | None, cap: int) -> None:
    """Read and discard ``hoeveel`` bytes (or until the end when unknown), at most ``cap``."""
    gelezen = 0
    while (hoeveel is None or gelezen < hoeveel) and gelezen < cap:
        stuk = invoer.read(BLOK if hoeveel is None else min(BLOK, hoeveel - gelezen))
        if not stuk:
            return
        gelezen += len(stuk)


def lees_body(environ: dict[str, Any], max_bytes: int, afvoer_bytes: int) -> bytes:
    """The request body, at most ``max_bytes``; raises ``TeGroot`` for a larger one after discarding it
    (up to ``afvoer_bytes`` in all)."""
    invoer = environ["wsgi.input"]
    try:
        lengte: int | None = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        lengte = None  # chunked, or no length: read until the end
    if lengte is not None and lengte > max_bytes:
        if lengte <= afvoer_bytes:  # else not worth reading: the connection ends with the answer
            _afvoeren(invoer, lengte, afvoer_bytes)
        raise TeGroot()
    body = invoer.read(lengte if lengte is not None else max_bytes + 1)
    if len(body) > max_bytes:
        _afvoeren(invoer, None, afvoer_bytes - len(body))
        raise TeGroot()
    return body
