"""Signing what we send to peers and push endpoints (Digikoppeling WUS 2W-be-S), as a zeep plugin.

Configured with ``VIR_WSS_KEY`` (a PEM file, or a ``pkcs11:`` URI of a key in a token) and ``VIR_WSS_CERT``:
every outgoing message then carries WS-Addressing headers and a WS-Security signature over Body, Timestamp
and those headers (``gateway.wss.onderteken``), which the receiver verifies against the certificate it
registered for us. The plugin runs before zeep's history plugin, so the message log holds the envelope
exactly as signed and sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lxml import etree
from zeep import Plugin

from gateway.config import Settings
from gateway.log.token import TokenSleutel
from gateway.wss import onderteken
from gateway.wss.onderteken import laad_sleutel


class Ondertekenen(Plugin):
    def __init__(self, sleutel_pem: bytes | TokenSleutel, certificaat_pem: bytes) -> None:
        self.sleutel = sleutel_pem
        self.certificaat = certificaat_pem

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> tuple[Any, Any]:
        actie = getattr(operation, "soapaction", None) or operation.name
        ondertekend = onderteken(
            etree.tostring(envelope),
            self.sleutel,
            self.certificaat,
            nu=datetime.now(UTC),
            action=actie,
            to=(binding_options or {}).get("address"),
        )
        return etree.fromstring(ondertekend), http_headers


def plugins(settings: Settings) -> list[Any]:
    """The signing plugin when a WS-Security key is configured, else none."""
    if settings.wss_key is None or settings.wss_cert is None:
        return []
    cert_pem = settings.wss_cert.read_bytes()
    return [Ondertekenen(laad_sleutel(settings.wss_key, cert_pem), cert_pem)]
