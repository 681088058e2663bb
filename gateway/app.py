"""The WSGI application: the committed contract on GET, SOAP 1.1 or 1.2 on POST.

    GET  /v1/ketenpartner?wsdl        wsdl/ketenpartner.wsdl, byte for byte
    GET  /wsdl/<name>.wsdl            the committed WSDLs
    GET  /schemas/xsd/<name>.xsd      the committed XSDs (the WSDL's relative imports land here)
    GET  /health                      200 when the database answers
    /beheer/…                         the operator console (``gateway.console``), its own authentication
    POST /v1/ketenpartner             text/xml → SOAP 1.1, application/soap+xml → SOAP 1.2

Spyne never publishes a contract of its own: GET requests do not reach it.
"""

from __future__ import annotations

import gc
import io
import logging
import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import spyne.const
from lxml import etree
from spyne import Application
from spyne.server.wsgi import WsgiApplication
from sqlalchemy import text

from federation.service import Federatie
from gateway import ns
from gateway.config import Settings, klok
from gateway.console import PREFIX as BEHEER_PREFIX
from gateway.console import Console
from gateway.contract import served_files, service_schema
from gateway.domain.regels import Regels
from gateway.errors import GatewayError, TransportError
from gateway.faults import fout_element, render_fault_envelope
from gateway.identiteit import Identificatie
from gateway.log.logboek import Logboek
from gateway.protocol import VirSoap11, VirSoap12
from gateway.service import Deps, Ketenpartner
from store.db import Database

log = logging.getLogger(__name__)

KETENPARTNER_PATH = "/v1/ketenpartner"
GROTE_AANVRAAG = 256 * 1024
FEDERATIE_PATH = "/v1/federatie"

StartResponse = Callable[..., Any]


def _spyne(deps: Deps, service: Any, tns: str, protocol: Any) -> WsgiApplication:
    app = Application(
        [service],
        tns=tns,
        name=service.__name__,
        in_protocol=protocol(service_ns=tns),
        out_protocol=protocol(service_ns=tns),
    )
    app.vir = deps
    # Our own size limit (VIR_MAX_REQUEST_BYTES) applies before this; Spyne's must not be lower.
    return WsgiApplication(app, max_content_length=deps.settings.max_request_bytes + 1)


@dataclass(frozen=True)
class Endpoint:
    soap11: WsgiApplication
    soap12: WsgiApplication
    wsdl: bytes


class GatewayApp:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.max_bytes = deps.settings.max_request_bytes
        self.identificatie = Identificatie(deps.settings)
        # Contract files are read once; what is served is what is committed.
        self.files = {path: p.read_bytes() for path, p in served_files().items()}
        self.endpoints = {
            path: Endpoint(
                _spyne(deps, service, tns, VirSoap11),
                _spyne(deps, service, tns, VirSoap12),
                self.files[f"/wsdl/{wsdl}"],
            )
            for path, service, tns, wsdl in (
                (KETENPARTNER_PATH, Ketenpartner, ns.KETENPARTNER, "ketenpartner.wsdl"),
                (FEDERATIE_PATH, Federatie, ns.FEDERATIE, "federatie.wsdl"),
            )
        }
        for tns in (ns.KETENPARTNER, ns.FEDERATIE):
            service_schema(tns)  # compile now, not on the first request
        self.console = Console(deps.settings, deps.db, deps.logboek, deps.clock)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        if path == BEHEER_PREFIX or path.startswith(BEHEER_PREFIX + "/"):
            return self.console(environ, start_response)
        if not (path == "/health" and method == "GET"):  # a load balancer's probe; it says only "ok"
            try:
                environ["vir.oin"] = self.identificatie.oin(environ)
            except GatewayError as exc:
                return self._fault(start_response, ns.SOAP11_ENV, exc, "403 Forbidden")
        if method in ("GET", "HEAD"):
            return self._get(environ, path, start_response)
        endpoint = self.endpoints.get(path)
        if endpoint is None:
            return self._plain(start_response, "404 Not Found", b"not found\n")
        if method != "POST":
            return self._fault(
                start_response,
                ns.SOAP11_ENV,
                TransportError(code="VIR-HTTP-METHODE"),
                "405 Method Not Allowed",
                [("Allow", "GET, POST")],
            )
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if ctype == "text/xml":
            target, env_ns = endpoint.soap11, ns.SOAP11_ENV
        elif ctype == "application/soap+xml":
            target, env_ns = endpoint.soap12, ns.SOAP12_ENV
        else:
            return self._fault(
                start_response, ns.SOAP11_ENV, TransportError(code="VIR-HTTP-CONTENTTYPE"), "415 Unsupported Media Type"
            )
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_bytes:
            return self._fault(start_response, env_ns, TransportError(code="VIR-BERICHT-TE-GROOT"))
        body = environ["wsgi.input"].read(length if length else self.max_bytes + 1)
        if len(body) > self.max_bytes:
            return self._fault(start_response, env_ns, TransportError(code="VIR-BERICHT-TE-GROOT"))
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        antwoord = list(target(environ, start_response))
        if len(body) > GROTE_AANVRAAG:
            # Spyne's per-request objects form reference cycles that hold the parsed document; after a
            # large request, free them now rather than at the collector's next full pass.
            gc.collect()
        return antwoord

    def _get(self, environ: dict[str, Any], path: str, start_response: StartResponse) -> Iterable[bytes]:
        query = (environ.get("QUERY_STRING") or "").lower()
        if path in self.endpoints and query == "wsdl":
            return self._plain(start_response, "200 OK", self.endpoints[path].wsdl, "text/xml; charset=utf-8")
        if path in self.files:
            return self._plain(start_response, "200 OK", self.files[path], "text/xml; charset=utf-8")
        if path == "/health":
            try:
                with self.deps.db.transaction(write=False) as s:
                    s.execute(text("SELECT 1"))
            except GatewayError:
                return self._plain(start_response, "503 Service Unavailable", b"database unavailable\n")
            return self._plain(start_response, "200 OK", b"ok\n")
        return self._plain(start_response, "404 Not Found", b"not found\n")

    @staticmethod
    def _plain(
        start_response: StartResponse, status: str, body: bytes, ctype: str = "text/plain; charset=utf-8"
    ) -> Iterable[bytes]:
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    def _fault(
        self,
        start_response: StartResponse,
        env_ns: str,
        error: GatewayError,
        status: str = "500 Internal Server Error",
        extra: list[tuple[str, str]] | None = None,
        verzoek: bytes = b"",
    ) -> Iterable[bytes]:
        """A fault for a request refused before Spyne saw it; the refusal is logged too."""
        correlatie = str(uuid.uuid4())
        body = render_fault_envelope(error, env_ns, correlatie)
        fout = etree.tostring(fout_element(error, correlatie))
        self.deps.logboek.afwijzing(verzoek, "onbekend", "onbekend", None, fout, error, correlatie)
        ctype = "text/xml; charset=utf-8" if env_ns == ns.SOAP11_ENV else "application/soap+xml; charset=utf-8"
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))), *(extra or [])])
        return [body]


def create_app(settings: Settings, db: Database | None = None) -> GatewayApp:
    """The application for one process. Create it after forking: it opens database connections."""
    # Spyne logs every fault with the request document; we log faults ourselves, without payloads.
    logging.getLogger("spyne").setLevel(logging.CRITICAL)
    # Spyne runs a full gc.collect() after a request at most once a second, to return file
    # descriptors of its other transports early. Under WSGI we own no such descriptors, and a full
    # collection stalls a worker for tens of milliseconds: let the collector run on its own schedule.
    spyne.const.MIN_GC_INTERVAL = math.inf
    regels = Regels(settings.max_melding_jaren, settings.max_leeftijd, settings.archief_jaren)
    db = db or Database(settings.url)
    return GatewayApp(Deps(settings, db, regels, Logboek(settings, db), klok(settings)))
