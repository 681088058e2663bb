"""The console's WSGI application under ``/beheer/``: who asks, may they, answer, and log it.

One request runs top to bottom: static file (no log) → operator from the certificate (else refused and
logged) → route → right of the role (else refused and logged) → for a POST the form token (else refused
and logged) → the page or action → the log entry of the view (an action writes its own, in the
transaction of its change) → the response. A view whose log entry cannot be written is not shown.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.console.toegang import Formsleutel, Operator, Recht, Toegang, Weigering
from gateway.errors import GatewayError
from gateway.log.logboek import Logboek, key_paths
from gateway.log.regel import Logregel
from store.db import Database

log = logging.getLogger(__name__)

PREFIX = "/beheer"
HIER = Path(__file__).parent
MAX_FORMULIER = 64 * 1024

StartResponse = Callable[..., Any]

KOPPEN = [
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
     "frame-ancestors 'none'; base-uri 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
]  # fmt: skip

STATISCH = {
    "console.css": "text/css; charset=utf-8",
    "bewijs.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",  # else browsers ask /favicon.ico of the chain-partner side
}

MENU = [
    ("overzicht", "Overzicht", "/beheer/", Recht.LEZEN),
    ("log", "Logboek", "/beheer/log", Recht.LEZEN),
    ("checkpoints", "Checkpoints", "/beheer/checkpoints", Recht.LEZEN),
    ("federatie", "Federatie", "/beheer/federatie", Recht.FEDERATIE),
    ("instanties", "Instanties", "/beheer/instanties", Recht.INSTANTIES),
    ("rapporten", "Rapporten", "/beheer/rapporten", Recht.RAPPORTEN),
]


@dataclass
class Verzoek:
    environ: dict[str, Any]
    operator: Operator
    pad: str
    query: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)

    def veld(self, naam: str) -> str:
        return (self.form.get(naam) or [""])[0].strip()


@dataclass
class Antwoord:
    """A response. ``inzage``: what the view showed, for its log entry (None: the handler logged itself)."""

    body: bytes
    status: str = "200 OK"
    ctype: str = "text/html; charset=utf-8"
    koppen: list[tuple[str, str]] = field(default_factory=list)
    operatie: str = ""
    inzage: dict[str, Any] | None = None


@dataclass(frozen=True)
class Route:
    methode: str
    patroon: re.Pattern[str]
    recht: Recht
    handler: Callable[..., Antwoord]


def _formgeheim(settings: Settings) -> bytes:
    """The secret the form tokens derive from: the log-signing key file, so every worker process (and a
    restarted one) accepts them. A key in a PKCS#11 token cannot be read: then a random secret kept beside
    the data (``beheer-formgeheim`` in the data directory, created once, readable by the gateway's user only)."""
    sleutel = key_paths(settings)[0]
    if sleutel.is_file():
        return sleutel.read_bytes()
    pad = settings.data_dir / "beheer-formgeheim"
    if not pad.exists():
        pad.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tijdelijk = pad.with_name(f"{pad.name}.{os.getpid()}")
        fd = os.open(tijdelijk, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        try:
            os.link(tijdelijk, pad)  # the first process to get here decides; the others read its secret
        except FileExistsError:
            pass
        finally:
            tijdelijk.unlink()
    return pad.read_bytes()


class Console:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        logboek: Logboek,
        klok: Callable[[], datetime],
        routes: list[Route],
    ) -> None:
        """``routes``: the pages (``gateway.console.paginas.ROUTES``), given by the caller, since the pages
        import this module's types."""
        self.settings = settings
        self.db = db
        self.logboek = logboek
        self.klok = klok
        self.toegang = Toegang(settings, db)
        self.formsleutel = Formsleutel(_formgeheim(settings))
        self.jinja = Environment(
            loader=FileSystemLoader(HIER / "templates"), autoescape=select_autoescape(default=True), trim_blocks=True
        )
        self.statisch = {naam: (HIER / "static" / naam).read_bytes() for naam in STATISCH}
        self.routes = routes

    # --- the request ----------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        pad = environ.get("PATH_INFO", "") or "/"
        methode = environ.get("REQUEST_METHOD", "GET")
        if pad == PREFIX:
            return self._stuur(
                start_response, Antwoord(b"", "301 Moved Permanently", koppen=[("Location", "/beheer/")])
            )
        if pad.startswith(f"{PREFIX}/static/") and pad.rsplit("/", 1)[1] in STATISCH:
            naam = pad.rsplit("/", 1)[1]
            return self._stuur(start_response, Antwoord(self.statisch[naam], ctype=STATISCH[naam]))
        try:
            operator = self.toegang.operator(environ)
        except Weigering as w:
            return self._weiger(start_response, environ, w)
        except GatewayError:
            return self._stuur(start_response, self._tekst("503 Service Unavailable", "Database onbereikbaar."))
        route, delen = self._route(methode, pad)
        if route is None:
            return self._stuur(
                start_response, self.pagina(None, "fout.html", titel="Niet gevonden", status="404 Not Found")
            )
        if not operator.mag(route.recht):
            rol = Weigering(
                "rol", operator.naam, f"Uw rol ({operator.rol}) geeft geen toegang tot deze pagina of actie."
            )
            return self._weiger(start_response, environ, rol, operator)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING") or "").items()}
        verzoek = Verzoek(environ, operator, pad, query)
        if methode == "POST":
            try:
                verzoek.form = self._formulier(environ, operator)
            except Weigering as w:
                return self._weiger(start_response, environ, w, operator)
        try:
            antwoord = route.handler(self, verzoek, **delen)
            if antwoord.inzage is not None:
                self.inzage(operator, antwoord.operatie, verzoek, antwoord.inzage)
        except GatewayError:
            log.error("console: database unavailable")
            return self._stuur(start_response, self._tekst("503 Service Unavailable", "Database onbereikbaar."))
        self.logboek.misschien_checkpoint()
        return self._stuur(start_response, antwoord)

    def _route(self, methode: str, pad: str) -> tuple[Route | None, dict[str, str]]:
        for r in self.routes:
            m = r.patroon.fullmatch(pad)
            if m and r.methode == methode:
                return r, m.groupdict()
        return None, {}

    def _formulier(self, environ: dict[str, Any], operator: Operator) -> dict[str, list[str]]:
        # Browsers say where a form came from; one sent from another site is refused before its token.
        if environ.get("HTTP_SEC_FETCH_SITE", "same-origin") not in ("same-origin", "none"):
            raise Weigering("csrf", operator.naam, "Dit formulier komt niet van de beheerconsole.")
        try:
            lengte = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            lengte = 0
        if not 0 < lengte <= MAX_FORMULIER:
            raise Weigering("csrf", operator.naam, "Formulier ontbreekt of is te groot.")
        tekst = environ["wsgi.input"].read(lengte).decode("utf-8", "replace")
        form = urllib.parse.parse_qs(tekst, keep_blank_values=True)
        if not self.formsleutel.klopt(operator, (form.get("csrf") or [""])[0]):
            raise Weigering("csrf", operator.naam, "Het formulier is verlopen of ongeldig; laad de pagina opnieuw.")
        return form

    # --- the log ----------------------------------------------------------------------------------

    def regel(
        self, soort: str, operatie: str, actor: str, wat: dict[str, Any], foutcode: str | None = None
    ) -> Logregel:
        payload = json.dumps(wat, ensure_ascii=False, sort_keys=True).encode()
        return Logregel(self.logboek.nu(), soort, f"beheer {operatie}", actor[:80], payload, foutcode=foutcode)

    def schrijf(self, s: Session, verzoek: Verzoek, operatie: str, wat: dict[str, Any]) -> None:
        """An action's log entry, in the transaction of its change."""
        basis = {"methode": "POST", "pad": verzoek.pad, "rol": verzoek.operator.rol}
        self.logboek.schrijf(s, [self.regel("beheer", operatie, verzoek.operator.naam, {**basis, **wat})])

    def inzage(self, operator: Operator, operatie: str, verzoek: Verzoek, wat: dict[str, Any]) -> None:
        basis = {"methode": verzoek.environ.get("REQUEST_METHOD", "GET"), "pad": verzoek.pad, "rol": operator.rol}
        with self.db.transaction() as s:
            self.logboek.schrijf(s, [self.regel("inzage", operatie, operator.naam, {**basis, **wat})])

    def _weiger(
        self, start_response: StartResponse, environ: dict[str, Any], w: Weigering, operator: Operator | None = None
    ) -> Iterable[bytes]:
        wat = {"reden": w.reden, "methode": environ.get("REQUEST_METHOD", "GET"), "pad": environ.get("PATH_INFO")}
        if operator is not None:
            wat["rol"] = operator.rol
        foutcode = f"VIR-BEHEER-{w.reden.upper()}"
        try:
            with self.db.transaction() as s:
                self.logboek.schrijf(s, [self.regel("fout", "geweigerd", w.wie, wat, foutcode)])
        except GatewayError:
            log.error("console: could not log a refusal (%s)", w.reden)
        antwoord = self.pagina(
            operator, "geweigerd.html", titel="Geen toegang", status="403 Forbidden", uitleg=w.uitleg, code=foutcode
        )
        return self._stuur(start_response, antwoord)

    # --- rendering --------------------------------------------------------------------------------

    def pagina(
        self, operator: Operator | None, sjabloon: str, *, titel: str, status: str = "200 OK", **context: Any
    ) -> Antwoord:
        menu = [(k, n, h) for k, n, h, recht in MENU if operator is not None and operator.mag(recht)]
        html = self.jinja.get_template(sjabloon).render(
            titel=titel,
            operator=operator,
            menu=menu,
            ontwikkeling=self.toegang.ontwikkeling,
            csrf=self.formsleutel.maak(operator) if operator is not None else "",
            Recht=Recht,
            **context,
        )
        return Antwoord(html.encode(), status)

    @staticmethod
    def _tekst(status: str, tekst: str) -> Antwoord:
        return Antwoord(tekst.encode() + b"\n", status, "text/plain; charset=utf-8")

    @staticmethod
    def _stuur(start_response: StartResponse, a: Antwoord) -> Iterable[bytes]:
        koppen = [("Content-Type", a.ctype), ("Content-Length", str(len(a.body))), *KOPPEN, *a.koppen]
        start_response(a.status, koppen)
        return [a.body]
