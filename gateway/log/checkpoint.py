"""Signed checkpoints: the log's size and root at a moment, as an XML document with an enveloped
XML-DSig signature (signxml), verifiable by anyone with the certificate (also by ``xmlsec1``):

    <log:checkpoint xmlns:log="urn:nl:vir:gateway:log:v1">
      <log:uitgever>00000001000000000000</log:uitgever>   the gateway's OIN
      <log:grootte>1234</log:grootte>                      number of entries covered
      <log:wortel>base64 SHA-256</log:wortel>               RFC 9162 root of entries 0 … grootte-1
      <log:tijdstip>2026-11-23T10:00:00.000000Z</log:tijdstip>
      <ds:Signature>…</ds:Signature>                       RSA-SHA256 or ECDSA-SHA256, exclusive C14N
    </log:checkpoint>

Algorithms are an allow-list (SHA-256 only). After verifying, only the document signxml says was
signed is read. The signing key and certificate are loaded once; development mode generates an
RSA-2048 pair with a self-signed certificate on first start. The key may instead live in a PKCS#11
token (``VIR_LOG_KEY=pkcs11:…``, ``gateway/log/token.py``); the certificate stays a PEM file.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import InvalidInput, InvalidSignature

from gateway import ns
from gateway.errors import ServerError
from gateway.log import token

_ALLOWED = SignatureConfiguration(
    require_x509=True,
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


def _l(tag: str) -> str:
    return f"{{{ns.LOG}}}{tag}"


@dataclass(frozen=True)
class CheckpointData:
    uitgever: str
    grootte: int
    wortel: bytes
    tijdstip: str


class CheckpointError(Exception):
    """A checkpoint that does not verify; ``str`` says why."""


class Signer:
    def __init__(self, key_pem: bytes, cert_pem: bytes, *, key: Any = None) -> None:
        """``key``: an already loaded key (a token key) instead of ``key_pem``."""
        # Any: the key types signxml accepts differ between cryptography versions' stubs.
        self.key: Any = key if key is not None else serialization.load_pem_private_key(key_pem, password=None)
        self.cert_pem = cert_pem
        is_ec = isinstance(self.key, ec.EllipticCurvePrivateKey) or getattr(self.key, "is_ec", False)
        self._signer = XMLSigner(
            signature_algorithm=SignatureMethod.ECDSA_SHA256 if is_ec else SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )

    @classmethod
    def from_files(cls, key_path: Path, cert_path: Path) -> Signer:
        return cls(key_path.read_bytes(), cert_path.read_bytes())

    def sign(self, data: CheckpointData) -> bytes:
        root = etree.Element(_l("checkpoint"), nsmap={"log": ns.LOG})
        etree.SubElement(root, _l("uitgever")).text = data.uitgever
        etree.SubElement(root, _l("grootte")).text = str(data.grootte)
        etree.SubElement(root, _l("wortel")).text = base64.b64encode(data.wortel).decode()
        etree.SubElement(root, _l("tijdstip")).text = data.tijdstip
        return self.sign_element(root)

    def sign_element(self, root: etree._Element) -> bytes:
        """Any log document (a checkpoint, a cosignature) with an enveloped signature, as bytes."""
        signed = self._signer.sign(root, key=self.key, cert=self.cert_pem.decode())
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify_element(xml: bytes, cert_pem: bytes, tag: str) -> etree._Element:
    """Verify a log document's signature with the certificate; the signed element, which must be ``tag``."""
    try:
        result: Any = XMLVerifier().verify(xml, x509_cert=cert_pem.decode(), expect_config=_ALLOWED)
    except (InvalidSignature, InvalidInput, etree.XMLSyntaxError, ValueError) as exc:
        raise CheckpointError(f"signature does not verify: {exc}") from exc
    signed = result.signed_xml
    if signed is None or signed.tag != _l(tag):
        raise CheckpointError(f"the signed document is not a {tag}")
    return signed


def verify(xml: bytes, cert_pem: bytes) -> CheckpointData:
    """Verify a checkpoint's signature with the certificate and return what it states."""
    signed = verify_element(xml, cert_pem, "checkpoint")
    try:
        return CheckpointData(
            uitgever=str(signed.findtext(_l("uitgever"))),
            grootte=int(signed.findtext(_l("grootte")) or ""),
            wortel=base64.b64decode(signed.findtext(_l("wortel")) or "", validate=True),
            tijdstip=str(signed.findtext(_l("tijdstip"))),
        )
    except ValueError as exc:
        raise CheckpointError(f"malformed checkpoint: {exc}") from exc


def ensure_development_keys(directory: Path, common_name: str) -> tuple[Path, Path, bool]:
    """The development key pair in ``directory``, generated on first use. Returns (key, cert, created)."""
    key_path, cert_path = directory / "log-signing-key.pem", directory / "log-signing-cert.pem"
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path, False
    # private to the gateway's user, and so is the data directory it may create with it
    directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.mkdir(exist_ok=True, mode=0o700)
    # Several processes may start at once: one generates, the others wait and use its pair.
    with open(directory / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if key_path.exists() and cert_path.exists():
            return key_path, cert_path, False
        return (*_generate(key_path, cert_path, common_name), True)


def _generate(key_path: Path, cert_path: Path, common_name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vir-gateway development"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def load_signer(key_path: Path, cert_path: Path) -> Signer:
    """The signer for a PEM key file, or for a key in a PKCS#11 token when ``key_path`` is a
    ``pkcs11:`` URI (the token is opened on the first signature)."""
    try:
        if token.is_token_uri(key_path):
            cert_pem = cert_path.read_bytes()
            return Signer(b"", cert_pem, key=token.TokenSleutel(token.parse_uri(str(key_path)), cert_pem))
        return Signer.from_files(key_path, cert_path)
    except (OSError, ValueError) as exc:
        shown = "the PKCS#11 key" if token.is_token_uri(key_path) else str(key_path)
        raise ServerError(f"checkpoint key unusable: {shown}") from exc
