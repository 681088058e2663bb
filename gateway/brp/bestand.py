"""The BRP extract file (``schemas/xsd/brp-v1.xsd``): its dataclasses, a streaming reader and writer.

A file is the population register as it stands on its peildatum: addresses, then persons, keys only.
A register of a million persons is an ordinary file, so neither direction holds the XML tree in memory.

Reading streams the file with the same hardened settings as ``gateway.xmlsafe`` (no DTD, no entities,
no network, libxml2's limits on) and, like it, refuses a DOCTYPE or processing instruction outright.
``huge_tree`` stays off: it lifts libxml2's limits on nesting depth and on the length of one text node,
attribute value or name, and this format nests three deep with short attribute values only, however
many persons a file holds (a file of a million persons reads without it).

Validating the whole document at once would need the whole tree, and libxml2's streaming validation
reports no line numbers. So the reader validates the children of ``bevolking`` in pieces of a few
thousand against the committed schema, and checks the rules that span pieces itself, naming the line
of the offending element: the identity constraints (``xs:key``, ``xs:keyref``, ``xs:unique``) and
"addresses first". A file thus passes ``lees`` when it passes ``xmllint --schema brp-v1.xsd`` and the
checks the schema cannot express: the eleven-test of every BSN, parents other than the person, and
dates that fit the peildatum.

Line numbers are libxml2's, the same ones xmllint reports; beyond line 65535 libxml2 may name the
line after the element.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from lxml import etree

from gateway import contract, ns
from gateway.domain.regels import bsn_is_geldig
from gateway.xmlsafe import VEILIGE_OPTIES

NS = ns.BRP
XSD_NAAM = "brp-v1.xsd"

BEVOLKING = f"{{{NS}}}bevolking"
ADRES = f"{{{NS}}}adres"
PERSOON = f"{{{NS}}}persoon"
OUDER = f"{{{NS}}}ouder"

# Elements validated together: large enough that validation runs at C speed, small enough that the
# moved pieces stay a few hundred kilobytes.
_STUK = 2000
# How far into the file a DOCTYPE is looked for before anything is parsed (as gateway.xmlsafe does).
_KOP = 4096


@dataclass(frozen=True, slots=True)
class Adres:
    """An address object; ``instelling`` marks an institution, whose residents are not family."""

    id: str
    postcode: str
    huisnummer: int
    gemeente: str
    instelling: bool = False


@dataclass(frozen=True, slots=True)
class Persoon:
    """A person by BSN. ``adres`` is an ``Adres.id`` (None: no known address); ``ouders`` are BSNs."""

    bsn: str
    geboortedatum: date
    geslacht: str
    overlijdensdatum: date | None = None
    adres: str | None = None
    ouders: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Bevolking:
    """The register as of ``peildatum``: loading it replaces whatever was loaded before."""

    peildatum: date
    adressen: list[Adres] = field(default_factory=list)
    personen: list[Persoon] = field(default_factory=list)


class BrpBestandFout(Exception):
    """A BRP file that cannot be loaded. The message names the file, the line and what is wrong."""

    def __init__(self, melding: str, *, bestand: str | None = None, regel: int | None = None) -> None:
        self.melding = melding
        self.bestand = bestand
        self.regel = regel
        waar = ", ".join(w for w in (bestand, f"line {regel}" if regel else None) if w)
        super().__init__(f"{waar}: {melding}" if waar else melding)


# ===== The schema =====


def _xsd_document() -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.parse(str(contract.xsd_dir() / XSD_NAAM), parser)


@cache
def schema() -> etree.XMLSchema:
    """The committed schema of the BRP file, compiled once per process."""
    return etree.XMLSchema(_xsd_document())


def _schema_per_stuk() -> etree.XMLSchema:
    """The committed schema without its identity constraints, for validating a file piece by piece.

    A piece cannot see the addresses of earlier pieces, so ``lees`` checks key, keyref and unique
    itself. Compiled per read (a few milliseconds) so that every read has an error log of its own.
    """
    doc = _xsd_document()
    for idc in list(doc.iter(f"{{{ns.XSD}}}key", f"{{{ns.XSD}}}keyref", f"{{{ns.XSD}}}unique")):
        parent = idc.getparent()
        if parent is not None:
            parent.remove(idc)
    return etree.XMLSchema(doc)


# ===== Reading =====


def lees(path: str | os.PathLike[str]) -> Bevolking:
    """Read and check a BRP file, or raise ``BrpBestandFout`` naming the line of the first mistake.

    An unreadable file raises ``OSError`` as usual.
    """
    return _Lezer(os.fspath(path)).lees()


def _leesbaar(message: str) -> str:
    """libxml2's complaint without our namespace in every element and type name."""
    return message.replace(f"{{{NS}}}", "").strip()


def _regel(el: etree._Element) -> int:
    line: Any = el.sourceline  # the stubs leave it untyped
    return int(line or 0)


def _eerste_fout(schema: etree.XMLSchema) -> Any:
    log: Any = schema.error_log
    return log[0]


def _datum(value: str | None) -> date | None:
    # xs:date collapses whitespace before it checks the value; date.fromisoformat does not.
    return date.fromisoformat(value.strip()) if value is not None else None


class _Lezer:
    """One pass over one file: parse, validate piece by piece, check, build the dataclasses."""

    def __init__(self, pad: str) -> None:
        self.pad = pad
        self.schema = _schema_per_stuk()
        self.root: etree._Element | None = None
        self.peildatum = date.min
        self.wachtrij: list[etree._Element] = []
        self.adressen: list[Adres] = []
        self.personen: list[Persoon] = []
        self.adres_regel: dict[str, int] = {}  # adres id -> line, for xs:key and xs:keyref
        self.bsn_regel: dict[str, int] = {}  # persoon bsn -> line, for xs:unique
        self.eerste_persoon: int | None = None

    def fout(self, melding: str, regel: int | None) -> BrpBestandFout:
        return BrpBestandFout(melding, bestand=self.pad, regel=regel)

    def lees(self) -> Bevolking:
        with open(self.pad, "rb") as f:
            self._weiger_doctype(f.read(_KOP))
            f.seek(0)
            events = etree.iterparse(
                f,
                events=("end", "pi"),
                remove_comments=True,
                **VEILIGE_OPTIES,
            )
            try:
                for event, el in events:
                    if event == "pi":
                        raise self.fout("processing instructions are not allowed", _regel(el))
                    if self.root is None:
                        self._begin(el.getroottree().getroot())
                    if el.getparent() is self.root:
                        self.wachtrij.append(el)
                        if len(self.wachtrij) >= _STUK:
                            self._verwerk()
            except etree.XMLSyntaxError as exc:
                if self.root is not None:
                    self._verwerk()  # a mistake before the broken spot is the first one
                raise self.fout(f"not well-formed XML: {exc.msg}", exc.lineno or None) from exc
        if self.root is None:  # pragma: no cover - a well-formed document has a root element
            raise self.fout("no bevolking element", None)
        self._verwerk()
        return Bevolking(self.peildatum, self.adressen, self.personen)

    def _weiger_doctype(self, kop: bytes) -> None:
        """Refuse a DOCTYPE before libxml2 sees it: a BRP file never needs one, and entities are a risk."""
        upper = kop.upper()
        for teken in (b"<!DOCTYPE", b"<!ENTITY"):
            at = upper.find(teken)
            if at >= 0:
                raise self.fout("a DOCTYPE or entity declaration is not allowed", kop[:at].count(b"\n") + 1)

    def _begin(self, root: etree._Element) -> None:
        """The root element: no DTD further down the prolog, the right name, a valid peildatum."""
        self.root = root
        info: Any = root.getroottree().docinfo
        if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
            raise self.fout("a DOCTYPE or entity declaration is not allowed", _regel(root))
        if not self.schema.validate(self._stuk([])):
            raise self.fout(_leesbaar(_eerste_fout(self.schema).message), _regel(root))
        self.peildatum = _datum(root.get("peildatum")) or date.min

    def _stuk(self, elementen: list[etree._Element]) -> etree._Element:
        """A ``bevolking`` with the root's attributes around these elements, which are moved into it."""
        root: Any = self.root
        stuk = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=root.nsmap)
        stuk.text = root.text
        stuk.extend(elementen)
        return stuk

    def _verwerk(self) -> None:
        """Validate the waiting elements, then check and keep them, up to the first schema violation."""
        elementen, self.wachtrij = self.wachtrij, []
        if not elementen:
            return
        schemafout: tuple[int, str] | None = None
        if not self.schema.validate(self._stuk(elementen)):
            entry = _eerste_fout(self.schema)
            # Line 0: the complaint is about the bevolking element itself (e.g. text between elements).
            schemafout = (entry.line or (_regel(self.root) if self.root is not None else 0), _leesbaar(entry.message))
        for el in elementen:
            regel = _regel(el)
            if schemafout is not None and regel >= schemafout[0]:
                break
            try:
                if el.tag == ADRES:
                    self._adres(el, regel)
                elif el.tag == PERSOON:
                    self._persoon(el, regel)
            except ValueError as exc:  # a value the schema let through but Python cannot take
                raise self.fout(str(exc), regel) from exc
        if schemafout is not None:
            raise self.fout(schemafout[1], schemafout[0])

    def _adres(self, el: etree._Element, regel: int) -> None:
        if self.eerste_persoon is not None:
            raise self.fout(
                f"Element 'adres': all adres elements come before the first persoon (line {self.eerste_persoon}).",
                regel,
            )
        id_ = el.get("id", "")
        if id_ in self.adres_regel:
            raise self.fout(f"adres id {id_} occurs twice (first on line {self.adres_regel[id_]}).", regel)
        self.adres_regel[id_] = regel
        self.adressen.append(
            Adres(
                id=id_,
                postcode=el.get("postcode", ""),
                huisnummer=int(el.get("huisnummer", "")),
                gemeente=el.get("gemeente", ""),
                instelling=el.get("instelling", "false").strip() in ("true", "1"),
            )
        )

    def _persoon(self, el: etree._Element, regel: int) -> None:
        if self.eerste_persoon is None:
            self.eerste_persoon = regel
        bsn = el.get("bsn", "")
        if not bsn_is_geldig(bsn):
            raise self.fout(f"persoon bsn {bsn} fails the eleven-test (elfproef).", regel)
        if bsn in self.bsn_regel:
            raise self.fout(f"persoon bsn {bsn} occurs twice (first on line {self.bsn_regel[bsn]}).", regel)
        self.bsn_regel[bsn] = regel
        adres = el.get("adres")
        if adres is not None and adres not in self.adres_regel:
            raise self.fout(f"persoon {bsn} lives at adres {adres}, which is not in the file.", regel)
        ouders = tuple(o.get("bsn", "") for o in el.iterchildren(OUDER))
        for ouder in ouders:
            # A parent listed earlier as a persoon has passed the test already.
            if ouder not in self.bsn_regel and not bsn_is_geldig(ouder):
                raise self.fout(f"ouder bsn {ouder} of persoon {bsn} fails the eleven-test (elfproef).", regel)
        if bsn in ouders:
            raise self.fout(f"persoon {bsn} is listed as its own ouder.", regel)
        if len(set(ouders)) < len(ouders):
            raise self.fout(f"persoon {bsn} lists ouder {ouders[0]} twice.", regel)
        geboren = _datum(el.get("geboortedatum")) or date.min
        overleden = _datum(el.get("overlijdensdatum"))
        if geboren > self.peildatum:
            raise self.fout(f"persoon {bsn} is born after the peildatum {self.peildatum.isoformat()}.", regel)
        if overleden is not None and not geboren <= overleden <= self.peildatum:
            raise self.fout(
                f"persoon {bsn}: overlijdensdatum {overleden.isoformat()} is not between geboortedatum and peildatum.",
                regel,
            )
        self.personen.append(Persoon(bsn, geboren, el.get("geslacht", ""), overleden, adres, ouders))


# ===== Writing =====


def schrijf(bevolking: Bevolking, path: str | os.PathLike[str]) -> None:
    """Write a file ``lees`` accepts, element by element: the tree of a whole register is never built.

    One element per line, indented, so that a line number in an error points at one person.
    """
    with open(path, "wb") as f:
        with etree.xmlfile(f, encoding="UTF-8") as xf:
            xf.write_declaration()
            with xf.element(BEVOLKING, {"peildatum": bevolking.peildatum.isoformat()}, nsmap={None: NS}):
                for a in bevolking.adressen:
                    xf.write("\n  ")
                    with xf.element(ADRES, _adres_attributen(a)):
                        pass
                for p in bevolking.personen:
                    xf.write("\n  ")
                    with xf.element(PERSOON, _persoon_attributen(p)):
                        for ouder in p.ouders:
                            xf.write("\n    ")
                            with xf.element(OUDER, {"bsn": ouder}):
                                pass
                        if p.ouders:
                            xf.write("\n  ")
                xf.write("\n")
        f.write(b"\n")


def _adres_attributen(a: Adres) -> dict[str, str]:
    attributen = {"id": a.id, "postcode": a.postcode, "huisnummer": str(a.huisnummer), "gemeente": a.gemeente}
    if a.instelling:
        attributen["instelling"] = "true"
    return attributen


def _persoon_attributen(p: Persoon) -> dict[str, str]:
    attributen = {"bsn": p.bsn, "geboortedatum": p.geboortedatum.isoformat(), "geslacht": p.geslacht}
    if p.overlijdensdatum is not None:
        attributen["overlijdensdatum"] = p.overlijdensdatum.isoformat()
    if p.adres is not None:
        attributen["adres"] = p.adres
    return attributen
