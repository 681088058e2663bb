"""The one place untrusted XML is parsed.

Entities are never resolved, no DTD is loaded, nothing is fetched from the network, and libxml2's
own limits stay on (no ``huge_tree``: depth ≤ 256, text nodes ≤ 10 MB). A document with a DOCTYPE
or processing instruction is refused outright rather than parsed with parts ignored: a SOAP message
never needs one (SOAP 1.1 §3, SOAP 1.2 part 1 §5), and refusing is easier to reason about.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.errors import XmlError


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe, and creating one is cheap.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
    )


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse bytes from outside into an element, or raise ``XmlError`` (never an lxml error)."""
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
        raise XmlError(code="VIR-XML-DTD-VERBODEN")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise XmlError(
            f"(regel {line})" if line else "", detail_en=f"(line {line})" if line else "", code="VIR-XML-ONGELDIG"
        ) from exc
    doc: Any = root.getroottree().docinfo
    if doc.doctype or doc.internalDTD is not None or doc.externalDTD is not None:
        raise XmlError(code="VIR-XML-DTD-VERBODEN")
    if next(root.iter(etree.Entity, etree.ProcessingInstruction), None) is not None:
        raise XmlError(code="VIR-XML-DTD-VERBODEN")
    prev = root.getprevious()
    while prev is not None:
        if isinstance(prev, etree._ProcessingInstruction):
            raise XmlError(code="VIR-XML-DTD-VERBODEN")
        prev = prev.getprevious()
    return root
