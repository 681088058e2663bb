"""Revocation of client certificates: every CRL in ``VIR_TLS_CRL``, trusted only as far as it verifies.

The file may hold any number of PEM CRLs (one per CA, as CSPs publish them), in any order. A CRL counts
only when its signature verifies against the public key of a CA in ``VIR_TLS_CA`` whose subject is the
CRL's issuer; any other CRL in the file is ignored (and said so in the server log). For a certificate
issued by CA *X* the answer is:

- revoked (``VIR-CERTIFICAAT-ONGELDIG``) when X's CRL lists its serial number;
- unknown (``VIR-CERTIFICAAT-STATUS-ONBEKEND``) when the file holds no verified CRL of X, or X's newest
  CRL is past its ``nextUpdate`` (a stale list could miss a revocation: refused, never assumed good);
- good otherwise.

The file is read again when it changes (modification time, size or inode), without a restart. Replace it
atomically (write a new file, then rename it over the old one); a file that cannot be read or parsed leaves
no valid CRL, so every certificate's status is unknown until a good file is in place.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.hashes import SHA256

from gateway.errors import TransportError

log = logging.getLogger(__name__)

_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.S)


@dataclass(frozen=True)
class _Lijst:
    ca: x509.Certificate
    crl: x509.CertificateRevocationList


def lees_crls(data: bytes, cas: list[x509.Certificate]) -> list[_Lijst]:
    """Every CRL in ``data`` whose signature verifies against a CA of ``cas`` with the CRL's issuer as its
    subject; of several for one CA, the one issued last."""
    nieuwste: dict[bytes, _Lijst] = {}
    for blok in _PEM_CRL.findall(data):
        try:
            crl = x509.load_pem_x509_crl(blok)
        except ValueError:
            log.error("VIR_TLS_CRL: a CRL that cannot be parsed is ignored")
            continue
        uitgever = next(
            (ca for ca in cas if ca.subject == crl.issuer and crl.is_signature_valid(ca.public_key())),  # type: ignore[arg-type]
            None,
        )
        if uitgever is None:
            log.error("VIR_TLS_CRL: ignored a CRL of %s: no CA in VIR_TLS_CA signed it", crl.issuer.rfc4514_string())
            continue
        sleutel = uitgever.fingerprint(SHA256())
        eerder = nieuwste.get(sleutel)
        if eerder is None or crl.last_update_utc > eerder.crl.last_update_utc:
            nieuwste[sleutel] = _Lijst(uitgever, crl)
    return list(nieuwste.values())


class Intrekkingen:
    """The CRLs of ``pad``, reloaded when the file changes; ``controleer`` answers for one certificate."""

    def __init__(self, pad: Path, cas: list[x509.Certificate]) -> None:
        self.pad = pad
        self.cas = cas
        self._lock = threading.Lock()
        self._versie: tuple[int, int, int] | None = None
        self._lijsten: list[_Lijst] = []

    def _actueel(self) -> list[_Lijst]:
        try:
            st = os.stat(self.pad)
            versie = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            versie = (-1, -1, -1)
        with self._lock:
            if versie != self._versie:
                try:
                    self._lijsten = lees_crls(self.pad.read_bytes(), self.cas)
                except OSError:
                    log.error("VIR_TLS_CRL cannot be read: no certificate's revocation status is known")
                    self._lijsten = []
                self._versie = versie
            return self._lijsten

    def controleer(self, cert: x509.Certificate, ca: x509.Certificate, nu: dt.datetime) -> None:
        """Refuse ``cert`` (issued by ``ca``) when it is revoked or its status is unknown."""
        lijst = next((lijst for lijst in self._actueel() if lijst.ca == ca), None)
        if lijst is None:
            raise TransportError(code="VIR-CERTIFICAAT-STATUS-ONBEKEND")
        volgende = lijst.crl.next_update_utc
        if volgende is None or volgende < nu:
            raise TransportError(code="VIR-CERTIFICAAT-STATUS-ONBEKEND")
        if lijst.crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise TransportError(code="VIR-CERTIFICAAT-ONGELDIG")
