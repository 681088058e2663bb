"""Who is calling: the instantie's OIN from its client certificate (Digikoppeling, PKIoverheid style).

Three ways, chosen by configuration (``gateway.config``):

- **TLS at the gateway** (``VIR_TLS_CERT``/``VIR_TLS_KEY``/``VIR_TLS_CA``, optionally ``VIR_TLS_CRL``):
  gunicorn does the handshake and refuses any client without a certificate from the CA bundle that is
  valid now and not revoked; the verified certificate is read from the connection.
- **TLS at a reverse proxy** (``VIR_PROXY_ADRESSEN``, with ``VIR_TLS_CA`` and optionally ``VIR_TLS_CRL``):
  nginx verifies the client and forwards the certificate (``X-SSL-Client-Cert``, URL-escaped PEM) and
  its verdict (``X-SSL-Client-Verify``). Those headers are believed only from the configured proxy
  addresses, and the certificate is checked again here (issuer, validity, revocation): a
  misconfigured proxy does not open the door.
- **Development** (neither): the OIN in ``stuurgegevens/zender`` is taken as it stands; ``serve`` then
  listens on loopback only.

The OIN is the subject's serialNumber (OID 2.5.4.5) in the form PKIoverheid certificates for Digikoppeling
carry it: exactly one serialNumber attribute whose value is the 20-digit OIN and nothing else. Any other
value (a prefix, a 21st digit, spaces, two serialNumbers) is refused (``VIR-CERTIFICAAT-OIN-ONGELDIG``),
never cut to size: a longer number could end in someone else's OIN.

Revocation (``VIR_TLS_CRL``): ``gateway.crl``, every CRL in the file, verified, reloaded on change.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from gateway.config import Settings
from gateway.crl import Intrekkingen
from gateway.errors import TransportError

_OIN = re.compile(r"[0-9]{20}")


def oin_van(cert: x509.Certificate) -> str | None:
    """The OIN of the subject's one serialNumber when it is exactly 20 digits, else None."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(attrs) != 1:
        return None
    waarde = attrs[0].value if isinstance(attrs[0].value, str) else attrs[0].value.decode(errors="replace")
    return waarde if _OIN.fullmatch(waarde) else None


def certificaat_fout(pad: Path, oin: str) -> str | None:
    """Why the PEM file ``pad`` cannot be the signing certificate of ``oin`` (an instantie or a peer), or None."""
    try:
        cert = x509.load_pem_x509_certificate(pad.read_bytes())
    except (OSError, ValueError) as exc:
        return f"cannot read a PEM certificate from {pad} ({type(exc).__name__})"
    if oin_van(cert) != oin:
        return f"the certificate's subject serialNumber is {oin_van(cert)}, not the OIN {oin}"
    return None


def _weiger(code: str) -> TransportError:
    return TransportError(code=code)


class Identificatie:
    """Reads the authenticated OIN of a request; ``None`` in development mode."""

    def __init__(self, settings: Settings, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.modus = settings.identiteit
        self.proxies = frozenset(settings.proxy_adressen)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.cas: list[x509.Certificate] = []
        self.ook_beheer_ca = settings.beheer_ca is not None
        if settings.tls_ca is not None:
            self.cas = x509.load_pem_x509_certificates(settings.tls_ca.read_bytes())
        self.intrekkingen = Intrekkingen(settings.tls_crl, self.cas) if settings.tls_crl is not None else None

    def oin(self, environ: dict[str, Any]) -> str | None:
        if self.modus == "ontwikkeling":
            return None
        if self.modus == "tls":
            sock = environ.get("gunicorn.socket")
            der = sock.getpeercert(binary_form=True) if sock is not None and hasattr(sock, "getpeercert") else None
            if not der:
                raise _weiger("VIR-CERTIFICAAT-ONGELDIG")  # only when the operator CA made it optional
            cert = x509.load_der_x509_certificate(der)
            if self.intrekkingen is not None or self.ook_beheer_ca:
                # The handshake checked the CRL as it was when the worker started; this is the file as it is
                # now. And with an operator CA the handshake trusts that CA too: a chain partner's certificate
                # must come from VIR_TLS_CA itself.
                self._controleer(cert)
        else:
            if environ.get("REMOTE_ADDR") not in self.proxies:
                raise _weiger("VIR-PROXY-NIET-VERTROUWD")
            pem = environ.get("HTTP_X_SSL_CLIENT_CERT")
            if environ.get("HTTP_X_SSL_CLIENT_VERIFY") != "SUCCESS" or not pem:
                raise _weiger("VIR-CERTIFICAAT-ONGELDIG")
            try:
                cert = x509.load_pem_x509_certificate(urllib.parse.unquote(pem).encode())
            except ValueError as exc:
                raise _weiger("VIR-CERTIFICAAT-ONGELDIG") from exc
            self._controleer(cert)
        oin = oin_van(cert)
        if oin is None:
            raise _weiger("VIR-CERTIFICAAT-OIN-ONGELDIG")
        return oin

    def _controleer(self, cert: x509.Certificate) -> None:
        """What the proxy (or the handshake) should have checked, checked again: issuer, validity, and the
        revocation lists as they are now."""
        nu = self.clock()
        if not cert.not_valid_before_utc <= nu <= cert.not_valid_after_utc:
            raise _weiger("VIR-CERTIFICAAT-ONGELDIG")
        for ca in self.cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue  # not this CA: try the next one in the bundle
            if self.intrekkingen is not None:
                self.intrekkingen.controleer(cert, ca, nu)
            return
        raise _weiger("VIR-CERTIFICAAT-ONGELDIG")
