"""What verifying and signing share: the profile's constants, the fault codes, and element look-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureMethod,
)

from gateway import ns
from gateway.errors import FAULTS
from gateway.ns import WSSE

X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
X509_SKI = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"
THUMBPRINT_SHA1 = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1"
BASE64_BINARY = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
HANDTEKENINGMETHODEN = frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256})
DIGESTMETHODEN = frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512})

# WS-Addressing headers that must appear exactly once, and those that may appear at most once. Every
# one present must be signed: an unsigned ReplyTo or FaultTo would let a man in the middle redirect
# the answer.
WSA_VERPLICHT = ("MessageID", "Action", "To")
WSA_OPTIONEEL = ("RelatesTo", "ReplyTo", "From", "FaultTo")

# Attribute local names that XML Signature processors (signxml, xmlsec with registered ids, WSS4J)
# treat as an element id. A reference must resolve to exactly one element over all of them, so that
# no two libraries can disagree on which element a URI means.
ID_NAMEN = ("Id", "ID", "id")

# The messages live in the one fault table (gateway/errors.py); these are the codes this module raises.
FOUTEN: dict[str, tuple[str, str]] = {
    code: (FAULTS[code].nl, FAULTS[code].en)
    for code in (
        "VIR-WSS-ONTBREEKT",
        "VIR-WSS-HANDTEKENING-ONGELDIG",
        "VIR-WSS-ONVOLLEDIG",
        "VIR-WSS-TIJDSTEMPEL",
        "VIR-WSS-ALGORITME",
        "VIR-WSS-CERTIFICAAT",
        "VIR-WSA-ONGELDIG",
        "VIR-WSA-HERHAALD",
    )
}


class WssFout(Exception):
    """A request refused by ``verifieer``; ``code`` is a key of ``FOUTEN``.

    ``detail`` says which element or value was wrong, in English, for the server log. It is kept out
    of the fault text on purpose: telling a sender exactly which wrapping trick was noticed helps
    nobody but an attacker.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in FOUTEN:
            raise ValueError(f"unknown WS-Security fault code {code}")
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)

    @property
    def nl(self) -> str:
        return FOUTEN[self.code][0]

    @property
    def en(self) -> str:
        return FOUTEN[self.code][1]


@dataclass(frozen=True)
class Verificatie:
    """What a verified request proves: its signed addressing values and who signed it."""

    message_id: str
    action: str
    to: str
    relates_to: str | None
    onderwerp: str  # subject of the registered certificate, RFC 4514 (contains the OIN as serialNumber)


def q(namespace: str, naam: str) -> str:
    return f"{{{namespace}}}{naam}"


def met_zone(nu: datetime) -> datetime:
    if nu.tzinfo is None or nu.utcoffset() is None:
        raise ValueError("nu must be timezone-aware")
    return nu.astimezone(UTC)


def kinderen_van(el: etree._Element, tag: str | None = None) -> list[etree._Element]:
    """Element children only (comments and PIs are not SOAP structure), optionally of one tag."""
    return [c for c in el if isinstance(c.tag, str) and (tag is None or c.tag == tag)]


def tekst_van(el: etree._Element) -> str:
    return "".join(str(t) for t in el.itertext()).strip()


def op_id(root: etree._Element, waarde: str) -> list[etree._Element]:
    """Every element that carries ``waarde`` in any id-like attribute, in any namespace."""
    test = " or ".join(f"local-name()='{n}'" for n in ID_NAMEN)
    gevonden: Any = root.xpath(f"//*[@*[{test}] = $v]", v=waarde)
    return [e for e in gevonden if isinstance(e, etree._Element)]


def een_op_id(root: etree._Element, uri: str | None, wat: str) -> etree._Element:
    """Resolve a same-document ``#id`` reference to exactly one element, or refuse as ONVOLLEDIG."""
    if not uri or not uri.startswith("#") or uri.startswith("#xpointer(") or len(uri) < 2:
        raise WssFout("VIR-WSS-ONVOLLEDIG", f"{wat} has URI {uri!r}, not a same-document #id reference")
    elementen = op_id(root, uri[1:])
    if len(elementen) != 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", f"{wat} {uri} resolves to {len(elementen)} elements")
    return elementen[0]


def is_een_van(el: etree._Element, kandidaten: list[etree._Element]) -> bool:
    return any(el is k for k in kandidaten)


@dataclass
class Envelop:
    """The places in a SOAP envelope where a processor reads what the signature has to cover."""

    root: etree._Element
    soap: str
    header: etree._Element
    body: etree._Element
    security: etree._Element
    signature: etree._Element
    timestamp: etree._Element
    wsa: dict[str, etree._Element]

    def gedekt(self) -> list[etree._Element]:
        return [self.body, self.timestamp, *self.wsa.values()]

    def tokens(self) -> list[etree._Element]:
        return kinderen_van(self.security, q(WSSE, "BinarySecurityToken"))


def soap_ns(root: etree._Element) -> str | None:
    naam = etree.QName(root)
    if naam.localname == "Envelope" and naam.namespace in (ns.SOAP11_ENV, ns.SOAP12_ENV):
        return naam.namespace
    return None
