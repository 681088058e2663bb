"""A signing key in a PKCS#11 token (an HSM, a smart card, SoftHSM2 in tests), named by an RFC 7512 URI:

    pkcs11:token=vir-log;object=checkpoint?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/vir/pin

    token / object / id   which token, and which private key on it (label and/or CKA_ID, %-encoded)
    module-path           the vendor's PKCS#11 library (default: $VIR_PKCS11_MODULE)
    pin-value | pin-source=file:F   the user PIN (default: $VIR_PKCS11_PIN)

The private key never leaves the token: ``TokenSleutel`` offers the one method signxml calls on a key,
``sign(data, padding, algorithm)`` for RSA PKCS#1 v1.5 and ``sign(data, signature_algorithm)`` for
ECDSA. For RSA the token hashes and signs (CKM_SHA256_RSA_PKCS); for ECDSA this process hashes and
the token signs the digest (CKM_ECDSA: every token has it, CKM_ECDSA_SHA256 not; the digest is no
secret). SHA-256 only, as for PEM keys. The library is loaded and the session opened on first use,
in the process that signs (a PKCS#11 session does not survive ``fork``), and a lock keeps one
signature at a time per session. On opening, the token signs a fixed text that must verify with the
certificate's public key: a key that does not belong to the certificate is refused before it signs
anything.
python-pkcs11 is needed only when such a URI is configured (``pip install 'vir-gateway[hsm]'``).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from gateway.errors import ServerError

PREFIX = "pkcs11:"


@dataclass(frozen=True)
class TokenUri:
    token: str | None
    object: str | None
    id: bytes | None
    module: str
    pin: str | None

    def __str__(self) -> str:
        # Never the PIN.
        return f"pkcs11:token={self.token};object={self.object}"


def is_token_uri(value: str | Path | None) -> bool:
    return value is not None and str(value).startswith(PREFIX)


def parse_uri(uri: str, env: dict[str, str] | None = None) -> TokenUri:
    """RFC 7512's path attributes (token, object, id) and query attributes (module-path, pin-value,
    pin-source); anything else is refused rather than ignored."""
    env = dict(os.environ) if env is None else env
    if not uri.startswith(PREFIX):
        raise ServerError(f"not a PKCS#11 URI: {uri[:40]}")
    path, _, query = uri[len(PREFIX) :].partition("?")
    attrs: dict[str, str] = {}
    for part in filter(None, path.split(";")):
        k, eq, v = part.partition("=")
        if not eq or k not in ("token", "object", "id", "type"):
            raise ServerError(f"unsupported PKCS#11 URI attribute {k!r}")
        attrs[k] = v
    for part in filter(None, query.split("&")):
        k, eq, v = part.partition("=")
        if not eq or k not in ("module-path", "pin-value", "pin-source"):
            raise ServerError(f"unsupported PKCS#11 URI query attribute {k!r}")
        attrs[k] = v
    if attrs.get("type", "private") != "private":
        raise ServerError("the PKCS#11 URI must name a private key (type=private)")
    pin = unquote(attrs["pin-value"]) if "pin-value" in attrs else None
    if "pin-source" in attrs:
        source = unquote(attrs["pin-source"]).removeprefix("file:")
        try:
            pin = Path(source).read_text().strip()
        except OSError as exc:
            raise ServerError(f"the PKCS#11 PIN file cannot be read: {source}") from exc
    module = unquote(attrs.get("module-path", "")) or env.get("VIR_PKCS11_MODULE", "")
    if not module:
        raise ServerError("the PKCS#11 URI needs module-path (or VIR_PKCS11_MODULE)")
    if "object" not in attrs and "id" not in attrs:
        raise ServerError("the PKCS#11 URI must name the key: object=LABEL or id=%xx…")
    return TokenUri(
        token=unquote(attrs["token"]) if "token" in attrs else None,
        object=unquote(attrs["object"]) if "object" in attrs else None,
        id=unquote_to_bytes(attrs["id"]) if "id" in attrs else None,
        module=module,
        pin=pin if pin is not None else env.get("VIR_PKCS11_PIN"),
    )


class TokenSleutel:
    """A private key in a PKCS#11 token, as signxml uses a ``cryptography`` private key."""

    def __init__(self, uri: TokenUri, cert_pem: bytes) -> None:
        self.uri = uri
        public = x509.load_pem_x509_certificate(cert_pem).public_key()
        if isinstance(public, rsa.RSAPublicKey):
            self.is_ec = False
        elif isinstance(public, ec.EllipticCurvePublicKey):
            self.is_ec = True
        else:
            raise ServerError("a token key must be RSA or ECDSA")
        self.key_size = public.key_size
        self._public = public
        self._lock = threading.Lock()
        self._key: Any = None
        self._pid = -1

    def _open(self) -> Any:
        try:
            import pkcs11
            from pkcs11 import Mechanism, ObjectClass
        except ImportError as exc:
            raise ServerError("a PKCS#11 key needs python-pkcs11: pip install 'vir-gateway[hsm]'") from exc
        if self._key is not None and self._pid == os.getpid():
            return self._key
        try:
            lib = pkcs11.lib(self.uri.module)
            token = lib.get_token(token_label=self.uri.token) if self.uri.token else lib.get_token()
            try:
                session = token.open(user_pin=self.uri.pin)
            except pkcs11.exceptions.UserAlreadyLoggedIn:
                # PKCS#11 logs an application in per token, not per session: another key object of this
                # process is logged in already, and a new session shares that login.
                session = token.open()
            kwargs: dict[str, Any] = {"object_class": ObjectClass.PRIVATE_KEY}
            if self.uri.object:
                kwargs["label"] = self.uri.object
            if self.uri.id:
                kwargs["id"] = self.uri.id
            key: Any = session.get_key(**kwargs)
            mechanism = Mechanism.ECDSA if self.is_ec else Mechanism.SHA256_RSA_PKCS
            proef = key.sign(hashlib.sha256(_PROEF).digest() if self.is_ec else _PROEF, mechanism=mechanism)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            raise ServerError(f"the PKCS#11 key {self.uri} cannot be used: {type(exc).__name__}") from exc
        if not self._past(proef):
            raise ServerError(f"the PKCS#11 key {self.uri} does not belong to the certificate")
        self._mechanism = mechanism
        self._session, self._key, self._pid = session, key, os.getpid()
        return key

    def _past(self, proef: bytes) -> bool:
        """Whether the token's signature over ``_PROEF`` verifies with the certificate's public key: the
        key/certificate check a PEM key gets by comparing public keys, for a key whose public half the
        token need not hold (a private key object carries no EC point)."""
        try:
            if isinstance(self._public, ec.EllipticCurvePublicKey):
                self._public.verify(_der(proef), _PROEF, ec.ECDSA(hashes.SHA256()))
            else:
                self._public.verify(proef, _PROEF, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True

    def controleer(self) -> None:
        """Open the token now (PIN, key, certificate check) rather than on the first signature;
        ``ServerError`` when it cannot be used."""
        with self._lock:
            self._open()

    def public_key(self) -> Any:
        return self._public

    def sign(
        self,
        data: bytes,
        padding: Any = None,
        algorithm: Any = None,
        signature_algorithm: Any = None,
    ) -> bytes:
        """Sign with the token; the same contract as ``RSAPrivateKey.sign`` / ``EllipticCurvePrivateKey.sign``."""
        hash_alg = signature_algorithm.algorithm if signature_algorithm is not None else algorithm
        if not isinstance(hash_alg, hashes.SHA256):
            raise ServerError("token keys sign with SHA-256 only")
        if not self.is_ec and not isinstance(padding, _PKCS1v15):
            raise ServerError("token RSA keys sign with PKCS#1 v1.5 only")
        with self._lock:
            key = self._open()
            try:
                raw: bytes = key.sign(hashlib.sha256(data).digest() if self.is_ec else data, mechanism=self._mechanism)
            except Exception as exc:
                raise ServerError(f"the PKCS#11 token refused to sign: {type(exc).__name__}") from exc
        return _der(raw) if self.is_ec else raw


def _der(raw: bytes) -> bytes:
    """A token's ECDSA signature (r || s) as DER, what cryptography's contract (and signxml) expect."""
    half = len(raw) // 2
    return utils.encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


_PKCS1v15 = padding.PKCS1v15
_PROEF = b"vir-gateway: does this token key belong to the certificate?"
