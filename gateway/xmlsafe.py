"""The one place untrusted XML is parsed.

Entities are never resolved, no DTD is loaded, nothing is fetched from the network, and libxml2's
own limits stay on (no ``huge_tree``: depth ≤ 256, text nodes ≤ 10 MB). A document with a DOCTYPE
or processing instruction is refused outright rather than parsed with parts ignored: a SOAP message
never needs one (SOAP 1.1 §3, SOAP 1.2 part 1 §5), and refusing is easier to reason about.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from gateway.errors import XmlError

# The hardened options, for every parse of XML from outside (``XMLParser`` and ``iterparse`` alike).
# ``collect_ids`` stays on (its default): with it off, libxml2 loads an external DTD and external
# parameter entities despite ``load_dtd=False`` (XML_PARSE_DTDLOAD is implied by its ID handling).
VEILIGE_OPTIES: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
}


def veilige_parser() -> etree.XMLParser:
    """The hardened parser, for every parse of XML from outside (also re-parses of its parts)."""
    # A new parser per call: lxml parsers are not thread-safe, and creating one is cheap.
    return etree.XMLParser(**VEILIGE_OPTIES, remove_blank_text=False)


_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _als_utf8(data: bytes) -> bytes:
    """The document's bytes as UTF-8 for the DTD scan: UTF-16 (with or without BOM) and UTF-32 are decoded
    first, so that a DOCTYPE cannot hide in another encoding."""
    for bom, codec in (
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\x00<\x00", "utf-16-be"),
        (b"<\x00", "utf-16-le"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").encode()
    return data


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse bytes from outside into an element, or raise ``XmlError`` (never an lxml error).

    The whole document is scanned for a DOCTYPE or ENTITY declaration before libxml2 sees it (a
    comment or another encoding cannot hide one), and the parsed tree is checked again after."""
    if _DTD.search(_als_utf8(data)):
        raise XmlError(code="VIR-XML-DTD-VERBODEN")
    try:
        root = etree.fromstring(data, veilige_parser())
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
    for buren in (root.itersiblings(preceding=True), root.itersiblings()):
        if any(isinstance(b, etree._ProcessingInstruction) for b in buren):
            raise XmlError(code="VIR-XML-DTD-VERBODEN")
    return root
