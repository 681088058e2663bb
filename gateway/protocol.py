"""Spyne's SOAP 1.1 and 1.2 protocols with our front half: hardened parsing, envelope checks and
validation of the body against the committed XSDs, before Spyne deserialises anything; and our
fault rendering on the way out.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from lxml import etree
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11, Soap12

from gateway import ns
from gateway.contract import qname, validate_request
from gateway.errors import GatewayError, RuleError, SchemaError, ServerError, XmlError
from gateway.faults import fault_element, fout_element
from gateway.lezer import Lezer
from gateway.ns import WSA, WSA_ANONIEM, WSA_FOUT, WSSE
from gateway.uitvoer import spoor
from gateway.wss import Verificatie, WssFout, onderteken, verifieer
from gateway.xmlsafe import parse_untrusted

log = logging.getLogger(__name__)


@dataclass
class RequestInfo:
    """What the front half learnt about a request, kept on the Spyne context as ``ctx.udc``."""

    correlatie_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    operatie: str | None = None
    verzoek_hash: bytes = b""
    bericht_id: str | None = None
    zender_oin: str | None = None
    geauthenticeerd: str | None = None  # the OIN of the client certificate; None in development mode
    wsa: dict[str, str] = field(default_factory=dict)  # the request's WS-Addressing headers (local name → value)
    antwoord_xml: bytes | None = None  # the committed answer element as rendered for the log, sent as is
    wss: Verificatie | None = None  # a verified WS-Security signature on the request
    body: etree._Element | None = None
    verzoek: bytes = b""  # the request as received, for the message log
    geredigeerd: bool = False  # the request redacted log payloads: a checkpoint is signed over it at once


class VirFault(Fault):
    """Carries one of our errors through Spyne to the fault renderer."""

    __namespace__ = ns.GEGEVENS

    def __init__(self, error: GatewayError) -> None:
        super().__init__(faultcode=error.spec.faultcode, faultstring=f"{error.code}: {error.message_en}")
        self.error = error


def info(ctx: Any) -> RequestInfo:
    if not isinstance(ctx.udc, RequestInfo):
        ctx.udc = RequestInfo()
    return ctx.udc


def _text(el: etree._Element, path: str) -> str | None:
    found = el.find(path, namespaces={"g": ns.GEGEVENS, "kp": ns.KETENPARTNER})
    return found.text if found is not None else None


# A date or dateTime value as XML Schema writes it. XSD allows years beyond 9999, negative years and the
# hour 24; Python's datetime (and so Spyne) does not. Such values are refused as invalid values.
_DATUMACHTIG = re.compile(r"\s*(-?)(\d{4,})-\d{2}-\d{2}(?:T(\d{2}):\d{2}:\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?\s*")


def _datums_binnen_bereik(body: etree._Element) -> None:
    for el in body.iter():
        tekst = el.text if isinstance(el.tag, str) and len(el) == 0 else None
        if not tekst or len(tekst) > 48 or not (m := _DATUMACHTIG.fullmatch(tekst)):
            continue
        if m.group(1) or not 1 <= int(m.group(2)) <= 9999 or (m.group(3) and int(m.group(3)) > 23):
            stappen = [qname(str(a.tag)) for a in (el, *el.iterancestors()) if a is not body.getparent()]
            pad = []
            for stap in stappen:
                pad.append(stap)
                if stap == qname(str(body.tag)):
                    break
            raise SchemaError(
                "(jaar 1–9999, uur 0–23)",
                detail_en="(year 1–9999, hour 0–23)",
                code="VIR-SCHEMA-WAARDE-ONGELDIG",
                xpath="/" + "/".join(reversed(pad)),
            )


BEGREPEN = frozenset({WSA, WSSE})  # header namespaces this gateway processes


def wsa_koppen(headers: etree._Element) -> dict[str, str]:
    """The request's WS-Addressing values: MessageID, Action, To, and the ReplyTo address."""
    uit: dict[str, str] = {}
    for h in headers:
        if not isinstance(h.tag, str) or etree.QName(h).namespace != WSA:
            continue
        naam = etree.QName(h).localname
        if naam == "ReplyTo":
            adres = h.findtext(f"{{{WSA}}}Address")
            if adres:
                uit["ReplyTo"] = adres.strip()
        elif h.text and naam in ("MessageID", "Action", "To"):
            uit[naam] = h.text.strip()
    return uit


def wsa_antwoord(envelope: etree._Element, soap_env: str, wsa: dict[str, str], *, fout: bool) -> None:
    """WS-Addressing on the answer to a request that used it: a new MessageID, RelatesTo the request's,
    the response Action (or the WS-Addressing fault action) and To its ReplyTo (anonymous by default)."""
    if "MessageID" not in wsa:
        return
    header = envelope.find(f"{{{soap_env}}}Header")
    if header is None:
        header = etree.Element(f"{{{soap_env}}}Header")
        envelope.insert(0, header)
    actie = WSA_FOUT if fout else f"{wsa['Action']}Response" if "Action" in wsa else None
    waarden = [
        ("MessageID", f"urn:uuid:{uuid.uuid4()}"),
        ("RelatesTo", wsa["MessageID"]),
        ("Action", actie),
        ("To", wsa.get("ReplyTo", WSA_ANONIEM)),
    ]
    for naam, waarde in waarden:
        if waarde is not None:
            etree.SubElement(header, f"{{{WSA}}}{naam}", nsmap={"wsa": WSA}).text = waarde


class _VirSoapMixin:
    ns_soap_env: str
    other_env: str
    service_ns: str = ns.KETENPARTNER

    def deserialize(self, ctx: Any, message: Any) -> None:
        """Spyne reads the validated body into objects; a value it cannot represent is the sender's
        invalid value, never an internal error."""
        try:
            cast(Any, super()).deserialize(ctx, message)
        except VirFault:
            raise
        except (ValueError, OverflowError, TypeError) as exc:
            raise VirFault(SchemaError(code="VIR-SCHEMA-WAARDE-ONGELDIG")) from exc

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        data = b"".join(ctx.in_string)
        ri = info(ctx)
        ri.verzoek = data
        transport = getattr(ctx, "transport", None)
        ri.geauthenticeerd = getattr(transport, "req_env", {}).get("vir.oin") if transport is not None else None
        try:
            ctx.in_document = (parse_untrusted(data), None)
        except GatewayError as exc:
            raise VirFault(exc) from exc

    def decompose_incoming_envelope(self, ctx: Any, message: Any = None) -> None:
        envelope, _ = ctx.in_document
        try:
            body = self._body(envelope)
            ri = info(ctx)
            ri.body = body
            ri.operatie = etree.QName(body).localname
            ri.bericht_id = _text(body, "*/g:berichtId")
            ri.zender_oin = _text(body, "*/g:zender/g:oin")
            validate_request(body, self.service_ns)
            _datums_binnen_bereik(body)
            if ri.geauthenticeerd is not None and ri.zender_oin != ri.geauthenticeerd:
                # The message claims another sender than the certificate: refused, attributed to the
                # certificate's holder in the log.
                zender = ri.zender_oin
                ri.zender_oin = ri.geauthenticeerd
                raise RuleError(
                    f"(certificaat: {ri.geauthenticeerd}, bericht: {zender})",
                    detail_en=f"(certificate: {ri.geauthenticeerd}, message: {zender})",
                    code="VIR-ZENDER-ONJUIST",
                    xpath=f"/{self._prefix()}:{ri.operatie}/{self._prefix()}:stuurgegevens/g:zender/g:oin",
                )
            ri.verzoek_hash = hashlib.sha256(etree.tostring(body, method="c14n", exclusive=True)).digest()
        except GatewayError as exc:
            raise VirFault(exc) from exc
        ctx.in_document = envelope
        headers = envelope.find(f"{{{self.ns_soap_env}}}Header")
        if headers is not None:
            try:
                self._begrepen(headers)
            except GatewayError as exc:
                raise VirFault(exc) from exc
            info(ctx).wsa = wsa_koppen(headers)
        deps = getattr(ctx.app, "vir", None)
        if deps is not None:
            try:
                self._ws_security(info(ctx), headers, deps)
            except GatewayError as exc:
                raise VirFault(exc) from exc
        ctx.in_header_doc = list(headers) if headers is not None else None
        ctx.in_body_doc = body
        ctx.method_request_string = body.tag

    def _begrepen(self, headers: etree._Element) -> None:
        """SOAP: a header block for us marked mustUnderstand that we do not process is a MustUnderstand
        fault, never silently ignored (WS-Addressing is processed; a block for another role is not ours)."""
        env = self.ns_soap_env
        rol_attr = f"{{{env}}}actor" if env == ns.SOAP11_ENV else f"{{{env}}}role"
        voor_ons = {
            None,
            "http://schemas.xmlsoap.org/soap/actor/next",
            f"{env}/role/next",
            f"{env}/role/ultimateReceiver",
        }
        for h in headers:
            if not isinstance(h.tag, str) or h.get(f"{{{env}}}mustUnderstand") not in ("1", "true"):
                continue
            if etree.QName(h).namespace in BEGREPEN or h.get(rol_attr) not in voor_ons:
                continue
            raise XmlError(
                f"({etree.QName(h).localname})",
                detail_en=f"({etree.QName(h).localname})",
                code="VIR-SOAP-MUSTUNDERSTAND",
                xpath=f"/soap:Envelope/soap:Header/*[{list(headers).index(h) + 1}]",
            )

    def _ws_security(self, ri: RequestInfo, headers: etree._Element | None, deps: Any) -> None:
        """Verify the request's signature against the sender's registered certificate, when it carries
        one or its profile requires one (Digikoppeling 2W-be-S)."""
        ondertekend = headers is not None and headers.find(f"{{{WSSE}}}Security") is not None
        profiel = deps.wss_profiel(ri.zender_oin, peer=self.service_ns == ns.FEDERATIE)
        if profiel is None:
            return  # not a peer: refused by the federation service with its own code
        certificaat, verplicht = profiel
        if not (ondertekend or verplicht):
            return
        xpath = "/soap:Envelope/soap:Header"
        if certificaat is None:
            raise RuleError(code="VIR-WSS-CERTIFICAAT", xpath=xpath)
        venster = timedelta(seconds=deps.settings.wss_venster)
        try:
            ri.wss = verifieer(ri.verzoek, certificaat, nu=datetime.now(UTC), venster=venster, gezien=deps.gezien)
        except WssFout as exc:
            log.info("WS-Security refused [correlatie %s]: %s", ri.correlatie_id, exc.detail)
            raise RuleError(code=exc.code, xpath=xpath) from exc
        ri.wsa = {k: v for k, v in ri.wsa.items() if k == "ReplyTo"} | {
            "MessageID": ri.wss.message_id,
            "Action": ri.wss.action,
        }

    def _prefix(self) -> str:
        return "kp" if self.service_ns == ns.KETENPARTNER else "fed"

    def _body(self, envelope: etree._Element) -> etree._Element:
        if envelope.tag == f"{{{self.other_env}}}Envelope":
            raise XmlError(
                "De enveloppe hoort bij de andere SOAP-versie dan het Content-Type aangeeft.",
                detail_en="The envelope belongs to the other SOAP version than the Content-Type says.",
                code="VIR-SOAP-ENVELOPPE",
                xpath="/",
            )
        if envelope.tag != f"{{{self.ns_soap_env}}}Envelope":
            raise XmlError(code="VIR-SOAP-ENVELOPPE", xpath="/")
        bodies = envelope.findall(f"{{{self.ns_soap_env}}}Body")
        if len(bodies) != 1:
            raise XmlError(
                "Er moet precies één Body zijn.",
                detail_en="There must be exactly one Body.",
                code="VIR-SOAP-ENVELOPPE",
                xpath="/soap:Envelope/soap:Body",
            )
        children = [c for c in bodies[0] if isinstance(c.tag, str)]
        if len(children) != 1:
            raise XmlError(
                "De Body moet precies één element bevatten.",
                detail_en="The Body must hold exactly one element.",
                code="VIR-SOAP-ENVELOPPE",
                xpath="/soap:Envelope/soap:Body",
            )
        return children[0]

    def fault_to_parent(
        self, ctx: Any, cls: Any, inst: Any, parent: etree._Element, ns_: Any, *args: Any, **kwargs: Any
    ) -> None:
        ri = info(ctx)
        if isinstance(inst, VirFault):
            error = inst.error
        else:
            # Spyne's or a library's own error: never shown to the client.
            error = ServerError(correlatie_id=ri.correlatie_id)
            log.error("unexpected fault %s in %s [correlatie %s]", type(inst).__name__, ri.operatie, ri.correlatie_id)
        if isinstance(error, ServerError):
            log.error("server fault %s in %s [correlatie %s]", error.code, ri.operatie, ri.correlatie_id)
        fault_element(error, parent, self.ns_soap_env, ri.correlatie_id, ri.bericht_id)
        logboek = getattr(getattr(ctx.app, "vir", None), "logboek", None)
        if logboek is not None:
            fout = etree.tostring(fout_element(error, ri.correlatie_id, ri.bericht_id))
            logboek.afwijzing(
                ri.verzoek,
                ri.operatie or "onbekend",
                ri.zender_oin or "onbekend",
                ri.bericht_id,
                fout,
                error,
                ri.correlatie_id,
            )

    def serialize(self, ctx: Any, message: Any) -> None:
        """Never answer 200 with an empty envelope: a failure to render becomes a Server fault."""
        try:
            ri = info(ctx)
            if ctx.out_error is None and ri.antwoord_xml is not None and message is cast(Any, self).RESPONSE:
                # The answer was rendered once for the log and the stored copy; send those bytes.
                envelope = etree.Element(f"{{{self.ns_soap_env}}}Envelope", nsmap={"soap": self.ns_soap_env})
                ctx.out_body_doc = etree.SubElement(envelope, f"{{{self.ns_soap_env}}}Body")
                ctx.out_body_doc.append(etree.fromstring(ri.antwoord_xml))
                ctx.out_document = envelope
            else:
                cast(Any, super()).serialize(ctx, message)
            # One g: declaration on the envelope instead of one per element (Spyne's habit).
            etree.cleanup_namespaces(ctx.out_document, top_nsmap={"g": ns.GEGEVENS})
            ri = info(ctx)
            deps = getattr(ctx.app, "vir", None)
            if ri.wss is not None and deps is not None:
                # A signed request gets a signed answer, related to it by WS-Addressing.
                sleutel, certificaat = deps.ondertekening
                fout = ctx.out_error is not None
                ondertekend = onderteken(
                    etree.tostring(ctx.out_document),
                    sleutel,
                    certificaat,
                    nu=datetime.now(UTC),
                    relates_to=ri.wss.message_id,
                    action=WSA_FOUT if fout else f"{ri.wss.action}Response",
                    to=ri.wsa.get("ReplyTo", WSA_ANONIEM),
                )
                ctx.out_document = etree.fromstring(ondertekend)
            else:
                wsa_antwoord(ctx.out_document, self.ns_soap_env, ri.wsa, fout=ctx.out_error is not None)
        except Exception as exc:
            ri = info(ctx)
            log.error(
                "could not render the answer to %s [correlatie %s]: %s", ri.operatie, ri.correlatie_id, spoor(exc)
            )
            ctx.out_object = None
            ctx.out_error = VirFault(ServerError())
            if ctx.transport is not None:
                ctx.transport.resp_code = "500 Internal Server Error"
            cast(Any, super()).serialize(ctx, message)

    def fault_to_http_response_code(self, fault: Any) -> str:
        return "500 Internal Server Error"  # WS-I BP 1.1 R1126: every fault is HTTP 500


class VirSoap11(_VirSoapMixin, Soap11):
    other_env = ns.SOAP12_ENV

    def __init__(self, *args: Any, service_ns: str = ns.KETENPARTNER, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service_ns = service_ns
        Lezer.installeer(self)


class VirSoap12(_VirSoapMixin, Soap12):
    other_env = ns.SOAP11_ENV

    def __init__(self, *args: Any, service_ns: str = ns.KETENPARTNER, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service_ns = service_ns
        Lezer.installeer(self)
