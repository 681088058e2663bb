"""Spyne's SOAP 1.1 and 1.2 protocols with our front half: hardened parsing, envelope checks and
validation of the body against the committed XSDs, before Spyne deserialises anything; and our
fault rendering on the way out.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from lxml import etree
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11, Soap12

from gateway import ns
from gateway.contract import validate_request
from gateway.errors import GatewayError, ServerError, XmlError
from gateway.faults import fault_element, fout_element
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
    body: etree._Element | None = None
    verzoek: bytes = b""  # the request as received, for the message log


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


class _VirSoapMixin:
    ns_soap_env: str
    other_env: str
    service_ns: str = ns.KETENPARTNER

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        data = b"".join(ctx.in_string)
        info(ctx).verzoek = data
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
            ri.verzoek_hash = hashlib.sha256(etree.tostring(body, method="c14n", exclusive=True)).digest()
        except GatewayError as exc:
            raise VirFault(exc) from exc
        ctx.in_document = envelope
        headers = envelope.find(f"{{{self.ns_soap_env}}}Header")
        ctx.in_header_doc = list(headers) if headers is not None else None
        ctx.in_body_doc = body
        ctx.method_request_string = body.tag

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
            cast(Any, super()).serialize(ctx, message)
            # One g: declaration on the envelope instead of one per element (Spyne's habit).
            etree.cleanup_namespaces(ctx.out_document, top_nsmap={"g": ns.GEGEVENS})
        except Exception:
            ri = info(ctx)
            log.exception("could not render the answer to %s [correlatie %s]", ri.operatie, ri.correlatie_id)
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


class VirSoap12(_VirSoapMixin, Soap12):
    other_env = ns.SOAP11_ENV

    def __init__(self, *args: Any, service_ns: str = ns.KETENPARTNER, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service_ns = service_ns
