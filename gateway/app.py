"""The WSGI application: the committed contract on GET, SOAP 1.1 or 1.2 on POST.

    GET  /v1/ketenpartner?wsdl        wsdl/ketenpartner.wsdl, byte for byte but for its address (gateway.adres)
    GET  /wsdl/<name>.wsdl            the committed WSDLs (our services' with that address too)
    GET  /schemas/xsd/<name>.xsd      the committed XSDs (the WSDL's relative imports land here)
    GET  /health, /ready, /metrics    answered by gateway.waarneming, which wraps this application
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

from gateway import metrics, ns
from gateway.adres import basis_url, met_adres
from gateway.config import Settings, klok
from gateway.console import PREFIX as BEHEER_PREFIX
from gateway.console import ROUTES as BEHEER_ROUTES
from gateway.console import Console
from gateway.contract import served_files, service_schema
from gateway.domain.regels import Regels
from gateway.errors import GatewayError, TransportError
from gateway.faults import fout_element, render_fault_envelope
from gateway.grootte import TeGroot, lees_body
from gateway.identiteit import Identificatie
from gateway.log.logboek import Logboek
from gateway.pipeline import Deps
from gateway.protocol import VirSoap11, VirSoap12
from gateway.waarneming import Waarneming, luister, noteer_fout
from store.db import Database

log = logging.getLogger(__name__)

GROTE_AANVRAAG = 256 * 1024

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
    wsgi = WsgiApplication(app, max_content_length=deps.settings.max_request_bytes + 1)
    luister(wsgi, tns)
    return wsgi


@dataclass(frozen=True)
class Dienstpunt:
    """Where a SOAP service is served, and from which committed WSDL."""

    path: str
    service: Any  # the Spyne ServiceBase class
    tns: str
    wsdl: str  # file name under wsdl/


@dataclass(frozen=True)
class Endpoint:
    soap11: WsgiApplication
    soap12: WsgiApplication
    wsdl: bytes


class GatewayApp:
    def __init__(self, deps: Deps, diensten: Iterable[Dienstpunt]) -> None:
        self.deps = deps
        self.max_bytes = deps.settings.max_request_bytes
        self.identificatie = Identificatie(deps.settings)
        # Contract files are read once; what is served is what is committed.
        self.files = {path: p.read_bytes() for path, p in served_files().items()}
        diensten = list(diensten)
        self.endpoints = {
            d.path: Endpoint(
                _spyne(deps, d.service, d.tns, VirSoap11),
                _spyne(deps, d.service, d.tns, VirSoap12),
                self.files[f"/wsdl/{d.wsdl}"],
            )
            for d in diensten
        }
        self.wsdl_met_adres = frozenset(f"/wsdl/{d.wsdl}" for d in diensten)
        for d in diensten:
            service_schema(d.tns)  # compile now, not on the first request
        self.console = Console(deps.settings, deps.db, deps.logboek, deps.clock, BEHEER_ROUTES)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        if path == BEHEER_PREFIX or path.startswith(BEHEER_PREFIX + "/"):
            return self.console(environ, start_response)
        # /health, /ready and /metrics were answered before this (gateway/waarneming.py).
        try:
            environ["vir.oin"] = self.identificatie.oin(environ)
        except GatewayError as exc:
            return self._fault(start_response, ns.SOAP11_ENV, exc, "403 Forbidden", environ=environ)
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
                environ=environ,
            )
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if ctype == "text/xml":
            target, env_ns = endpoint.soap11, ns.SOAP11_ENV
        elif ctype == "application/soap+xml":
            target, env_ns = endpoint.soap12, ns.SOAP12_ENV
        else:
            return self._fault(
                start_response,
                ns.SOAP11_ENV,
                TransportError(code="VIR-HTTP-CONTENTTYPE"),
                "415 Unsupported Media Type",
                environ=environ,
            )
        try:
            body = lees_body(environ, self.max_bytes, self.deps.settings.max_afvoer_bytes)
        except TeGroot as exc:
            return self._fault(start_response, env_ns, exc, environ=environ)
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
            wsdl = met_adres(self.endpoints[path].wsdl, basis_url(environ, self.deps.settings.publieke_url))
            return self._plain(start_response, "200 OK", wsdl, "text/xml; charset=utf-8")
        if path in self.files:
            bestand = self.files[path]
            if path in self.wsdl_met_adres:  # our services' WSDLs; signalen.wsdl's address is the partner's
                bestand = met_adres(bestand, basis_url(environ, self.deps.settings.publieke_url))
            return self._plain(start_response, "200 OK", bestand, "text/xml; charset=utf-8")
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
        environ: dict[str, Any] | None = None,
    ) -> Iterable[bytes]:
        """A fault for a request refused before Spyne saw it; the refusal is logged too."""
        correlatie = str(uuid.uuid4())
        if environ is not None:
            noteer_fout(environ, error, correlatie)
        body = render_fault_envelope(error, env_ns, correlatie)
        fout = etree.tostring(fout_element(error, correlatie))
        self.deps.logboek.afwijzing(verzoek, "onbekend", "onbekend", None, fout, error, correlatie)
        ctype = "text/xml; charset=utf-8" if env_ns == ns.SOAP11_ENV else "application/soap+xml; charset=utf-8"
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))), *(extra or [])])
        return [body]


def maak_deps(settings: Settings, db: Database | None = None) -> Deps:
    """What the services of one process share. Create it after forking: it opens database connections."""
    # Spyne logs every fault with the request document; we log faults ourselves, without payloads.
    logging.getLogger("spyne").setLevel(logging.CRITICAL)
    # Spyne runs a full gc.collect() after a request at most once a second, to return file
    # descriptors of its other transports early. Under WSGI we own no such descriptors, and a full
    # collection stalls a worker for tens of milliseconds: let the collector run on its own schedule.
    spyne.const.MIN_GC_INTERVAL = math.inf
    regels = Regels(settings.max_melding_jaren, settings.max_leeftijd, settings.archief_jaren)
    db = db or Database(settings.url)
    db.na_afloop = metrics.transactie_klaar
    return Deps(settings, db, regels, Logboek(settings, db), klok(settings))


def maak_app(deps: Deps, diensten: Iterable[Dienstpunt]) -> Waarneming:
    """The application for one process: the services, with /health, /ready, /metrics and the process log
    around them."""
    diensten = list(diensten)
    labels = {d.path: d.wsdl.removesuffix(".wsdl") for d in diensten}
    return Waarneming(GatewayApp(deps, diensten), deps, labels, deps.settings.proceslog)
