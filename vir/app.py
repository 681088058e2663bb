"""The WSGI application of one worker process: the chain-partner service and the federation service on the
gateway's front half (``gateway.app``)."""

from __future__ import annotations

from federation.service import Federatie
from gateway import ns
from gateway.app import Dienstpunt, maak_app, maak_deps
from gateway.config import Settings
from gateway.ketenpartner import Ketenpartner
from gateway.waarneming import Waarneming
from store.db import Database

DIENSTEN = (
    Dienstpunt("/v1/ketenpartner", Ketenpartner, ns.KETENPARTNER, "ketenpartner.wsdl"),
    Dienstpunt("/v1/federatie", Federatie, ns.FEDERATIE, "federatie.wsdl"),
)


def create_app(settings: Settings, db: Database | None = None) -> Waarneming:
    """The application for one process. Create it after forking: it opens database connections."""
    return maak_app(maak_deps(settings, db), DIENSTEN)
