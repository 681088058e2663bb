"""WS-Security and WS-Addressing for Digikoppeling WUS (profile 2W-be-S): verify requests, sign responses.

A chain partner signs every request with the key of its PKIoverheid certificate (OASIS WSS 1.0/1.1,
X.509 token profile): one ``ds:Signature`` in the ``wsse:Security`` header covers the SOAP Body, the
``wsu:Timestamp`` and every WS-Addressing header. ``verifieer`` accepts such a request only if

* the signature uses the algorithms of the profile (RSA-SHA256 or ECDSA-SHA256, SHA-256/384/512
  digests, exclusive C14N), never SHA-1;
* the key that signed it is the certificate registered for the sending instantie, and the message
  itself names that certificate (BinarySecurityToken, KeyIdentifier or X509Data);
* the signature covers exactly the Body, the Timestamp and each WS-Addressing header *at the places
  where a SOAP processor reads them*: the element a reference resolves to must be the very element
  (by identity in the parsed tree) that is the Envelope's Body, the Security header's Timestamp or a
  direct WS-Addressing child of the Header. That is what defeats XML signature wrapping: a signed
  Body moved into a header with a new Body in its place, a second element with the same Id, or a
  reference to a copy all resolve to something that is not where Spyne will look;
* the Timestamp is within the window, and the MessageID was not seen before.

The cryptography is signxml's ``XMLVerifier``, told which algorithms, which certificate and where the
signature lives; the structural checks are ours, because signxml reports *what* was signed (as a
canonical copy) but not *where* it stood. Its canonical bytes are compared with those of the element
we found in place, so both must agree on the element.

``onderteken`` is the other direction: it adds WS-Addressing headers and a Security header (token,
Timestamp, signature) to a response, in a form that xmlsec1, zeep (python-xmlsec) and ``verifieer``
accept. ``docs/wss.md`` has the rules, the codes and an auditor's ``xmlsec1`` command line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
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
from signxml.algorithms import SignatureConstructionMethod
from signxml.exceptions import InvalidCertificate, SignXMLException

from gateway import ns
from gateway.errors import FAULTS
from gateway.xmlsafe import parse_untrusted, veilige_parser

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSA = "http://www.w3.org/2005/08/addressing"
DS = "http://www.w3.org/2000/09/xmldsig#"
WSA_ANONIEM = "http://www.w3.org/2005/08/addressing/anonymous"

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


def _q(namespace: str, naam: str) -> str:
    return f"{{{namespace}}}{naam}"


def _met_zone(nu: datetime) -> datetime:
    if nu.tzinfo is None or nu.utcoffset() is None:
        raise ValueError("nu must be timezone-aware")
    return nu.astimezone(UTC)


def _kinderen(el: etree._Element, tag: str | None = None) -> list[etree._Element]:
    """Element children only (comments and PIs are not SOAP structure), optionally of one tag."""
    return [c for c in el if isinstance(c.tag, str) and (tag is None or c.tag == tag)]


def _tekst(el: etree._Element) -> str:
    return "".join(str(t) for t in el.itertext()).strip()


def _op_id(root: etree._Element, waarde: str) -> list[etree._Element]:
    """Every element that carries ``waarde`` in any id-like attribute, in any namespace."""
    test = " or ".join(f"local-name()='{n}'" for n in ID_NAMEN)
    gevonden: Any = root.xpath(f"//*[@*[{test}] = $v]", v=waarde)
    return [e for e in gevonden if isinstance(e, etree._Element)]


def _een_op_id(root: etree._Element, uri: str | None, wat: str) -> etree._Element:
    """Resolve a same-document ``#id`` reference to exactly one element, or refuse as ONVOLLEDIG."""
    if not uri or not uri.startswith("#") or uri.startswith("#xpointer(") or len(uri) < 2:
        raise WssFout("VIR-WSS-ONVOLLEDIG", f"{wat} has URI {uri!r}, not a same-document #id reference")
    elementen = _op_id(root, uri[1:])
    if len(elementen) != 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", f"{wat} {uri} resolves to {len(elementen)} elements")
    return elementen[0]


def _is_een_van(el: etree._Element, kandidaten: list[etree._Element]) -> bool:
    return any(el is k for k in kandidaten)


@dataclass
class _Envelop:
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
        return _kinderen(self.security, _q(WSSE, "BinarySecurityToken"))


def _soap_ns(root: etree._Element) -> str | None:
    naam = etree.QName(root)
    if naam.localname == "Envelope" and naam.namespace in (ns.SOAP11_ENV, ns.SOAP12_ENV):
        return naam.namespace
    return None


def _lees_envelop(root: etree._Element) -> _Envelop:
    """Find the one Header, Body, Security header, Signature, Timestamp and WS-Addressing headers.

    Anything that makes "the" Body or "the" Timestamp ambiguous is refused here, before any
    cryptography, because the position checks later only mean something if each place is unique.
    """
    soap = _soap_ns(root)
    if soap is None:
        raise WssFout("VIR-WSS-ONTBREEKT", "not a SOAP 1.1 or 1.2 Envelope")
    kinderen = _kinderen(root)
    headers = [k for k in kinderen if k.tag == _q(soap, "Header")]
    bodies = [k for k in kinderen if k.tag == _q(soap, "Body")]
    if not headers:
        raise WssFout("VIR-WSS-ONTBREEKT", "no SOAP Header")
    # WS-I Basic Profile: Header first, then Body, nothing else (R1011); SOAP 1.2 allows nothing else either.
    if len(kinderen) != 2 or kinderen[0] is not headers[0] or len(bodies) != 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", "the Envelope must hold exactly one Header followed by one Body")
    header, body = headers[0], bodies[0]

    securities = _kinderen(header, _q(WSSE, "Security"))
    if not securities:
        raise WssFout("VIR-WSS-ONTBREEKT", "no wsse:Security header")
    if len(securities) > 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", "more than one wsse:Security header")
    security = securities[0]
    signatures = _kinderen(security, _q(DS, "Signature"))
    if not signatures:
        raise WssFout("VIR-WSS-ONTBREEKT", "no ds:Signature in the Security header")
    if len(signatures) > 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", "more than one ds:Signature in the Security header")

    wsa: dict[str, etree._Element] = {}
    for kind in _kinderen(header):
        naam = etree.QName(kind)
        if naam.namespace != WSA:
            continue
        if naam.localname in wsa:
            raise WssFout("VIR-WSA-ONGELDIG", f"wsa:{naam.localname} appears more than once")
        if naam.localname not in WSA_VERPLICHT + WSA_OPTIONEEL:
            raise WssFout("VIR-WSA-ONGELDIG", f"unknown WS-Addressing header wsa:{naam.localname}")
        wsa[naam.localname] = kind
    for verplicht in WSA_VERPLICHT:
        if verplicht not in wsa or not _tekst(wsa[verplicht]):
            raise WssFout("VIR-WSA-ONGELDIG", f"wsa:{verplicht} is missing or empty")

    timestamps = _kinderen(security, _q(WSU, "Timestamp"))
    if len(timestamps) != 1:
        raise WssFout("VIR-WSS-TIJDSTEMPEL", f"{len(timestamps)} wsu:Timestamp elements in the Security header")
    return _Envelop(root, soap, header, body, security, signatures[0], timestamps[0], wsa)


def _controleer_algoritmen(signature: etree._Element, cert: x509.Certificate) -> list[etree._Element]:
    """Refuse anything but the profile's algorithms; return the references.

    signxml is configured with the same sets, but checking here first gives the sender a precise
    code instead of a generic refusal, and pins down what signxml's defaults leave open: the
    transform chain of each reference (only one exclusive C14N; no XPath, XSLT, enveloped-signature
    or STR-Transform) and that the algorithm fits the registered key.
    """
    signed_info = signature.find(_q(DS, "SignedInfo"))
    if signed_info is None:
        raise WssFout("VIR-WSS-HANDTEKENING-ONGELDIG", "ds:Signature without ds:SignedInfo")
    c14n = signed_info.find(_q(DS, "CanonicalizationMethod"))
    if c14n is None or c14n.get("Algorithm") != EXC_C14N.value:
        waarde = None if c14n is None else c14n.get("Algorithm")
        raise WssFout("VIR-WSS-ALGORITME", f"SignedInfo canonicalization {waarde}")
    methode = signed_info.find(_q(DS, "SignatureMethod"))
    algoritme = None if methode is None else methode.get("Algorithm")
    toegestaan = {m.value: m for m in HANDTEKENINGMETHODEN}
    if algoritme not in toegestaan:
        raise WssFout("VIR-WSS-ALGORITME", f"signature method {algoritme}")
    sleutel = cert.public_key()
    past = (toegestaan[algoritme] is SignatureMethod.RSA_SHA256 and isinstance(sleutel, rsa.RSAPublicKey)) or (
        toegestaan[algoritme] is SignatureMethod.ECDSA_SHA256 and isinstance(sleutel, ec.EllipticCurvePublicKey)
    )
    if not past:
        raise WssFout("VIR-WSS-ALGORITME", f"signature method {algoritme} does not fit the registered key")

    referenties = _kinderen(signed_info, _q(DS, "Reference"))
    digests = {d.value for d in DIGESTMETHODEN}
    for ref in referenties:
        digest = ref.find(_q(DS, "DigestMethod"))
        if digest is None or digest.get("Algorithm") not in digests:
            waarde = None if digest is None else digest.get("Algorithm")
            raise WssFout("VIR-WSS-ALGORITME", f"digest method {waarde} for {ref.get('URI')}")
        transforms = ref.find(_q(DS, "Transforms"))
        stappen = [] if transforms is None else _kinderen(transforms)
        if [s.get("Algorithm") for s in stappen] != [EXC_C14N.value]:
            raise WssFout("VIR-WSS-ALGORITME", f"transforms of {ref.get('URI')} must be exactly exclusive C14N")
    return referenties


def _controleer_dekking(env: _Envelop, referenties: list[etree._Element]) -> list[etree._Element]:
    """Map each reference to the element it signs and require exactly the expected set, in place.

    Comparison is by identity with the elements found at their SOAP positions, never by Id value
    alone. The only extra reference tolerated is one to a BinarySecurityToken of this Security
    header (WSS4J and .NET often sign the token as well; it changes nothing we rely on).
    """
    verwacht = env.gedekt()
    extra = env.tokens()
    if len(referenties) > len(verwacht) + 1:
        # Refused before resolving anything: signxml copies the whole document once per reference.
        raise WssFout("VIR-WSS-ONVOLLEDIG", f"{len(referenties)} references, more than the profile has")
    getekend: list[etree._Element] = []
    for ref in referenties:
        el = _een_op_id(env.root, ref.get("URI"), "reference")
        if _is_een_van(el, getekend):
            raise WssFout("VIR-WSS-ONVOLLEDIG", f"element {ref.get('URI')} is referenced twice")
        if not (_is_een_van(el, verwacht) or _is_een_van(el, extra)):
            raise WssFout(
                "VIR-WSS-ONVOLLEDIG", f"reference {ref.get('URI')} signs {etree.QName(el).localname} outside its place"
            )
        if next(el.iter(etree.Comment), None) is not None:
            # Exclusive C14N without comments does not sign comments, so one can be slipped into a
            # signed text to split it: '1234<!---->56789' verifies, but lxml's .text reads '1234'.
            raise WssFout("VIR-WSS-ONVOLLEDIG", f"comment inside signed {etree.QName(el).localname}")
        getekend.append(el)
    for el in verwacht:
        if not _is_een_van(el, getekend):
            raise WssFout("VIR-WSS-ONVOLLEDIG", f"{etree.QName(el).localname} is not signed")
    return getekend


_NAAMATTRIBUTEN = {
    "serialNumber": NameOID.SERIAL_NUMBER,
    "SERIALNUMBER": NameOID.SERIAL_NUMBER,
    "emailAddress": NameOID.EMAIL_ADDRESS,
    "E": NameOID.EMAIL_ADDRESS,
    "organizationIdentifier": NameOID.ORGANIZATION_IDENTIFIER,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
}


def _zelfde_naam(tekst: str, naam: x509.Name) -> bool:
    try:
        gelezen = x509.Name.from_rfc4514_string(tekst, _NAAMATTRIBUTEN)
    except ValueError:
        return False
    return gelezen.rfc4514_string() == naam.rfc4514_string()


def _b64(tekst: str | None) -> bytes:
    try:
        return base64.b64decode("".join((tekst or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _ski(cert: x509.Certificate) -> bytes:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _x509data_claims(x509data: etree._Element, cert: x509.Certificate, der: bytes) -> list[bool]:
    claims: list[bool] = []
    certs = [_b64(c.text) for c in _kinderen(x509data, _q(DS, "X509Certificate"))]
    if certs:
        claims.append(der in certs)  # the leaf among a chain
    for serial in _kinderen(x509data, _q(DS, "X509IssuerSerial")):
        uitgever = serial.find(_q(DS, "X509IssuerName"))
        nummer = serial.find(_q(DS, "X509SerialNumber"))
        claims.append(
            uitgever is not None
            and nummer is not None
            and _zelfde_naam(_tekst(uitgever), cert.issuer)
            and _tekst(nummer) == str(cert.serial_number)
        )
    for ski in _kinderen(x509data, _q(DS, "X509SKI")):
        claims.append(_b64(ski.text) == _ski(cert))
    return claims


def _controleer_certificaat(env: _Envelop, cert: x509.Certificate, nu: datetime) -> None:
    """The message must name the registered certificate, and that certificate must be valid now.

    The signature is verified with the registered certificate whatever the message says, so this is
    not what makes a forged message fail; it makes a message signed with another (perhaps perfectly
    valid) certificate fail with the code that tells the sender what is wrong.
    """
    if not cert.not_valid_before_utc <= nu <= cert.not_valid_after_utc:
        raise WssFout("VIR-WSS-CERTIFICAAT", "the registered certificate is not valid at this time")
    der = cert.public_bytes(serialization.Encoding.DER)
    key_info = env.signature.find(_q(DS, "KeyInfo"))
    if key_info is None:
        raise WssFout("VIR-WSS-CERTIFICAAT", "ds:Signature without ds:KeyInfo")
    claims: list[bool] = []
    for str_ in _kinderen(key_info, _q(WSSE, "SecurityTokenReference")):
        for ref in _kinderen(str_, _q(WSSE, "Reference")):
            token = _een_op_id(env.root, ref.get("URI"), "SecurityTokenReference")
            if not _is_een_van(token, env.tokens()):
                raise WssFout("VIR-WSS-CERTIFICAAT", "the token reference does not point at a token in this header")
            if token.get("ValueType") != X509V3 or token.get("EncodingType", BASE64_BINARY) != BASE64_BINARY:
                raise WssFout("VIR-WSS-CERTIFICAAT", f"token of type {token.get('ValueType')}")
            claims.append(_b64(token.text) == der)
        for ki in _kinderen(str_, _q(WSSE, "KeyIdentifier")):
            soort, waarde = ki.get("ValueType"), _b64(ki.text)
            if soort == X509V3:
                claims.append(waarde == der)
            elif soort == X509_SKI:
                claims.append(waarde == _ski(cert))
            elif soort == THUMBPRINT_SHA1:
                # SHA-1 as a name for the certificate, not as a signature or digest algorithm.
                claims.append(waarde == hashlib.sha1(der, usedforsecurity=False).digest())
            else:
                claims.append(False)
        for x509data in _kinderen(str_, _q(DS, "X509Data")):
            claims += _x509data_claims(x509data, cert, der)
    for x509data in _kinderen(key_info, _q(DS, "X509Data")):
        claims += _x509data_claims(x509data, cert, der)
    if not claims:
        raise WssFout("VIR-WSS-CERTIFICAAT", "KeyInfo names no certificate")
    if not all(claims):
        raise WssFout("VIR-WSS-CERTIFICAAT", "KeyInfo names another certificate")


def _c14n(el: etree._Element, referentie: etree._Element) -> bytes:
    """The exclusive canonical form of ``el`` as the reference's transform defines it.

    Serialised and re-parsed first, exactly as signxml does, so the bytes are comparable with the
    ``signed_data`` signxml reports for the reference.
    """
    prefixen: list[str] | None = None
    lijst = referentie.find(f"{_q(DS, 'Transforms')}/{_q(DS, 'Transform')}/{_q(EXC_C14N.value, 'InclusiveNamespaces')}")
    if lijst is not None:
        prefixen = (lijst.get("PrefixList") or "").split()
    kopie = etree.fromstring(etree.tostring(el), veilige_parser())
    return etree.tostring(kopie, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=prefixen)


def _cryptografie(
    env: _Envelop,
    referenties: list[etree._Element],
    getekend: list[etree._Element],
    cert: x509.Certificate,
    nu: datetime,
) -> None:
    """signxml verifies the signature value and each digest; then its signed bytes must be ours in place."""
    config = SignatureConfiguration(
        require_x509=True,
        location=f"./{_q(env.soap, 'Header')}/{_q(WSSE, 'Security')}/",
        expect_references=len(referenties),
        signature_methods=HANDTEKENINGMETHODEN,
        digest_algorithms=DIGESTMETHODEN,
        verification_time=nu,
    )
    try:
        uitkomst = XMLVerifier().verify(env.root, x509_cert=cert, parser=veilige_parser(), expect_config=config)
    except InvalidCertificate as exc:
        raise WssFout("VIR-WSS-CERTIFICAAT", str(exc)) from exc
    except (SignXMLException, etree.LxmlError, ValueError) as exc:
        # InvalidSignature, InvalidDigest, a Signature that breaks the xmldsig schema, bad base64.
        raise WssFout("VIR-WSS-HANDTEKENING-ONGELDIG", str(exc)) from exc
    resultaten = uitkomst if isinstance(uitkomst, list) else [uitkomst]
    if len(resultaten) != len(getekend):
        raise WssFout("VIR-WSS-ONVOLLEDIG", "signxml verified another number of references")
    for resultaat, el, ref in zip(resultaten, getekend, referenties, strict=True):
        if resultaat.signed_data != _c14n(el, ref):
            raise WssFout("VIR-WSS-ONVOLLEDIG", f"signed data of {ref.get('URI')} is not the element in place")


_DATUMTIJD = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", re.ASCII)


def _lees_tijd(el: etree._Element | None, wat: str) -> datetime:
    """An xs:dateTime with an explicit zone (WSS: UTC, 'Z'); any precision of fractional seconds."""
    tekst = "" if el is None else _tekst(el)
    m = _DATUMTIJD.fullmatch(tekst)
    if m is None:
        raise WssFout("VIR-WSS-TIJDSTEMPEL", f"wsu:{wat} {tekst!r} is not a dateTime with a time zone")
    jaar, maand, dag, uur, minuut, seconde = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    try:
        if zone == "Z":
            tz = UTC
        else:
            teken = -1 if zone[0] == "-" else 1
            tz = timezone(teken * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        return datetime(jaar, maand, dag, uur, minuut, seconde, micro, tzinfo=tz).astimezone(UTC)
    except ValueError as exc:
        raise WssFout("VIR-WSS-TIJDSTEMPEL", f"wsu:{wat} {tekst!r} is not a valid time") from exc


def _controleer_tijd(timestamp: etree._Element, nu: datetime, venster: timedelta) -> None:
    """Created within ``venster`` of now on either side, and Expires (if given) still ahead.

    The window both tolerates clock skew (Created up to ``venster`` in the future) and bounds how
    long a MessageID has to be remembered for replay detection (see docs/wss.md).
    """
    created_el = _kinderen(timestamp, _q(WSU, "Created"))
    expires_el = _kinderen(timestamp, _q(WSU, "Expires"))
    if len(created_el) != 1 or len(expires_el) > 1:
        raise WssFout("VIR-WSS-TIJDSTEMPEL", "the Timestamp needs one Created and at most one Expires")
    created = _lees_tijd(created_el[0], "Created")
    if created > nu + venster:
        raise WssFout("VIR-WSS-TIJDSTEMPEL", f"Created {created.isoformat()} lies in the future")
    if expires_el:
        expires = _lees_tijd(expires_el[0], "Expires")
        if expires <= created:
            raise WssFout("VIR-WSS-TIJDSTEMPEL", "Expires is not after Created")
        if expires <= nu:
            raise WssFout("VIR-WSS-TIJDSTEMPEL", f"expired at {expires.isoformat()}")
    if created < nu - venster:
        raise WssFout("VIR-WSS-TIJDSTEMPEL", f"Created {created.isoformat()} lies before the window")


def verifieer(
    envelope: bytes,
    certificaat_pem: bytes,
    *,
    nu: datetime,
    venster: timedelta = timedelta(minutes=5),
    gezien: Callable[[str], bool],
) -> Verificatie:
    """Verify a signed request as received (bytes, before Spyne) against the sender's registered cert.

    Checks, in this order, each with its own code: envelope and headers present and unambiguous
    (ONTBREEKT, ONVOLLEDIG, WSA-ONGELDIG, TIJDSTEMPEL for a missing Timestamp); algorithms
    (ALGORITME); what the references point at (ONVOLLEDIG); which certificate the message names
    (CERTIFICAAT); the signature itself (HANDTEKENING-ONGELDIG); the Timestamp window (TIJDSTEMPEL);
    and last the replay check. ``gezien`` is called only for a message that passed everything else,
    so an unsigned or forged message can never plant a MessageID that would block the genuine one.

    Malformed XML or a DTD raises ``gateway.errors.XmlError`` from the shared hardened parser;
    a naive ``nu`` or an unreadable ``certificaat_pem`` raises ``ValueError`` (caller's mistakes).
    """
    nu = _met_zone(nu)
    if venster <= timedelta(0):
        raise ValueError("venster must be positive")
    cert = x509.load_pem_x509_certificate(certificaat_pem)
    root = parse_untrusted(envelope)

    env = _lees_envelop(root)
    referenties = _controleer_algoritmen(env.signature, cert)
    getekend = _controleer_dekking(env, referenties)
    _controleer_certificaat(env, cert, nu)
    _cryptografie(env, referenties, getekend, cert, nu)
    _controleer_tijd(env.timestamp, nu, venster)

    message_id = _tekst(env.wsa["MessageID"])
    if gezien(message_id):
        raise WssFout("VIR-WSA-HERHAALD", f"MessageID {message_id} seen before")
    relates_to = env.wsa.get("RelatesTo")
    return Verificatie(
        message_id=message_id,
        action=_tekst(env.wsa["Action"]),
        to=_tekst(env.wsa["To"]),
        relates_to=None if relates_to is None else _tekst(relates_to),
        onderwerp=cert.subject.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber"}),
    )


# --- signing ---------------------------------------------------------------------------------------


def _nieuw_id() -> str:
    return f"id-{uuid.uuid4()}"


def _zorg_voor_id(el: etree._Element) -> str:
    waarde = el.get(_q(WSU, "Id"))
    if not waarde:
        waarde = _nieuw_id()
        el.set(_q(WSU, "Id"), waarde)
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
    bestaand = _kinderen(header, _q(WSA, naam))
    if len(bestaand) > 1:
        raise ValueError(f"the envelope has more than one wsa:{naam}")
    el = bestaand[0] if bestaand else None
    if waarde is None and el is not None and _tekst(el):
        return
    if waarde is None:
        if standaard is None:
            if el is not None:
                header.remove(el)
            return
        waarde = standaard()
    if el is None:
        el = etree.SubElement(header, _q(WSA, naam))
    for kind in list(el):
        el.remove(kind)
    el.text = waarde


def onderteken(
    envelope: bytes,
    sleutel_pem: bytes,
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

    Raises ``ValueError`` for an envelope that cannot be signed (no SOAP envelope, already has a
    Security header, no Action to be found) or a key that does not belong to the certificate.
    """
    nu = _met_zone(nu)
    if geldig <= timedelta(0):
        raise ValueError("geldig must be positive")
    cert = x509.load_pem_x509_certificate(certificaat_pem)
    sleutel = serialization.load_pem_private_key(sleutel_pem, password=None)
    if isinstance(sleutel, rsa.RSAPrivateKey):
        methode = SignatureMethod.RSA_SHA256
    elif isinstance(sleutel, ec.EllipticCurvePrivateKey):
        methode = SignatureMethod.ECDSA_SHA256
    else:
        raise ValueError("only RSA and EC keys can sign under this profile")
    openbaar = serialization.PublicFormat.SubjectPublicKeyInfo
    if sleutel.public_key().public_bytes(serialization.Encoding.DER, openbaar) != cert.public_key().public_bytes(
        serialization.Encoding.DER, openbaar
    ):
        raise ValueError("the key does not belong to the certificate")

    root = parse_untrusted(envelope)
    soap = _soap_ns(root)
    if soap is None:
        raise ValueError("not a SOAP 1.1 or 1.2 Envelope")
    root = _met_voorvoegsels(root)
    headers = _kinderen(root, _q(soap, "Header"))
    bodies = _kinderen(root, _q(soap, "Body"))
    if len(headers) > 1 or len(bodies) != 1:
        raise ValueError("the Envelope must have at most one Header and exactly one Body")
    if headers:
        header = headers[0]
    else:
        header = etree.Element(_q(soap, "Header"))
        root.insert(0, header)
    if _kinderen(header, _q(WSSE, "Security")):
        raise ValueError("the envelope already has a wsse:Security header")

    _zet_wsa(header, "To", to, lambda: WSA_ANONIEM)
    _zet_wsa(header, "Action", action, None)
    _zet_wsa(header, "MessageID", None, lambda: f"urn:uuid:{uuid.uuid4()}")
    _zet_wsa(header, "RelatesTo", relates_to, None)
    if not _kinderen(header, _q(WSA, "Action")):
        raise ValueError("no Action: pass action= or put a wsa:Action header in the envelope")
    wsa = [k for k in _kinderen(header) if etree.QName(k).namespace == WSA]

    security = etree.SubElement(header, _q(WSSE, "Security"))
    security.set(_q(soap, "mustUnderstand"), "1" if soap == ns.SOAP11_ENV else "true")
    timestamp = etree.SubElement(security, _q(WSU, "Timestamp"))
    etree.SubElement(timestamp, _q(WSU, "Created")).text = _xsd_tijd(nu)
    etree.SubElement(timestamp, _q(WSU, "Expires")).text = _xsd_tijd(nu + geldig)
    token = etree.SubElement(
        security, _q(WSSE, "BinarySecurityToken"), {"ValueType": X509V3, "EncodingType": BASE64_BINARY}
    )
    token.text = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
    token_id = _zorg_voor_id(token)

    key_info = etree.Element(_q(DS, "KeyInfo"), nsmap={"ds": DS})
    str_ = etree.SubElement(key_info, _q(WSSE, "SecurityTokenReference"))
    etree.SubElement(str_, _q(WSSE, "Reference"), {"URI": f"#{token_id}", "ValueType": X509V3})

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
