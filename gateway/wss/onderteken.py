"""Signing an answer: WS-Addressing headers and a Security header (token, Timestamp, signature)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import (
    DigestAlgorithm,
    SignatureMethod,
    XMLSigner,
)
from signxml.algorithms import SignatureConstructionMethod

from gateway import ns
from gateway.log import token
from gateway.log.token import TokenSleutel
from gateway.ns import DS, WSA, WSA_ANONIEM, WSSE, WSU
from gateway.wss.basis import (
    BASE64_BINARY,
    EXC_C14N,
    X509V3,
    kinderen_van,
    met_zone,
    q,
    soap_ns,
    tekst_van,
)
from gateway.xmlsafe import parse_untrusted

# --- signing ---------------------------------------------------------------------------------------


def _nieuw_id() -> str:
    return f"id-{uuid.uuid4()}"


def _zorg_voor_id(el: etree._Element) -> str:
    waarde = el.get(q(WSU, "Id"))
    if not waarde:
        waarde = _nieuw_id()
        el.set(q(WSU, "Id"), waarde)
    return waarde


def _xsd_tijd(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _met_voorvoegsels(root: etree._Element) -> etree._Element:
    """The same Envelope, with wsse/wsu/wsa declared on it so the new headers use readable prefixes.

    lxml cannot add a declaration to an existing element, so the root is rebuilt and the children
    moved; the old root's declarations are all kept, so QNames in attribute values still resolve.
    """
    bestaand: dict[str | None, str] = dict(root.nsmap)
    extra: dict[str | None, str] = {
        p: u
        for p, u in (("wsse", WSSE), ("wsu", WSU), ("wsa", WSA))
        if p not in bestaand and u not in bestaand.values()
    }
    if not extra:
        return root
    nsmap: Any = {**bestaand, **extra}  # lxml-stubs cannot express a mapping with the None (default) prefix
    attrib: Any = dict(root.attrib)
    nieuw = etree.Element(root.tag, attrib=attrib, nsmap=nsmap)
    nieuw.text = root.text
    for kind in list(root):
        nieuw.append(kind)
    return nieuw


def _zet_wsa(header: etree._Element, naam: str, waarde: str | None, standaard: Callable[[], str] | None) -> None:
    """Set a WS-Addressing header: ``waarde`` wins, else an existing non-empty value, else ``standaard``."""
    bestaand = kinderen_van(header, q(WSA, naam))
    if len(bestaand) > 1:
        raise ValueError(f"the envelope has more than one wsa:{naam}")
    el = bestaand[0] if bestaand else None
    if waarde is None and el is not None and tekst_van(el):
        return
    if waarde is None:
        if standaard is None:
            if el is not None:
                header.remove(el)
            return
        waarde = standaard()
    if el is None:
        el = etree.SubElement(header, q(WSA, naam))
    for kind in list(el):
        el.remove(kind)
    el.text = waarde


def laad_sleutel(pad: Path | str, certificaat_pem: bytes) -> bytes | TokenSleutel:
    """What ``onderteken`` signs with: the PEM key file's bytes, or for a ``pkcs11:`` URI (RFC 7512,
    ``gateway/log/token.py``) the key in that token, opened on its first signature."""
    if token.is_token_uri(pad):
        return TokenSleutel(token.parse_uri(str(pad)), certificaat_pem)
    return Path(pad).read_bytes()


def onderteken(
    envelope: bytes,
    sleutel_pem: bytes | TokenSleutel,
    certificaat_pem: bytes,
    *,
    nu: datetime,
    geldig: timedelta = timedelta(minutes=5),
    relates_to: str | None = None,
    action: str | None = None,
    to: str | None = None,
) -> bytes:
    """Sign a SOAP 1.1 or 1.2 envelope the way ``verifieer`` (and the profile) expects.

    Adds the WS-Addressing headers (a new ``urn:uuid`` MessageID unless one is there; RelatesTo,
    Action and To from the arguments or kept from the envelope; To defaults to the anonymous
    address, the usual reply target on a synchronous binding), then one ``wsse:Security`` header with
    mustUnderstand, a Timestamp (``nu`` to ``nu + geldig``), the certificate as BinarySecurityToken
    and a signature (RSA-SHA256 or ECDSA-SHA256 after the key, SHA-256 digests, exclusive C14N)
    over the Body, the Timestamp and every WS-Addressing header. The KeyInfo points at the token
    with a SecurityTokenReference, as WSS 1.0 prescribes.

    ``sleutel_pem``: a PEM private key, or a key in a PKCS#11 token (``laad_sleutel``), which signs
    there; the token checks on opening that its key belongs to the certificate it was given
    (``ServerError`` if not, or when the token cannot be used).

    Raises ``ValueError`` for an envelope that cannot be signed (no SOAP envelope, already has a
    Security header, no Action to be found) or a key that does not belong to the certificate.
    """
    nu = met_zone(nu)
    if geldig <= timedelta(0):
        raise ValueError("geldig must be positive")
    cert = x509.load_pem_x509_certificate(certificaat_pem)
    sleutel: Any
    if isinstance(sleutel_pem, TokenSleutel):
        # It signs in the token, which checks on opening that its key belongs to the certificate the
        # TokenSleutel was given; that must be this one (compared below), as for a PEM key.
        sleutel = sleutel_pem
        methode = SignatureMethod.ECDSA_SHA256 if sleutel.is_ec else SignatureMethod.RSA_SHA256
        gedeeld = sleutel.public_key()
    else:
        sleutel = serialization.load_pem_private_key(sleutel_pem, password=None)
        if isinstance(sleutel, rsa.RSAPrivateKey):
            methode = SignatureMethod.RSA_SHA256
        elif isinstance(sleutel, ec.EllipticCurvePrivateKey):
            methode = SignatureMethod.ECDSA_SHA256
        else:
            raise ValueError("only RSA and EC keys can sign under this profile")
        gedeeld = sleutel.public_key()
    openbaar = serialization.PublicFormat.SubjectPublicKeyInfo
    if gedeeld.public_bytes(serialization.Encoding.DER, openbaar) != cert.public_key().public_bytes(
        serialization.Encoding.DER, openbaar
    ):
        raise ValueError("the key does not belong to the certificate")

    root = parse_untrusted(envelope)
    soap = soap_ns(root)
    if soap is None:
        raise ValueError("not a SOAP 1.1 or 1.2 Envelope")
    root = _met_voorvoegsels(root)
    headers = kinderen_van(root, q(soap, "Header"))
    bodies = kinderen_van(root, q(soap, "Body"))
    if len(headers) > 1 or len(bodies) != 1:
        raise ValueError("the Envelope must have at most one Header and exactly one Body")
    if headers:
        header = headers[0]
    else:
        header = etree.Element(q(soap, "Header"))
        root.insert(0, header)
    if kinderen_van(header, q(WSSE, "Security")):
        raise ValueError("the envelope already has a wsse:Security header")

    _zet_wsa(header, "To", to, lambda: WSA_ANONIEM)
    _zet_wsa(header, "Action", action, None)
    _zet_wsa(header, "MessageID", None, lambda: f"urn:uuid:{uuid.uuid4()}")
    _zet_wsa(header, "RelatesTo", relates_to, None)
    if not kinderen_van(header, q(WSA, "Action")):
        raise ValueError("no Action: pass action= or put a wsa:Action header in the envelope")
    wsa = [k for k in kinderen_van(header) if etree.QName(k).namespace == WSA]

    security = etree.SubElement(header, q(WSSE, "Security"))
    security.set(q(soap, "mustUnderstand"), "1" if soap == ns.SOAP11_ENV else "true")
    timestamp = etree.SubElement(security, q(WSU, "Timestamp"))
    etree.SubElement(timestamp, q(WSU, "Created")).text = _xsd_tijd(nu)
    etree.SubElement(timestamp, q(WSU, "Expires")).text = _xsd_tijd(nu + geldig)
    token = etree.SubElement(
        security, q(WSSE, "BinarySecurityToken"), {"ValueType": X509V3, "EncodingType": BASE64_BINARY}
    )
    token.text = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
    token_id = _zorg_voor_id(token)

    key_info = etree.Element(q(DS, "KeyInfo"), nsmap={"ds": DS})
    str_ = etree.SubElement(key_info, q(WSSE, "SecurityTokenReference"))
    etree.SubElement(str_, q(WSSE, "Reference"), {"URI": f"#{token_id}", "ValueType": X509V3})

    uris = [f"#{_zorg_voor_id(el)}" for el in (bodies[0], timestamp, *wsa)]
    signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=methode,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXC_C14N,
    )
    signature = signer.sign(root, key=sleutel, reference_uri=uris, key_info=key_info)
    security.append(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
