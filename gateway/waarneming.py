"""What operators see of the running gateway: a WSGI layer around the application that answers
``/health``, ``/ready`` and ``/metrics`` itself, and times, counts and logs every other request.

How a request ended is learnt from the request itself: Spyne's ``wsgi_return`` and ``wsgi_exception``
events (``luister``) copy the operation, sender, message id, correlation id and fault code from the
request's ``RequestInfo`` into the WSGI environ; a refusal before Spyne (size, method, content type,
identity) is noted there by ``noteer_fout``. This layer then writes one process-log line and the
request metrics after the answer is produced.

The probes and ``/metrics`` need no client identity (a load balancer has none); in a proxy deployment
keep them off the public side of the proxy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gateway import metrics, proceslog
from gateway.contract import request_elements
from gateway.errors import GatewayError
from gateway.health import gereed

StartResponse = Callable[..., Any]
UITKOMST = "vir.uitkomst"


@dataclass
class Uitkomst:
    operatie: str | None = None
    fout: str | None = None
    correlatie_id: str | None = None
    zender_oin: str | None = None
    bericht_id: str | None = None


def _uitkomst(environ: dict[str, Any]) -> Uitkomst:
    u = environ.get(UITKOMST)
    if not isinstance(u, Uitkomst):
        u = environ[UITKOMST] = Uitkomst()
    return u


def noteer_fout(environ: dict[str, Any], error: GatewayError, correlatie_id: str) -> None:
    """A request refused before Spyne saw it."""
    u = _uitkomst(environ)
    u.fout, u.correlatie_id = error.code, correlatie_id


def luister(wsgi_app: Any, service_ns: str) -> None:
    """Copy what the protocol learnt about each request into its environ (Spyne events)."""
    operaties = frozenset(n.split("}")[1] for n in request_elements(service_ns))

    def na_verzoek(ctx: Any) -> None:
        environ = getattr(ctx.transport, "req_env", None)
        if environ is None:
            return
        u = _uitkomst(environ)
        info = ctx.udc
        if info is not None:
            # Only the contract's names: a sender must not be able to invent label values.
            u.operatie = info.operatie if info.operatie in operaties else None
            u.correlatie_id = info.correlatie_id
            u.zender_oin = info.zender_oin if _is_oin(info.zender_oin) else None
            u.bericht_id = info.bericht_id if info.verzoek_hash else None  # only once the body was valid
        fout = ctx.out_error or ctx.in_error
        if fout is not None:
            error = getattr(fout, "error", None)
            u.fout = error.code if isinstance(error, GatewayError) else "VIR-INTERN"

    wsgi_app.event_manager.add_listener("wsgi_return", na_verzoek)
    wsgi_app.event_manager.add_listener("wsgi_exception", na_verzoek)


def _is_oin(waarde: str | None) -> bool:
    return waarde is not None and len(waarde) == 20 and waarde.isdigit()


class Waarneming:
    """The WSGI layer; ``diensten`` maps a SOAP path to its service label."""

    def __init__(self, app: Any, deps: Any, diensten: dict[str, str], proceslog_formaat: str) -> None:
        self.app = app
        self.deps = deps
        self.diensten = diensten
        proceslog.inrichten(proceslog_formaat)

    def __getattr__(self, naam: str) -> Any:
        return getattr(self.app, naam)  # the wrapped application's attributes (deps, endpoints, …)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        pad = environ.get("PATH_INFO", "") or "/"
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if pad == "/health":
                return self._antwoord(start_response, "200 OK", b"ok\n", "text/plain; charset=utf-8")
            if pad == "/ready":
                klaar, body = gereed(self.deps)
                code = "200 OK" if klaar else "503 Service Unavailable"
                return self._antwoord(start_response, code, body, "application/json")
            if pad == "/metrics":
                return self._antwoord(start_response, "200 OK", metrics.render(self.deps.db), metrics.CONTENT_TYPE)
        service = self.diensten.get(pad)
        if service is None or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        begin = time.perf_counter()
        status: list[str] = []

        def start(s: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status.append(s)
            return start_response(s, headers, *args)

        antwoord = self.app(environ, start)
        # The answers are lists already (Spyne's and ours); joining costs nothing and lets the
        # time include rendering.
        body = b"".join(antwoord)
        duur = time.perf_counter() - begin
        u = _uitkomst(environ)
        operatie = u.operatie or "onbekend"
        metrics.tel(service, operatie, u.fout, duur)
        proceslog.schrijf(
            proceslog.Verzoekregel(
                service=service,
                operation=operatie,
                status=int(status[0].split()[0]) if status else 0,
                duration_ms=round(duur * 1000, 3),
                fault=u.fout,
                correlation_id=u.correlatie_id,
                sender_oin=u.zender_oin,
                message_id=u.bericht_id,
            )
        )
        return [body]

    @staticmethod
    def _antwoord(start_response: StartResponse, status: str, body: bytes, ctype: str) -> Iterable[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]
