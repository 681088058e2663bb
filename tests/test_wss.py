"""WS-Security / WS-Addressing (Digikoppeling WUS 2W-be-S): interoperability and refusals.

Keys and certificates are made here, per test session, with ``cryptography``: a CA and a client
certificate whose subject serialNumber is an OIN. Nothing secret is committed.

Interop is shown against independent implementations: zeep with python-xmlsec signs requests
(built from the committed WSDL) that ``verifieer`` must accept, and the ``xmlsec1`` command line and
zeep's ``verify_envelope`` must accept what ``onderteken`` produces.
"""

from __future__ import annotations

import base64
import copy
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import xmlsec
import zeep
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import CanonicalizationMethod, XMLSigner
from signxml.algorithms import SignatureConstructionMethod
from zeep.exceptions import SignatureVerificationFailed
from zeep.wsa import WsAddressingPlugin
from zeep.wsdl.utils import etree_to_string
from zeep.wsse import signature as zeep_signature
from zeep.wsse.utils import WSU as WSU_MAKER
from zeep.wsse.utils import get_security_header

from gateway.errors import XmlError
from gateway.wss import FOUTEN, WSA, WSSE, WSU, Verificatie, WssFout, onderteken, verifieer

ROOT = Path(__file__).resolve().parent.parent
WSDL = ROOT / "wsdl" / "ketenpartner.wsdl"
KP = "urn:nl:vir:gateway:ketenpartner:v1"
G = "urn:nl:vir:gateway:gegevens:v1"
DS = "http://www.w3.org/2000/09/xmldsig#"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ADRES = "http://localhost:8080/v1/ketenpartner"  # the soap:address in the committed WSDL
OIN_CLIENT = "00000001111111111000"
OIN_GATEWAY = "00000001000000000000"
NS = {"wsse": WSSE, "wsu": WSU, "wsa": WSA, "ds": DS, "s11": SOAP11, "s12": SOAP12, "g": G, "kp": KP}


# --- keys and certificates ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sleutelpaar:
    sleutel_pem: bytes
    cert_pem: bytes
    sleutel_pad: Path
    cert_pad: Path


def _maak(
    map_: Path,
    naam: str,
    onderwerp: x509.Name,
    uitgever: tuple[Any, x509.Name] | None,
    *,
    ca: bool = False,
    ec_sleutel: bool = False,
) -> tuple[Any, x509.Certificate, Sleutelpaar]:
    sleutel: Any = ec.generate_private_key(ec.SECP256R1()) if ec_sleutel else rsa.generate_private_key(65537, 2048)
    nu = datetime.now(UTC)
    ondertekenaar, naam_uitgever = uitgever if uitgever is not None else (sleutel, onderwerp)
    cert = (
        x509.CertificateBuilder()
        .subject_name(onderwerp)
        .issuer_name(naam_uitgever)
        .public_key(sleutel.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nu - timedelta(days=1))
        .not_valid_after(nu + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(sleutel.public_key()), critical=False)
        .sign(ondertekenaar, hashes.SHA256())
    )
    sleutel_pem = sleutel.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (map_ / f"{naam}.key").write_bytes(sleutel_pem)
    (map_ / f"{naam}.pem").write_bytes(cert_pem)
    return sleutel, cert, Sleutelpaar(sleutel_pem, cert_pem, map_ / f"{naam}.key", map_ / f"{naam}.pem")


@dataclass(frozen=True)
class Pki:
    client: Sleutelpaar  # the chain partner's registered certificate
    ander: Sleutelpaar  # a valid certificate from the same CA, registered to nobody here
    gateway: Sleutelpaar  # ours, for signing responses
    gateway_ec: Sleutelpaar


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    map_ = tmp_path_factory.mktemp("pki")
    ca_naam = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA vir-gateway")])
    ca_sleutel, _, _ = _maak(map_, "ca", ca_naam, None, ca=True)

    def onder_ca(naam: str, cn: str, oin: str, **kw: bool) -> Sleutelpaar:
        onderwerp = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, oin),
            ]
        )
        return _maak(map_, naam, onderwerp, (ca_sleutel, ca_naam), **kw)[2]

    return Pki(
        client=onder_ca("client", "ecd.gemeente.test", OIN_CLIENT),
        ander=onder_ca("ander", "ander.test", "00000001999999999000"),
        gateway=onder_ca("gateway", "vir.test", OIN_GATEWAY),
        gateway_ec=onder_ca("gateway-ec", "vir-ec.test", OIN_GATEWAY, ec_sleutel=True),
    )


# --- zeep as the chain partner's client -----------------------------------------------------------


class Tijdstempel:
    """A zeep wsse step that puts a wsu:Timestamp in the Security header.

    zeep's signers sign a Timestamp when there is one but never add one; listed before the signer
    in ``Client(wsse=[...])`` this makes zeep produce what the profile requires.
    """

    def __init__(self, created: datetime, geldig: timedelta = timedelta(minutes=5)) -> None:
        self.created, self.geldig = created, geldig

    @staticmethod
    def _tijd(t: datetime) -> str:
        return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
        security = get_security_header(envelope)
        security.append(
            WSU_MAKER.Timestamp(
                WSU_MAKER.Created(self._tijd(self.created)), WSU_MAKER.Expires(self._tijd(self.created + self.geldig))
            )
        )
        return envelope, headers

    def verify(self, envelope: Any) -> Any:
        return envelope


@contextmanager
def _ook_wsa_ondertekenen(envelope: Any) -> Iterator[None]:
    """Make zeep's signer add a reference for each WS-Addressing header, right after the Timestamp.

    Stock zeep signs only the Body and the Timestamp; 2W-be-S also wants the addressing headers.
    Everything else (template, KeyInfo, BinarySecurityToken) stays zeep's own code.
    """
    origineel = zeep_signature._sign_node

    def sign_node(ctx: Any, signature: Any, target: Any, digest_method: Any = None) -> None:
        origineel(ctx, signature, target, digest_method)
        if target.tag == f"{{{WSU}}}Timestamp":
            for header in envelope.find(f"{{{etree.QName(envelope).namespace}}}Header"):
                if isinstance(header.tag, str) and etree.QName(header).namespace == WSA:
                    origineel(ctx, signature, header, digest_method)

    with mock.patch.object(zeep_signature, "_sign_node", sign_node):
        yield


class DigikoppelingBinarySignature(zeep_signature.BinarySignature):
    def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
        with _ook_wsa_ondertekenen(envelope):
            return super().apply(envelope, headers)


class DigikoppelingSignature(zeep_signature.Signature):
    """zeep's non-binary variant: the certificate and IssuerSerial inside the SecurityTokenReference."""

    def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
        with _ook_wsa_ondertekenen(envelope):
            return super().apply(envelope, headers)


class Verstuurd(Exception):
    """Raised by the recording transport: the request was captured and not sent."""


class OpnemendeTransport(zeep.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.verzonden: list[bytes] = []

    def post_xml(self, address: str, envelope: Any, headers: Any) -> Any:
        self.verzonden.append(etree_to_string(envelope))  # exactly what zeep would put on the wire
        raise Verstuurd(address)


def zeep_verzoek(
    paar: Sleutelpaar | None,
    *,
    nu: datetime,
    soap12: bool = False,
    ondertekenaar: type[zeep_signature.Signature] = DigikoppelingBinarySignature,
    sha256: bool = True,
    tijdstempel: bool = True,
    geldig: timedelta = timedelta(minutes=5),
    wsa: bool = True,
) -> bytes:
    """A Ping request as zeep builds and signs it from the committed WSDL, captured before sending."""
    stappen: list[Any] = []
    if tijdstempel:
        stappen.append(Tijdstempel(nu, geldig))
    if paar is not None:
        methoden = (
            {"signature_method": xmlsec.Transform.RSA_SHA256, "digest_method": xmlsec.Transform.SHA256}
            if sha256
            else {}
        )
        stappen.append(ondertekenaar(str(paar.sleutel_pad), str(paar.cert_pad), **methoden))
    transport = OpnemendeTransport()
    client = zeep.Client(
        str(WSDL), transport=transport, wsse=stappen or None, plugins=[WsAddressingPlugin()] if wsa else []
    )
    binding = "KetenpartnerSoap12Binding" if soap12 else "KetenpartnerSoap11Binding"
    service = client.create_service(f"{{{KP}}}{binding}", ADRES)
    stuurgegevens = {
        "berichtId": str(uuid.uuid4()),
        "tijdstip": nu,
        "zender": {"oin": OIN_CLIENT, "applicatie": "test-ECD"},
        "ontvanger": {"oin": OIN_GATEWAY},
    }
    with pytest.raises(Verstuurd):
        service.Ping(stuurgegevens=stuurgegevens)
    (verzonden,) = transport.verzonden
    return verzonden


# --- helpers --------------------------------------------------------------------------------------


def nooit_gezien() -> Callable[[str], bool]:
    """A replay store as the owner will have one: records each MessageID, answers whether it was known."""
    bekend: set[str] = set()

    def gezien(message_id: str) -> bool:
        if message_id in bekend:
            return True
        bekend.add(message_id)
        return False

    return gezien


def weigering(envelope: bytes, paar: Sleutelpaar, nu: datetime, **kw: Any) -> str:
    with pytest.raises(WssFout) as info:
        verifieer(envelope, paar.cert_pem, nu=nu, gezien=kw.pop("gezien", nooit_gezien()), **kw)
    return info.value.code


def bewerk(envelope: bytes, wijziging: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(envelope)
    wijziging(root)
    return etree.tostring(root)


def een(root: etree._Element, xpath: str) -> etree._Element:
    gevonden: Any = root.xpath(xpath, namespaces=NS)
    assert len(gevonden) == 1, xpath
    return gevonden[0]


def ouder(el: etree._Element) -> etree._Element:
    p = el.getparent()
    assert p is not None
    return p


def env_ns(root: etree._Element) -> str:
    return str(etree.QName(root).namespace)


def header(root: etree._Element) -> etree._Element:
    return een(root, "/*/*[local-name()='Header']")


def body(root: etree._Element) -> etree._Element:
    return een(root, "/*/*[local-name()='Body']")


@pytest.fixture
def nu() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- (1) zeep-signed requests are accepted --------------------------------------------------------


@pytest.mark.parametrize("soap12", [False, True], ids=["soap11", "soap12"])
def test_zeep_request_from_the_wsdl_verifies(pki: Pki, nu: datetime, soap12: bool) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu, soap12=soap12)
    root = etree.fromstring(verzoek)
    assert env_ns(root) == (SOAP12 if soap12 else SOAP11)
    assert een(root, "//ds:SignatureMethod").get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

    v = verifieer(verzoek, pki.client.cert_pem, nu=nu + timedelta(seconds=2), gezien=nooit_gezien())

    assert isinstance(v, Verificatie)
    assert v.action == f"{KP}/Ping"
    assert v.to == ADRES
    assert v.message_id.startswith("urn:uuid:")
    assert v.message_id == een(root, "//wsa:MessageID").text
    assert v.relates_to is None
    assert f"serialNumber={OIN_CLIENT}" in v.onderwerp


def test_zeep_non_binary_signature_with_issuer_serial_verifies(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu, ondertekenaar=DigikoppelingSignature)
    root = etree.fromstring(verzoek)
    een(root, "//ds:KeyInfo/wsse:SecurityTokenReference/ds:X509Data/ds:X509IssuerSerial")
    assert verifieer(verzoek, pki.client.cert_pem, nu=nu, gezien=nooit_gezien()).action == f"{KP}/Ping"


def test_zeep_signature_also_verifies_with_zeep_itself(pki: Pki, nu: datetime) -> None:
    # Sanity check of the fixture: what we feed verifieer is a valid signature by zeep's own reading.
    verzoek = zeep_verzoek(pki.client, nu=nu)
    zeep_signature.verify_envelope(etree.fromstring(verzoek), str(pki.client.cert_pad))


# --- (2) tampered, incomplete and foreign requests are refused with distinct codes ----------------


def test_body_changed_after_signing(pki: Pki, nu: datetime) -> None:
    def wijzig(root: etree._Element) -> None:
        een(root, "//g:applicatie").text = "ander-ECD"

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), wijzig)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-HANDTEKENING-ONGELDIG"


def test_signed_addressing_header_changed(pki: Pki, nu: datetime) -> None:
    def wijzig(root: etree._Element) -> None:
        een(root, "//wsa:To").text = "https://elders.test/"

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), wijzig)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-HANDTEKENING-ONGELDIG"


def test_signature_value_changed(pki: Pki, nu: datetime) -> None:
    def wijzig(root: etree._Element) -> None:
        waarde = een(root, "//ds:SignatureValue")
        ruw = bytearray(base64.b64decode("".join((waarde.text or "").split())))
        ruw[10] ^= 0x01
        waarde.text = base64.b64encode(bytes(ruw)).decode()

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), wijzig)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-HANDTEKENING-ONGELDIG"


def test_wrapping_signed_body_moved_into_a_header_and_new_body(pki: Pki, nu: datetime) -> None:
    """The classic attack: the signed Body still verifies where it now hangs, the new one is read."""

    def wikkel(root: etree._Element) -> None:
        oud = body(root)
        nieuw = copy.deepcopy(oud)
        del nieuw.attrib[f"{{{WSU}}}Id"]
        een(nieuw, ".//g:applicatie").text = "aanvaller"
        wrapper = etree.SubElement(header(root), "{urn:aanvaller}Wrapper")
        root.replace(oud, nieuw)
        wrapper.append(oud)

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), wikkel)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


@pytest.mark.parametrize("id_attribuut", [f"{{{WSU}}}Id", "ID", "{http://www.w3.org/XML/1998/namespace}id"])
def test_wrapping_with_duplicate_id(pki: Pki, nu: datetime, id_attribuut: str) -> None:
    """The same, but the new Body carries the signed Body's id as well (in any id-like attribute)."""

    def wikkel(root: etree._Element) -> None:
        oud = body(root)
        nieuw = copy.deepcopy(oud)
        waarde = nieuw.attrib.pop(f"{{{WSU}}}Id")
        nieuw.set(id_attribuut, waarde)
        een(nieuw, ".//g:applicatie").text = "aanvaller"
        wrapper = etree.SubElement(header(root), "{urn:aanvaller}Wrapper")
        root.replace(oud, nieuw)
        wrapper.append(oud)

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), wikkel)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_wrapping_signature_references_a_copy_inside_the_signature(pki: Pki, nu: datetime) -> None:
    """The signed Body hidden in a ds:Object of the Signature (not covered by SignedInfo)."""

    def wikkel(root: etree._Element) -> None:
        oud = body(root)
        nieuw = copy.deepcopy(oud)
        del nieuw.attrib[f"{{{WSU}}}Id"]
        een(nieuw, ".//g:applicatie").text = "aanvaller"
        obj = etree.SubElement(een(root, "//ds:Signature"), f"{{{DS}}}Object")
        root.replace(oud, nieuw)
        obj.append(oud)

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), wikkel)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_wrapping_message_id_swapped(pki: Pki, nu: datetime) -> None:
    """A replayed request with a fresh, unsigned MessageID and the signed one parked elsewhere."""

    def wikkel(root: etree._Element) -> None:
        oud = een(root, "//wsa:MessageID")
        nieuw = etree.Element(f"{{{WSA}}}MessageID")
        nieuw.text = f"urn:uuid:{uuid.uuid4()}"
        ouder(oud).replace(oud, nieuw)
        etree.SubElement(header(root), "{urn:aanvaller}Wrapper").append(oud)

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), wikkel)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_comment_inside_a_signed_value(pki: Pki, nu: datetime) -> None:
    """Unsigned comments would let an attacker truncate a signed text for a reader that uses .text."""

    def splits(root: etree._Element) -> None:
        applicatie = een(root, "//g:applicatie")
        applicatie.text = "test-"
        commentaar = etree.Comment("")
        commentaar.tail = "ECD"
        applicatie.append(commentaar)

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), splits)
    assert "test-<!---->ECD" in verzoek.decode()
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_element_referenced_twice(pki: Pki, nu: datetime) -> None:
    antwoord = onderteken(_kale_envelop(SOAP11), pki.client.sleutel_pem, pki.client.cert_pem, nu=nu, action="a")

    def verdubbel(root: etree._Element) -> None:
        ref = een(root, "//ds:Reference[1]")
        ref.addnext(copy.deepcopy(ref))

    assert weigering(bewerk(antwoord, verdubbel), pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def _herteken(envelope: bytes, paar: Sleutelpaar, wijziging: Callable[[etree._Element, list[str]], None]) -> bytes:
    """Sign again with the same key after ``wijziging`` edited the document and the list of reference URIs."""
    root = etree.fromstring(envelope)
    oud = een(root, "//ds:Signature")
    uris = [str(r.get("URI")) for r in oud.iterfind(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")]
    key_info = copy.deepcopy(een(oud, "ds:KeyInfo"))
    ouder(oud).remove(oud)
    wijziging(root, uris)
    signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    nieuw = signer.sign(root, key=paar.sleutel_pem, reference_uri=uris, key_info=key_info)
    een(root, "//wsse:Security").append(nieuw)
    return etree.tostring(root)


def test_resigned_fixture_is_accepted(pki: Pki, nu: datetime) -> None:
    antwoord = onderteken(_kale_envelop(SOAP11), pki.client.sleutel_pem, pki.client.cert_pem, nu=nu, action="a")
    opnieuw = _herteken(antwoord, pki.client, lambda root, uris: None)
    verifieer(opnieuw, pki.client.cert_pem, nu=nu, gezien=nooit_gezien())


def test_signature_over_more_than_the_profile(pki: Pki, nu: datetime) -> None:
    """A valid signature that also covers another header is not the profile's signature."""
    antwoord = onderteken(_kale_envelop(SOAP11), pki.client.sleutel_pem, pki.client.cert_pem, nu=nu, action="a")

    def extra_header(root: etree._Element, uris: list[str]) -> None:
        etree.SubElement(header(root), "{urn:x}Extra", {f"{{{WSU}}}Id": "extra"}).text = "x"
        uris.append("#extra")

    assert weigering(_herteken(antwoord, pki.client, extra_header), pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_valid_signature_over_the_body_only(pki: Pki, nu: datetime) -> None:
    antwoord = onderteken(_kale_envelop(SOAP11), pki.client.sleutel_pem, pki.client.cert_pem, nu=nu, action="a")

    def alleen_body(root: etree._Element, uris: list[str]) -> None:
        del uris[1:]

    assert weigering(_herteken(antwoord, pki.client, alleen_body), pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_second_security_header(pki: Pki, nu: datetime) -> None:
    def voeg_toe(root: etree._Element) -> None:
        header(root).append(copy.deepcopy(een(root, "//wsse:Security")))

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), voeg_toe)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_stock_zeep_signature_leaves_addressing_unsigned(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu, ondertekenaar=zeep_signature.BinarySignature)
    assert len(etree.fromstring(verzoek).findall(f".//{{{DS}}}Reference")) == 2  # Body and Timestamp only
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONVOLLEDIG"


def test_expired_timestamp(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu, geldig=timedelta(minutes=1))
    verifieer(verzoek, pki.client.cert_pem, nu=nu + timedelta(seconds=59), gezien=nooit_gezien())
    # Expired, although Created is still inside the five-minute window.
    assert weigering(verzoek, pki.client, nu + timedelta(minutes=1)) == "VIR-WSS-TIJDSTEMPEL"


def test_timestamp_created_in_the_future(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu)
    assert weigering(verzoek, pki.client, nu - timedelta(minutes=6)) == "VIR-WSS-TIJDSTEMPEL"
    # Within the window a sender's clock may run ahead.
    verifieer(verzoek, pki.client.cert_pem, nu=nu - timedelta(minutes=4), gezien=nooit_gezien())


def test_timestamp_older_than_the_window(pki: Pki, nu: datetime) -> None:
    verzoek = onderteken(
        _kale_envelop(SOAP11), pki.client.sleutel_pem, pki.client.cert_pem, nu=nu, geldig=timedelta(hours=1), action="a"
    )
    verifieer(verzoek, pki.client.cert_pem, nu=nu + timedelta(minutes=4), gezien=nooit_gezien())
    assert weigering(verzoek, pki.client, nu + timedelta(minutes=6)) == "VIR-WSS-TIJDSTEMPEL"
    assert weigering(verzoek, pki.client, nu + timedelta(minutes=2), venster=timedelta(minutes=1)) == (
        "VIR-WSS-TIJDSTEMPEL"
    )


def test_timestamp_missing(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu, tijdstempel=False)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-TIJDSTEMPEL"


def test_replayed_message_id(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu)
    gezien = nooit_gezien()
    verifieer(verzoek, pki.client.cert_pem, nu=nu, gezien=gezien)
    assert weigering(verzoek, pki.client, nu + timedelta(seconds=30), gezien=gezien) == "VIR-WSA-HERHAALD"


def test_refused_message_does_not_reach_the_replay_store(pki: Pki, nu: datetime) -> None:
    """Otherwise anyone could block a genuine request by sending a forgery with its MessageID first."""
    echt = zeep_verzoek(pki.client, nu=nu)

    def wijzig(root: etree._Element) -> None:
        een(root, "//g:applicatie").text = "vervalst"

    gevraagd: list[str] = []

    def gezien(message_id: str) -> bool:
        gevraagd.append(message_id)
        return False

    assert weigering(bewerk(echt, wijzig), pki.client, nu, gezien=gezien) == "VIR-WSS-HANDTEKENING-ONGELDIG"
    assert gevraagd == []
    verifieer(echt, pki.client.cert_pem, nu=nu, gezien=gezien)
    assert len(gevraagd) == 1


def test_sha1_signature(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu, sha256=False)  # zeep's default: rsa-sha1 with sha1 digests
    assert een(etree.fromstring(verzoek), "//ds:SignatureMethod").get("Algorithm", "").endswith("rsa-sha1")
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ALGORITME"


def test_sha1_digest_under_sha256_signature(pki: Pki, nu: datetime) -> None:
    ondertekenaar = DigikoppelingBinarySignature(
        str(pki.client.sleutel_pad),
        str(pki.client.cert_pad),
        signature_method=xmlsec.Transform.RSA_SHA256,
        digest_method=xmlsec.Transform.SHA1,
    )
    transport = OpnemendeTransport()
    client = zeep.Client(
        str(WSDL), transport=transport, wsse=[Tijdstempel(nu), ondertekenaar], plugins=[WsAddressingPlugin()]
    )
    service = client.create_service(f"{{{KP}}}KetenpartnerSoap11Binding", ADRES)
    with pytest.raises(Verstuurd):
        service.Ping(
            stuurgegevens={
                "berichtId": str(uuid.uuid4()),
                "tijdstip": nu,
                "zender": {"oin": OIN_CLIENT, "applicatie": "x"},
                "ontvanger": {"oin": OIN_GATEWAY},
            }
        )
    assert weigering(transport.verzonden[0], pki.client, nu) == "VIR-WSS-ALGORITME"


def test_signed_with_another_certificate(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.ander, nu=nu)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-CERTIFICAAT"


def test_registered_certificate_in_token_but_another_key_signed(pki: Pki, nu: datetime) -> None:
    registered = x509.load_pem_x509_certificate(pki.client.cert_pem).public_bytes(serialization.Encoding.DER)

    def vervang(root: etree._Element) -> None:
        een(root, "//wsse:BinarySecurityToken").text = base64.b64encode(registered).decode()

    verzoek = bewerk(zeep_verzoek(pki.ander, nu=nu), vervang)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-HANDTEKENING-ONGELDIG"


def test_registered_certificate_expired(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu)
    later = nu + timedelta(days=31)
    assert weigering(verzoek, pki.client, later) == "VIR-WSS-CERTIFICAAT"


def _sleutelverwijzing(envelope: bytes, value_type: str, waarde: bytes) -> bytes:
    """Name the certificate by a KeyIdentifier instead of a token reference (KeyInfo is not signed)."""

    def vervang(root: etree._Element) -> None:
        str_ = een(root, "//ds:KeyInfo/wsse:SecurityTokenReference")
        for kind in list(str_):
            str_.remove(kind)
        ki = etree.SubElement(str_, f"{{{WSSE}}}KeyIdentifier", {"ValueType": value_type})
        ki.set(
            "EncodingType",
            "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary",
        )
        ki.text = base64.b64encode(waarde).decode()

    return bewerk(envelope, vervang)


@pytest.mark.parametrize("soort", ["ski", "thumbprint", "x509v3"])
def test_certificate_named_by_key_identifier(pki: Pki, nu: datetime, soort: str) -> None:
    value_types = {
        "ski": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier",
        "thumbprint": "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1",
        "x509v3": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3",
    }

    def waarde(paar: Sleutelpaar) -> bytes:
        cert = x509.load_pem_x509_certificate(paar.cert_pem)
        if soort == "ski":
            return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        if soort == "thumbprint":
            return cert.fingerprint(hashes.SHA1())  # the profile names a certificate by its SHA-1 thumbprint
        return cert.public_bytes(serialization.Encoding.DER)

    antwoord = onderteken(_kale_envelop(SOAP11), pki.client.sleutel_pem, pki.client.cert_pem, nu=nu, action="a")
    goed = _sleutelverwijzing(antwoord, value_types[soort], waarde(pki.client))
    verifieer(goed, pki.client.cert_pem, nu=nu, gezien=nooit_gezien())
    fout = _sleutelverwijzing(antwoord, value_types[soort], waarde(pki.ander))
    assert weigering(fout, pki.client, nu) == "VIR-WSS-CERTIFICAAT"


def test_unsigned_request(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(None, nu=nu, tijdstempel=False)
    assert etree.fromstring(verzoek).find(f".//{{{WSA}}}MessageID") is not None
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONTBREEKT"


def test_security_header_without_signature(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(None, nu=nu)  # a Timestamp only
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONTBREEKT"


def test_signature_stripped(pki: Pki, nu: datetime) -> None:
    def strip(root: etree._Element) -> None:
        sig = een(root, "//ds:Signature")
        ouder(sig).remove(sig)

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), strip)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSS-ONTBREEKT"


def test_addressing_headers_missing(pki: Pki, nu: datetime) -> None:
    verzoek = zeep_verzoek(pki.client, nu=nu, wsa=False)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSA-ONGELDIG"


def test_addressing_header_duplicated(pki: Pki, nu: datetime) -> None:
    def verdubbel(root: etree._Element) -> None:
        oud = een(root, "//wsa:MessageID")
        tweede = etree.Element(f"{{{WSA}}}MessageID")
        tweede.text = f"urn:uuid:{uuid.uuid4()}"
        oud.addnext(tweede)

    verzoek = bewerk(zeep_verzoek(pki.client, nu=nu), verdubbel)
    assert weigering(verzoek, pki.client, nu) == "VIR-WSA-ONGELDIG"


def test_entities_are_refused_by_the_shared_parser(pki: Pki, nu: datetime) -> None:
    bom = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(XmlError) as info:
        verifieer(bom, pki.client.cert_pem, nu=nu, gezien=nooit_gezien())
    assert info.value.code == "VIR-XML-DTD-VERBODEN"


def test_every_code_has_dutch_and_english_text() -> None:
    assert set(FOUTEN) == {
        "VIR-WSS-ONTBREEKT",
        "VIR-WSS-HANDTEKENING-ONGELDIG",
        "VIR-WSS-ONVOLLEDIG",
        "VIR-WSS-TIJDSTEMPEL",
        "VIR-WSS-ALGORITME",
        "VIR-WSS-CERTIFICAAT",
        "VIR-WSA-ONGELDIG",
        "VIR-WSA-HERHAALD",
    }
    for nl, en in FOUTEN.values():
        assert nl and en and nl != en
    fout = WssFout("VIR-WSA-HERHAALD", "detail")
    assert (fout.code, fout.nl, fout.en) == ("VIR-WSA-HERHAALD", *FOUTEN["VIR-WSA-HERHAALD"])
    with pytest.raises(ValueError):
        WssFout("VIR-WSS-ONBEKEND")


def test_naive_time_is_a_programming_error(pki: Pki) -> None:
    with pytest.raises(ValueError):
        verifieer(b"<x/>", pki.client.cert_pem, nu=datetime(2026, 1, 1), gezien=nooit_gezien())


# --- (3) onderteken: responses that others accept ------------------------------------------------


def _kale_envelop(soap: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="{soap}" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:g="{G}">'
        f'<soap:Body><kp:PingResponse xmlns:kp="{KP}"><kp:stuurgegevens xsi:type="g:StuurgegevensAntwoord">'
        f"<g:berichtId>{uuid.uuid4()}</g:berichtId></kp:stuurgegevens><kp:versie>1.0</kp:versie>"
        "</kp:PingResponse></soap:Body></soap:Envelope>"
    ).encode()


def _xmlsec1(bestand: Path, cert: Path, soap: str) -> subprocess.CompletedProcess[str]:
    """The command line docs/wss.md gives an auditor, assembled the same way."""
    assert shutil.which("xmlsec1"), "xmlsec1 (Debian package xmlsec1) is needed for this test"
    id_attrs = [f"{soap}:Body", f"{WSU}:Timestamp"] + [
        f"{WSA}:{n}" for n in ("To", "Action", "MessageID", "RelatesTo", "ReplyTo", "From", "FaultTo")
    ]
    opdracht = ["xmlsec1", "--verify", "--enabled-reference-uris", "same-doc", "--pubkey-cert-pem", str(cert)]
    for knoop in id_attrs:
        opdracht += ["--id-attr:Id", knoop]
    return subprocess.run([*opdracht, str(bestand)], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("soap", [SOAP11, SOAP12], ids=["soap11", "soap12"])
def test_response_verifies_with_xmlsec1_zeep_and_verifieer(pki: Pki, nu: datetime, tmp_path: Path, soap: str) -> None:
    verzoek_id = f"urn:uuid:{uuid.uuid4()}"
    antwoord = onderteken(
        _kale_envelop(soap),
        pki.gateway.sleutel_pem,
        pki.gateway.cert_pem,
        nu=nu,
        relates_to=verzoek_id,
        action=f"{KP}/PingResponse",
    )
    bestand = tmp_path / "antwoord.xml"
    bestand.write_bytes(antwoord)

    uitkomst = _xmlsec1(bestand, pki.gateway.cert_pad, soap)
    assert uitkomst.returncode == 0, uitkomst.stderr
    assert "SignedInfo References (ok/all): 6/6" in uitkomst.stderr + uitkomst.stdout

    zeep_signature.verify_envelope(etree.fromstring(antwoord), str(pki.gateway.cert_pad))

    v = verifieer(antwoord, pki.gateway.cert_pem, nu=nu, gezien=nooit_gezien())
    assert (v.relates_to, v.action, v.to) == (verzoek_id, f"{KP}/PingResponse", WSA + "/anonymous")
    assert f"serialNumber={OIN_GATEWAY}" in v.onderwerp

    root = etree.fromstring(antwoord)
    assert env_ns(root) == soap
    assert een(root, "//wsse:Security").get(f"{{{soap}}}mustUnderstand") == ("1" if soap == SOAP11 else "true")
    assert een(root, "//wsu:Created").text == nu.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    # The xsi:type QName in the body still resolves after the headers were added.
    assert een(root, "//kp:stuurgegevens").nsmap["g"] == G


@pytest.mark.parametrize("soap", [SOAP11, SOAP12], ids=["soap11", "soap12"])
def test_tampered_response_fails_xmlsec1_and_zeep(pki: Pki, nu: datetime, tmp_path: Path, soap: str) -> None:
    """The auditor's command must actually be able to say no."""
    antwoord = onderteken(_kale_envelop(soap), pki.gateway.sleutel_pem, pki.gateway.cert_pem, nu=nu, action="a")

    def wijzig(root: etree._Element) -> None:
        een(root, "//kp:versie").text = "2.0"

    bestand = tmp_path / "gewijzigd.xml"
    bestand.write_bytes(bewerk(antwoord, wijzig))
    assert _xmlsec1(bestand, pki.gateway.cert_pad, soap).returncode != 0
    with pytest.raises(SignatureVerificationFailed):
        zeep_signature.verify_envelope(etree.fromstring(bestand.read_bytes()), str(pki.gateway.cert_pad))


def test_response_signed_with_an_ec_key(pki: Pki, nu: datetime, tmp_path: Path) -> None:
    antwoord = onderteken(_kale_envelop(SOAP11), pki.gateway_ec.sleutel_pem, pki.gateway_ec.cert_pem, nu=nu, action="a")
    assert een(etree.fromstring(antwoord), "//ds:SignatureMethod").get("Algorithm", "").endswith("ecdsa-sha256")
    bestand = tmp_path / "ec.xml"
    bestand.write_bytes(antwoord)
    uitkomst = _xmlsec1(bestand, pki.gateway_ec.cert_pad, SOAP11)
    assert uitkomst.returncode == 0, uitkomst.stderr
    verifieer(antwoord, pki.gateway_ec.cert_pem, nu=nu, gezien=nooit_gezien())


def test_onderteken_keeps_and_fills_addressing_headers(pki: Pki, nu: datetime) -> None:
    kaal = _kale_envelop(SOAP12).replace(
        b"<soap:Body>",
        f'<soap:Header><wsa:Action xmlns:wsa="{WSA}">urn:bestaand</wsa:Action>'
        f'<wsa:MessageID xmlns:wsa="{WSA}">urn:uuid:11111111-2222-3333-4444-555555555555</wsa:MessageID>'
        "</soap:Header><soap:Body>".encode(),
    )
    antwoord = onderteken(kaal, pki.gateway.sleutel_pem, pki.gateway.cert_pem, nu=nu, to="https://ketenpartner.test/")
    v = verifieer(antwoord, pki.gateway.cert_pem, nu=nu, gezien=nooit_gezien())
    assert v.action == "urn:bestaand"
    assert v.message_id == "urn:uuid:11111111-2222-3333-4444-555555555555"
    assert v.to == "https://ketenpartner.test/"
    assert v.relates_to is None


def test_onderteken_refuses_what_it_cannot_sign(pki: Pki, nu: datetime) -> None:
    kaal = _kale_envelop(SOAP11)
    with pytest.raises(ValueError, match="Action"):
        onderteken(kaal, pki.gateway.sleutel_pem, pki.gateway.cert_pem, nu=nu)
    with pytest.raises(ValueError, match="belong"):
        onderteken(kaal, pki.gateway.sleutel_pem, pki.client.cert_pem, nu=nu, action="a")
    eenmaal = onderteken(kaal, pki.gateway.sleutel_pem, pki.gateway.cert_pem, nu=nu, action="a")
    with pytest.raises(ValueError, match="Security"):
        onderteken(eenmaal, pki.gateway.sleutel_pem, pki.gateway.cert_pem, nu=nu, action="a")


def test_response_is_not_accepted_under_another_certificate(pki: Pki, nu: datetime) -> None:
    antwoord = onderteken(_kale_envelop(SOAP11), pki.gateway.sleutel_pem, pki.gateway.cert_pem, nu=nu, action="a")
    assert weigering(antwoord, pki.client, nu) == "VIR-WSS-CERTIFICAAT"
