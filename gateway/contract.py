"""The committed contract: where its files are, the compiled schema, and validation against it.

``schemas/xsd/`` and ``wsdl/`` are the source of truth. In a source checkout they are read where they
are committed; an installed wheel carries the same files under ``gateway/_contract/``. The schema is
compiled once per process. Validation errors are translated into our own codes and messages with the
XPath of the offending element (from the SOAP Body, with the prefixes ``kp:`` and ``g:``); libxml2's
own text never reaches a client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from gateway import ns
from gateway.errors import SchemaError

_PREFIXES = {ns.GEGEVENS: "g", ns.KETENPARTNER: "kp", ns.FEDERATIE: "fed"}


def contract_root() -> Path:
    """The folder holding ``wsdl/`` and ``schemas/xsd/``."""
    here = Path(__file__).resolve().parent
    packaged = here / "_contract"
    if (packaged / "wsdl").is_dir():
        return packaged
    return here.parent


def wsdl_path(name: str = "ketenpartner.wsdl") -> Path:
    return contract_root() / "wsdl" / name


def xsd_dir() -> Path:
    return contract_root() / "schemas" / "xsd"


def served_files() -> dict[str, Path]:
    """URL path → committed file, for every contract document the server publishes."""
    files = {f"/wsdl/{p.name}": p for p in sorted((contract_root() / "wsdl").glob("*.wsdl"))}
    files.update({f"/schemas/xsd/{p.name}": p for p in sorted(xsd_dir().glob("*.xsd"))})
    return files


SCHEMAS = {
    ns.KETENPARTNER: "ketenpartner-v1.xsd",
    ns.FEDERATIE: "federatie-v1.xsd",
    ns.SIGNALEN: "signalen-v1.xsd",
}


@cache
def service_schema(service: str = ns.KETENPARTNER) -> etree.XMLSchema:
    """The compiled schema of a service (it imports the shared types)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    doc = etree.parse(str(xsd_dir() / SCHEMAS[service]), parser)
    return etree.XMLSchema(doc)


def ketenpartner_schema() -> etree.XMLSchema:
    return service_schema(ns.KETENPARTNER)


@cache
def request_elements(service: str = ns.KETENPARTNER) -> frozenset[str]:
    """Clark names of the request elements a service accepts."""
    doc = etree.parse(str(xsd_dir() / SCHEMAS[service]))
    names = [str(el.get("name")) for el in doc.getroot().iterfind(f"{{{ns.XSD}}}element")]
    return frozenset(f"{{{service}}}{n}" for n in names if not n.endswith("Response"))


@dataclass(frozen=True)
class Finding:
    """One schema violation, in our words."""

    code: str
    detail_nl: str
    detail_en: str
    xpath: str

    def as_error(self) -> SchemaError:
        return SchemaError(self.detail_nl, detail_en=self.detail_en, code=self.code, xpath=self.xpath)


_EXPECTED = re.compile(r"Expected is (?:one of )?\( (.*?) \)")
_CLARK = re.compile(r"\{([^}]*)\}(\w+)")


def qname(clark: str) -> str:
    """``{uri}local`` as ``kp:local``/``g:local`` (our prefixes), or unchanged for other namespaces."""
    return _qname(clark)


def _qname(clark: str) -> str:
    def sub(m: re.Match[str]) -> str:
        prefix = _PREFIXES.get(m.group(1))
        return f"{prefix}:{m.group(2)}" if prefix else f"{{{m.group(1)}}}{m.group(2)}"

    return _CLARK.sub(sub, clark)


def _prefix_uris(element: etree._Element) -> dict[str, str]:
    """Every prefix the sender declared anywhere in the element, with its (first) namespace."""
    uris: dict[str, str] = {}
    for el in element.iter():
        for prefix, uri in (el.nsmap or {}).items():
            uris.setdefault(prefix or "", uri)
    return uris


def _normalise_path(path: str | None, uris: dict[str, str]) -> str:
    """Rewrite libxml2's path into our prefixes, whatever prefixes the sender used."""
    if not path:
        return ""
    steps = []
    for step in path.split("/"):
        if ":" in step:
            prefix, _, local = step.partition(":")
            ours = _PREFIXES.get(uris.get(prefix) or "")
            steps.append(f"{ours}:{local}" if ours else step)
        else:
            steps.append(step)
    return "/".join(steps)


def _finding(entry: etree._LogEntry, uris: dict[str, str]) -> Finding:
    message = entry.message or ""
    m = re.match(r"Element '([^']*)'", message)
    name = _qname(m.group(1)) if m else "?"
    xpath = _normalise_path(entry.path, uris)
    expected = _EXPECTED.search(message)
    wanted = _qname(expected.group(1)) if expected else ""
    if "Missing child element" in message:
        return Finding(
            "VIR-SCHEMA-ELEMENT-ONTBREEKT", f"In {name} ontbreekt: {wanted}.", f"Missing in {name}: {wanted}.", xpath
        )
    if "not expected" in message:
        tail_nl = f" Verwacht: {wanted}." if wanted else " Hier wordt geen element meer verwacht."
        tail_en = f" Expected: {wanted}." if wanted else " No further element is expected here."
        return Finding(
            "VIR-SCHEMA-ELEMENT-ONVERWACHT",
            f"Element {name} hoort hier niet.{tail_nl}",
            f"Element {name} is not allowed here.{tail_en}",
            xpath,
        )
    if entry.type_name.startswith(
        (
            "SCHEMAV_CVC_DATATYPE",
            "SCHEMAV_CVC_PATTERN",
            "SCHEMAV_CVC_ENUMERATION",
            "SCHEMAV_CVC_MINLENGTH",
            "SCHEMAV_CVC_MAXLENGTH",
            "SCHEMAV_CVC_LENGTH",
            "SCHEMAV_CVC_MININCLUSIVE",
            "SCHEMAV_CVC_MAXINCLUSIVE",
            "SCHEMAV_CVC_TYPE",
            "SCHEMAV_CVC_SIMPLE",
        )
    ):
        return Finding(
            "VIR-SCHEMA-WAARDE-ONGELDIG",
            f"De waarde van {name} is ongeldig.",
            f"The value of {name} is invalid.",
            xpath,
        )
    return Finding(
        "VIR-SCHEMA-ONGELDIG",
        f"Element {name} voldoet niet aan het schema.",
        f"Element {name} does not conform to the schema.",
        xpath,
    )


MAX_BEVINDINGEN = 100
"""BerichtValideren reports at most this many schema findings: enough to act on, and a request with
thousands of errors costs no more than one with a hundred."""


def schema_findings(
    element: etree._Element, service: str = ns.KETENPARTNER, maximaal: int = MAX_BEVINDINGEN
) -> list[Finding]:
    """The schema violations of one request element, at most ``maximaal`` (empty when valid)."""
    if element.tag not in request_elements(service):
        name = _qname(str(element.tag))
        return [
            Finding(
                "VIR-OPERATIE-ONBEKEND",
                f"{name} is geen operatie van deze dienst.",
                f"{name} is not an operation of this service.",
                "/" + name,
            )
        ]
    schema = service_schema(service)
    if schema.validate(element):
        return []
    entries: Any = schema.error_log
    uris = _prefix_uris(element)  # once, not per finding
    return [_finding(e, uris) for e in list(entries)[:maximaal]]


def validate_request(element: etree._Element, service: str = ns.KETENPARTNER) -> None:
    """Raise the first schema violation of a request element as a ``SchemaError``."""
    findings = schema_findings(element, service, maximaal=1)
    if findings:
        raise findings[0].as_error()
