"""SOAP faults: our errors rendered as SOAP 1.1 or 1.2 Fault elements with a ``g:fout`` detail.

    <soap:Fault>                                 SOAP 1.1
      <faultcode>soap:Client</faultcode>         Client or Server (FAULTS table)
      <faultstring>VIR-BSN-ONGELDIG: …</faultstring>
      <detail><g:fout><g:code/><g:melding taal="nl"/><g:melding taal="en"/><g:xpath/>
              <g:kruisverwijzing/><g:correlatieId/></g:fout></detail>
    </soap:Fault>

SOAP 1.2 has Code/Value (Sender/Receiver), one Reason/Text (nl, as SOAP 1.1's faultstring) and Detail with
the same ``g:fout`` (nl and en).
"""

from __future__ import annotations

from lxml import etree

from gateway import ns
from gateway.errors import GatewayError

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _code11(kind: str) -> str:
    return kind  # Client, Server, MustUnderstand


def _code12(kind: str) -> str:
    return {"Client": "Sender", "Server": "Receiver"}.get(kind, kind)


def fout_element(error: GatewayError, correlatie_id: str, kruisverwijzing: str | None = None) -> etree._Element:
    def g(tag: str) -> str:
        return f"{{{ns.GEGEVENS}}}{tag}"

    fout = etree.Element(g("fout"), nsmap={"g": ns.GEGEVENS})
    etree.SubElement(fout, g("code")).text = error.code
    etree.SubElement(fout, g("melding"), taal="nl").text = error.message_nl
    etree.SubElement(fout, g("melding"), taal="en").text = error.message_en
    if error.xpath:
        etree.SubElement(fout, g("xpath")).text = error.xpath
    if kruisverwijzing:
        etree.SubElement(fout, g("kruisverwijzing")).text = kruisverwijzing
    etree.SubElement(fout, g("correlatieId")).text = correlatie_id
    return fout


def fault_element(
    error: GatewayError, parent: etree._Element, soap_env: str, correlatie_id: str, kruisverwijzing: str | None = None
) -> etree._Element:
    """Append the ``Fault`` element for the envelope namespace ``soap_env`` to ``parent`` (the Body).

    It is built in place so that the prefix in ``faultcode`` is the one declared in the envelope."""
    fault = etree.SubElement(parent, f"{{{soap_env}}}Fault")
    detail_fout = fout_element(error, correlatie_id, kruisverwijzing)
    if soap_env == ns.SOAP11_ENV:
        prefix = fault.prefix or "soap"
        etree.SubElement(fault, "faultcode").text = f"{prefix}:{_code11(error.spec.faultcode)}"
        etree.SubElement(fault, "faultstring").text = f"{error.code}: {error.message_nl}"
        etree.SubElement(fault, "detail").append(detail_fout)
        return fault
    code = etree.SubElement(fault, f"{{{soap_env}}}Code")
    prefix = fault.prefix or "soap"
    etree.SubElement(code, f"{{{soap_env}}}Value").text = f"{prefix}:{_code12(error.spec.faultcode)}"
    # One Text only, although SOAP 1.2 allows one per language: gSOAP's Reason holds a single Text and
    # loses the whole fault over a second, and node-soap joins them into "[object Object],…". Both
    # languages are in g:fout.
    reason = etree.SubElement(fault, f"{{{soap_env}}}Reason")
    etree.SubElement(reason, f"{{{soap_env}}}Text", {XML_LANG: "nl"}).text = f"{error.code}: {error.message_nl}"
    etree.SubElement(fault, f"{{{soap_env}}}Detail").append(detail_fout)
    return fault


def render_fault_envelope(error: GatewayError, soap_env: str, correlatie_id: str) -> bytes:
    """A whole envelope with one fault, for errors found before Spyne sees the request."""
    prefix = "soap11env" if soap_env == ns.SOAP11_ENV else "soap12env"
    env = etree.Element(f"{{{soap_env}}}Envelope", nsmap={prefix: soap_env})
    body = etree.SubElement(env, f"{{{soap_env}}}Body")
    fault_element(error, body, soap_env, correlatie_id)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
