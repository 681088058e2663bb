"""Who is at the console, and what they may do.

An operator presents a client certificate issued directly by the operator CA (``VIR_BEHEER_CA``); its
SHA-256 fingerprint names one registered person with one role (``vir-gateway beheerder add``). Whatever
else arrives is refused, with a reason the refusal's log entry records:

    geen-certificaat       no client certificate at all
    vreemd-certificaat     a certificate from another CA (a chain partner's, say), expired or revoked
    onbekend-certificaat   an operator certificate that names no active registered person
    niet-ingericht         outside development mode without VIR_BEHEER_CA: the console is closed
    rol                    a person whose role lacks the right for the page or action
    csrf                   a POST without a valid form token, or sent from another site

Development mode (no TLS, loopback only) lets everyone in as the development operator, with every right.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from gateway.config import Settings
from gateway.identiteit import oin_van
from store import console as opslag
from store.db import Database


class Recht(enum.Enum):
    LEZEN = "lezen"  # overview, log search, entries, checkpoints, bundles
    BSN_ZOEKEN = "bsn-zoeken"  # search the log by BSN, with a recorded reason
    FEDERATIE = "federatie"  # peers, deliveries, dead letters
    INSTANTIES = "instanties"  # instanties and their profiles
    RAPPORTEN = "rapporten"  # management information
    WIJZIGEN = "wijzigen"  # change a profile, replay dead letters


class Rol(enum.Enum):
    BEHEERDER = "beheerder"
    AUDITOR = "auditor"
    PRIVACYFUNCTIONARIS = "privacyfunctionaris"


RECHTEN: dict[Rol, frozenset[Recht]] = {
    Rol.BEHEERDER: frozenset({Recht.LEZEN, Recht.FEDERATIE, Recht.INSTANTIES, Recht.RAPPORTEN, Recht.WIJZIGEN}),
    Rol.AUDITOR: frozenset({Recht.LEZEN, Recht.BSN_ZOEKEN, Recht.FEDERATIE, Recht.INSTANTIES, Recht.RAPPORTEN}),
    Rol.PRIVACYFUNCTIONARIS: frozenset({Recht.LEZEN, Recht.BSN_ZOEKEN}),
}
"""The access rules in one place (docs/console.md shows them as a table)."""

ONTWIKKELAAR = "ontwikkelaar (ontwikkelmodus)"


@dataclass(frozen=True)
class Operator:
    """The person behind a request; ``naam`` is the log entry's actor."""

    naam: str
    rol: str
    rechten: frozenset[Recht]
    vingerafdruk: str | None

    def mag(self, recht: Recht) -> bool:
        return recht in self.rechten


class Weigering(Exception):
    """A refused request: ``reden`` is one of the codes in the module docstring; ``wie`` what is known of
    the caller (an OIN, a certificate subject, a person), for the log; ``uitleg`` what the page says."""

    def __init__(self, reden: str, wie: str, uitleg: str) -> None:
        super().__init__(reden)
        self.reden = reden
        self.wie = wie
        self.uitleg = uitleg

    def __str__(self) -> str:
        return f"{self.reden} ({self.wie})"


def vingerafdruk(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _wie(cert: x509.Certificate) -> str:
    oin = oin_van(cert)
    if oin:
        return oin
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else "onbekend certificaat"


class Toegang:
    """Reads the operator of a request (loaded once per process: the CA bundle and its revocation list)."""

    def __init__(self, settings: Settings, db: Database, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.modus = settings.identiteit
        self.db = db
        self.proxies = frozenset(settings.proxy_adressen)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.cas: list[x509.Certificate] = []
        self.ingetrokken: set[tuple[bytes, int]] = set()
        if settings.beheer_ca is not None:
            self.cas = x509.load_pem_x509_certificates(settings.beheer_ca.read_bytes())
        if settings.beheer_crl is not None:
            crl = x509.load_pem_x509_crl(settings.beheer_crl.read_bytes())
            self.ingetrokken = {(crl.issuer.public_bytes(), r.serial_number) for r in crl}

    @property
    def ontwikkeling(self) -> bool:
        return self.modus == "ontwikkeling"

    def operator(self, environ: dict[str, Any]) -> Operator:
        if self.ontwikkeling:
            return Operator(ONTWIKKELAAR, "ontwikkelmodus", frozenset(Recht), None)
        if not self.cas:
            raise Weigering("niet-ingericht", "onbekend", "De beheerconsole is niet ingericht (VIR_BEHEER_CA).")
        cert = self._certificaat(environ)
        if cert is None:
            raise Weigering(
                "geen-certificaat", "onbekend", "Geen clientcertificaat: log in met uw beheerderscertificaat."
            )
        wie = _wie(cert)
        if not self._van_beheer_ca(cert):
            raise Weigering("vreemd-certificaat", wie, "Dit certificaat is geen geldig beheerderscertificaat.")
        afdruk = vingerafdruk(cert)
        with self.db.transaction(write=False) as s:
            persoon = opslag.beheerder_met_afdruk(s, afdruk)
        if persoon is None or not persoon.actief:
            raise Weigering("onbekend-certificaat", wie, "Dit certificaat hoort bij geen geregistreerde beheerder.")
        rol = Rol(persoon.rol)
        return Operator(persoon.naam, rol.value, RECHTEN[rol], afdruk)

    def _certificaat(self, environ: dict[str, Any]) -> x509.Certificate | None:
        if self.modus == "tls":
            sock = environ.get("gunicorn.socket")
            der = sock.getpeercert(binary_form=True) if sock is not None and hasattr(sock, "getpeercert") else None
            return x509.load_der_x509_certificate(der) if der else None
        if environ.get("REMOTE_ADDR") not in self.proxies:
            raise Weigering("vreemd-certificaat", "onbekend", "Verzoek niet via de vertrouwde proxy.")
        pem = environ.get("HTTP_X_SSL_CLIENT_CERT")
        if not pem:
            return None
        if environ.get("HTTP_X_SSL_CLIENT_VERIFY") != "SUCCESS":
            raise Weigering("vreemd-certificaat", "onbekend", "De proxy heeft het certificaat niet aanvaard.")
        try:
            return x509.load_pem_x509_certificate(urllib.parse.unquote(pem).encode())
        except ValueError as exc:
            raise Weigering("vreemd-certificaat", "onbekend", "Onleesbaar certificaat.") from exc

    def _van_beheer_ca(self, cert: x509.Certificate) -> bool:
        """Issued directly by the operator CA, valid now, not revoked (the handshake checked this too when
        the gateway terminates TLS; behind a proxy this is the check)."""
        nu = self.clock()
        if not cert.not_valid_before_utc <= nu <= cert.not_valid_after_utc:
            return False
        for ca in self.cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return (cert.issuer.public_bytes(), cert.serial_number) not in self.ingetrokken
        return False


class Formsleutel:
    """Tokens against cross-site request forgery: an HMAC over the operator and a time, under a key
    derived from the log-signing key, so every worker process (and a restarted one) accepts them."""

    GELDIG = 8 * 3600

    def __init__(self, geheim: bytes) -> None:
        self.sleutel = hashlib.sha256(b"vir-beheer-formsleutel\0" + geheim).digest()

    def _mac(self, operator: Operator, tijd: int) -> str:
        bericht = f"{operator.naam}\0{operator.vingerafdruk or ''}\0{tijd}".encode()
        return hmac.new(self.sleutel, bericht, hashlib.sha256).hexdigest()

    def maak(self, operator: Operator) -> str:
        tijd = int(time.time())
        return f"{tijd}.{self._mac(operator, tijd)}"

    def klopt(self, operator: Operator, token: str) -> bool:
        tijd_tekst, _, mac = token.partition(".")
        if not tijd_tekst.isdigit():
            return False
        tijd = int(tijd_tekst)
        if not 0 <= time.time() - tijd <= self.GELDIG:
            return False
        return hmac.compare_digest(mac, self._mac(operator, tijd))
