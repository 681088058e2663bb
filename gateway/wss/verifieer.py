"""Verifying a signed request (see the package docstring for the rules)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (
    SignatureConfiguration,
    SignatureMethod,
    XMLVerifier,
)
from signxml.exceptions import InvalidCertificate, SignXMLException

from gateway.ns import DS, WSA, WSSE, WSU
from gateway.wss.basis import (
    BASE64_BINARY,
    DIGESTMETHODEN,
    EXC_C14N,
    HANDTEKENINGMETHODEN,
    THUMBPRINT_SHA1,
    WSA_OPTIONEEL,
    WSA_VERPLICHT,
    X509_SKI,
    X509V3,
    Envelop,
    Verificatie,
    WssFout,
    een_op_id,
    is_een_van,
    kinderen_van,
    met_zone,
    q,
    soap_ns,
    tekst_van,
)
from gateway.xmlsafe import parse_untrusted, veilige_parser


def _lees_envelop(root: etree._Element) -> Envelop:
    """Find the one Header, Body, Security header, Signature, Timestamp and WS-Addressing headers.

    Anything that makes "the" Body or "the" Timestamp ambiguous is refused here, before any
    cryptography, because the position checks later only mean something if each place is unique.
    """
    soap = soap_ns(root)
    if soap is None:
        raise WssFout("VIR-WSS-ONTBREEKT", "not a SOAP 1.1 or 1.2 Envelope")
    kinderen = kinderen_van(root)
    headers = [k for k in kinderen if k.tag == q(soap, "Header")]
    bodies = [k for k in kinderen if k.tag == q(soap, "Body")]
    if not headers:
        raise WssFout("VIR-WSS-ONTBREEKT", "no SOAP Header")
    # WS-I Basic Profile: Header first, then Body, nothing else (R1011); SOAP 1.2 allows nothing else either.
    if len(kinderen) != 2 or kinderen[0] is not headers[0] or len(bodies) != 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", "the Envelope must hold exactly one Header followed by one Body")
    header, body = headers[0], bodies[0]

    securities = kinderen_van(header, q(WSSE, "Security"))
    if not securities:
        raise WssFout("VIR-WSS-ONTBREEKT", "no wsse:Security header")
    if len(securities) > 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", "more than one wsse:Security header")
    security = securities[0]
    signatures = kinderen_van(security, q(DS, "Signature"))
    if not signatures:
        raise WssFout("VIR-WSS-ONTBREEKT", "no ds:Signature in the Security header")
    if len(signatures) > 1:
        raise WssFout("VIR-WSS-ONVOLLEDIG", "more than one ds:Signature in the Security header")

    wsa: dict[str, etree._Element] = {}
    for kind in kinderen_van(header):
        naam = etree.QName(kind)
        if naam.namespace != WSA:
            continue
        if naam.localname in wsa:
            raise WssFout("VIR-WSA-ONGELDIG", f"wsa:{naam.localname} appears more than once")
        if naam.localname not in WSA_VERPLICHT + WSA_OPTIONEEL:
            raise WssFout("VIR-WSA-ONGELDIG", f"unknown WS-Addressing header wsa:{naam.localname}")
        wsa[naam.localname] = kind
    for verplicht in WSA_VERPLICHT:
        if verplicht not in wsa or not tekst_van(wsa[verplicht]):
            raise WssFout("VIR-WSA-ONGELDIG", f"wsa:{verplicht} is missing or empty")

    timestamps = kinderen_van(security, q(WSU, "Timestamp"))
    if len(timestamps) != 1:
        raise WssFout("VIR-WSS-TIJDSTEMPEL", f"{len(timestamps)} wsu:Timestamp elements in the Security header")
    return Envelop(root, soap, header, body, security, signatures[0], timestamps[0], wsa)


def _controleer_algoritmen(signature: etree._Element, cert: x509.Certificate) -> list[etree._Element]:
    """Refuse anything but the profile's algorithms; return the references.

    signxml is configured with the same sets, but checking here first gives the sender a precise
    code instead of a generic refusal, and pins down what signxml's defaults leave open: the
    transform chain of each reference (only one exclusive C14N; no XPath, XSLT, enveloped-signature
    or STR-Transform) and that the algorithm fits the registered key.
    """
    signed_info = signature.find(q(DS, "SignedInfo"))
    if signed_info is None:
        raise WssFout("VIR-WSS-HANDTEKENING-ONGELDIG", "ds:Signature without ds:SignedInfo")
    c14n = signed_info.find(q(DS, "CanonicalizationMethod"))
    if c14n is None or c14n.get("Algorithm") != EXC_C14N.value:
        waarde = None if c14n is None else c14n.get("Algorithm")
        raise WssFout("VIR-WSS-ALGORITME", f"SignedInfo canonicalization {waarde}")
    methode = signed_info.find(q(DS, "SignatureMethod"))
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

    referenties = kinderen_van(signed_info, q(DS, "Reference"))
    digests = {d.value for d in DIGESTMETHODEN}
    for ref in referenties:
        digest = ref.find(q(DS, "DigestMethod"))
        if digest is None or digest.get("Algorithm") not in digests:
            waarde = None if digest is None else digest.get("Algorithm")
            raise WssFout("VIR-WSS-ALGORITME", f"digest method {waarde} for {ref.get('URI')}")
        transforms = ref.find(q(DS, "Transforms"))
        stappen = [] if transforms is None else kinderen_van(transforms)
        if [s.get("Algorithm") for s in stappen] != [EXC_C14N.value]:
            raise WssFout("VIR-WSS-ALGORITME", f"transforms of {ref.get('URI')} must be exactly exclusive C14N")
    return referenties


def _controleer_dekking(env: Envelop, referenties: list[etree._Element]) -> list[etree._Element]:
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
        el = een_op_id(env.root, ref.get("URI"), "reference")
        if is_een_van(el, getekend):
            raise WssFout("VIR-WSS-ONVOLLEDIG", f"element {ref.get('URI')} is referenced twice")
        if not (is_een_van(el, verwacht) or is_een_van(el, extra)):
            raise WssFout(
                "VIR-WSS-ONVOLLEDIG", f"reference {ref.get('URI')} signs {etree.QName(el).localname} outside its place"
            )
        if next(el.iter(etree.Comment), None) is not None:
            # Exclusive C14N without comments does not sign comments, so one can be slipped into a
            # signed text to split it: '1234<!---->56789' verifies, but lxml's .text reads '1234'.
            raise WssFout("VIR-WSS-ONVOLLEDIG", f"comment inside signed {etree.QName(el).localname}")
        getekend.append(el)
    for el in verwacht:
        if not is_een_van(el, getekend):
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
    certs = [_b64(c.text) for c in kinderen_van(x509data, q(DS, "X509Certificate"))]
    if certs:
        claims.append(der in certs)  # the leaf among a chain
    for serial in kinderen_van(x509data, q(DS, "X509IssuerSerial")):
        uitgever = serial.find(q(DS, "X509IssuerName"))
        nummer = serial.find(q(DS, "X509SerialNumber"))
        claims.append(
            uitgever is not None
            and nummer is not None
            and _zelfde_naam(tekst_van(uitgever), cert.issuer)
            and tekst_van(nummer) == str(cert.serial_number)
        )
    for ski in kinderen_van(x509data, q(DS, "X509SKI")):
        claims.append(_b64(ski.text) == _ski(cert))
    return claims


def _controleer_certificaat(env: Envelop, cert: x509.Certificate, nu: datetime) -> None:
    """The message must name the registered certificate, and that certificate must be valid now.

    The signature is verified with the registered certificate whatever the message says, so this is
    not what makes a forged message fail; it makes a message signed with another (perhaps perfectly
    valid) certificate fail with the code that tells the sender what is wrong.
    """
    if not cert.not_valid_before_utc <= nu <= cert.not_valid_after_utc:
        raise WssFout("VIR-WSS-CERTIFICAAT", "the registered certificate is not valid at this time")
    der = cert.public_bytes(serialization.Encoding.DER)
    key_info = env.signature.find(q(DS, "KeyInfo"))
    if key_info is None:
        raise WssFout("VIR-WSS-CERTIFICAAT", "ds:Signature without ds:KeyInfo")
    claims: list[bool] = []
    for str_ in kinderen_van(key_info, q(WSSE, "SecurityTokenReference")):
        for ref in kinderen_van(str_, q(WSSE, "Reference")):
            token = een_op_id(env.root, ref.get("URI"), "SecurityTokenReference")
            if not is_een_van(token, env.tokens()):
                raise WssFout("VIR-WSS-CERTIFICAAT", "the token reference does not point at a token in this header")
            if token.get("ValueType") != X509V3 or token.get("EncodingType", BASE64_BINARY) != BASE64_BINARY:
                raise WssFout("VIR-WSS-CERTIFICAAT", f"token of type {token.get('ValueType')}")
            claims.append(_b64(token.text) == der)
        for ki in kinderen_van(str_, q(WSSE, "KeyIdentifier")):
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
        for x509data in kinderen_van(str_, q(DS, "X509Data")):
            claims += _x509data_claims(x509data, cert, der)
    for x509data in kinderen_van(key_info, q(DS, "X509Data")):
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
    lijst = referentie.find(f"{q(DS, 'Transforms')}/{q(DS, 'Transform')}/{q(EXC_C14N.value, 'InclusiveNamespaces')}")
    if lijst is not None:
        prefixen = (lijst.get("PrefixList") or "").split()
    kopie = etree.fromstring(etree.tostring(el), veilige_parser())
    return etree.tostring(kopie, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=prefixen)


def _cryptografie(
    env: Envelop,
    referenties: list[etree._Element],
    getekend: list[etree._Element],
    cert: x509.Certificate,
    nu: datetime,
) -> None:
    """signxml verifies the signature value and each digest; then its signed bytes must be ours in place."""
    config = SignatureConfiguration(
        require_x509=True,
        location=f"./{q(env.soap, 'Header')}/{q(WSSE, 'Security')}/",
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
    tekst = "" if el is None else tekst_van(el)
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
    created_el = kinderen_van(timestamp, q(WSU, "Created"))
    expires_el = kinderen_van(timestamp, q(WSU, "Expires"))
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
    nu = met_zone(nu)
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

    message_id = tekst_van(env.wsa["MessageID"])
    if gezien(message_id):
        raise WssFout("VIR-WSA-HERHAALD", f"MessageID {message_id} seen before")
    relates_to = env.wsa.get("RelatesTo")
    return Verificatie(
        message_id=message_id,
        action=tekst_van(env.wsa["Action"]),
        to=tekst_van(env.wsa["To"]),
        relates_to=None if relates_to is None else tekst_van(relates_to),
        onderwerp=cert.subject.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber"}),
    )
