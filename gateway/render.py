"""Answers rendered to XML from the Spyne classes, without Spyne's generic walk.

Every answer is rendered inside its transaction (it is logged and stored with the work), so rendering
time is time the write lock is held. Spyne's serialiser re-reads each class's attributes for every
element it writes; for the answer to a batch of 1,000 meldingen that was a third of the transaction.
This module reads each class once (``_plan``), then writes the same elements with lxml directly.

It renders exactly what ``spyne.util.xml.get_object_as_xml`` renders for the shapes our models use:
complex types (members in ``_type_info`` order, each element in the namespace of the class that declares
it, ``None`` omitted), arrays, ``XmlAttribute`` and ``XmlData`` members, and the primitives Unicode,
Integer, Boolean, Date and DateTime (dates through Spyne's own formatting). Anything else (another
type, a subclass instance that Spyne would mark with xsi:type, a required member) goes through Spyne
unchanged. Namespace prefixes differ (one declaration per namespace instead of Spyne's per element);
``tests/test_render.py`` compares both renderings of generated answers of every operation.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lxml import etree
from spyne import Boolean, ComplexModelBase, Date, DateTime, Integer, Unicode, XmlAttribute, XmlData
from spyne.protocol.xml import XmlDocument
from spyne.util.xml import get_object_as_xml

from gateway import ns

_SPYNE = XmlDocument()  # Spyne's own text for dates and times
_PREFIXES = {ns.GEGEVENS: "g", ns.KETENPARTNER: "kp", ns.FEDERATIE: "fed", ns.SIGNALEN: "sig", ns.LOG: "log"}


class _Anders(Exception):
    """A shape this module does not render: Spyne renders the whole answer."""


@dataclass(frozen=True)
class _Lid:
    attr: str  # the member's name
    naam: str  # element tag (Clark notation) or attribute name
    soort: str  # "complex", "tekst", "attribuut", "data"
    veel: bool
    klasse: Any  # the complex class (its original, for the instance check), or the primitive
    tekst: Any  # value -> str, for primitives


def _orig(cls: Any) -> Any:
    return getattr(cls, "__orig__", None) or cls


_ZONDER_OPMAAK: set[Any] = set()
"""Writers whose text never holds a character XML escapes (numbers, dates, truth values): ``als_tekst`` skips the
check for them; any other writer's text is checked."""


def _zonder_opmaak(f: Any) -> Any:
    _ZONDER_OPMAAK.add(f)
    return f


def _tekst(cls: Any) -> Any:
    """The function that writes a primitive's value as Spyne does, or _Anders. (A customised primitive
    is a subclass of its original, and carries the customisation in its own ``Attributes``.)"""
    attrs = cls.Attributes
    if getattr(attrs, "format", None) is not None or getattr(attrs, "str_format", None) is not None:
        raise _Anders(cls)
    if issubclass(cls, Boolean):
        return _zonder_opmaak(lambda v: "true" if v else "false")
    if issubclass(cls, Integer):

        @_zonder_opmaak
        def integer(v: Any) -> str:
            if type(v) is not int:
                raise _Anders(type(v))
            return str(v)

        return integer
    if issubclass(cls, Unicode):

        def unicode(v: Any) -> str:
            if type(v) is str:
                return v
            if not isinstance(v, str):
                raise _Anders(type(v))
            # A str subclass (the domain's StrEnum kinds and statuses): lxml, and so Spyne, writes its
            # characters, whatever its __str__ says.
            return str.__str__(v)

        return unicode
    if issubclass(cls, Date) and attrs.serialize_as is None and attrs.date_format is None:
        spyne_datum = functools.partial(_SPYNE.to_unicode, cls)

        @_zonder_opmaak
        def datum(v: Any) -> str:
            # Spyne writes a plain date as its isoformat (a batch's answer has a thousand of them)
            return v.isoformat() if type(v) is date else spyne_datum(v)

        return datum
    if (
        issubclass(cls, DateTime)
        and attrs.serialize_as is None
        and attrs.as_timezone is None
        and attrs.timezone
        and all(
            getattr(attrs, k, None) is None
            for k in ("datetime_format", "dt_format", "date_format", "out_format", "string_format")
        )
    ):
        spyne_tijd = functools.partial(_SPYNE.to_unicode, cls)

        @_zonder_opmaak
        def tijd(v: Any) -> str:
            # and a plain datetime as its isoformat too
            return v.isoformat() if type(v) is datetime else spyne_tijd(v)

        return tijd
    if issubclass(cls, (Date, DateTime)):
        return functools.partial(_SPYNE.to_unicode, cls)
    raise _Anders(cls)


@functools.cache
def _plan(cls: Any) -> tuple[str, tuple[_Lid, ...]]:
    """A complex class's namespace and members, read once."""
    if getattr(cls, "__extends__", None) is not None:
        raise _Anders(cls)
    eigen_ns = cls.get_namespace()
    leden = []
    for naam, v in cls._type_info.items():
        a = v.Attributes
        if getattr(a, "exc", False) or a.min_occurs > 0 or getattr(a, "sub_name", None) is not None:
            raise _Anders(cls)
        veel = a.max_occurs > 1
        sub_ns = getattr(a, "sub_ns", None) or eigen_ns
        if issubclass(v, XmlAttribute):
            if v._ns is not None or veel:
                raise _Anders(cls)
            leden.append(_Lid(naam, naam, "attribuut", False, None, _tekst(v.type)))
        elif issubclass(v, XmlData):
            if veel:
                raise _Anders(cls)
            leden.append(_Lid(naam, naam, "data", False, None, _tekst(v.type)))
        elif issubclass(v, ComplexModelBase):
            _plan(_orig(v))  # raises _Anders for a shape within
            leden.append(_Lid(naam, f"{{{sub_ns}}}{naam}", "complex", veel, _orig(v), None))
        else:
            leden.append(_Lid(naam, f"{{{sub_ns}}}{naam}", "tekst", veel, None, _tekst(v)))
    return eigen_ns, tuple(leden)


def _schrijf(el: Any, cls: Any, inst: Any) -> None:
    for lid in _plan(cls)[1]:
        waarde = getattr(inst, lid.attr, None)
        if waarde is None:
            continue
        for v in waarde if lid.veel else (waarde,):
            if v is None:
                raise _Anders(None)  # Spyne writes a None item of an array as xsi:nil
            if lid.soort == "complex":
                if type(v) is not lid.klasse:
                    raise _Anders(type(v))  # Spyne would mark a subclass with xsi:type
                _schrijf(etree.SubElement(el, lid.naam), lid.klasse, v)
            elif lid.soort == "tekst":
                etree.SubElement(el, lid.naam).text = lid.tekst(v)
            elif lid.soort == "attribuut":
                el.set(lid.naam, lid.tekst(v))
            else:  # data: the element's text (after the elements before it, as Spyne's patched marshall does)
                tekst = lid.tekst(v)
                if len(el) == 0:
                    el.text = tekst
                else:
                    el[-1].tail = tekst


@functools.cache
def _te_schrijven(cls: Any) -> bool:
    """Whether this module renders ``cls`` (decided once per class)."""
    try:
        _plan(cls)
        _namespaces(cls)
    except _Anders:
        return False
    return True


def als_xml(inst: Any, cls: Any) -> Any:
    """``inst`` of complex class ``cls`` as an element named after the class, in its namespace."""
    try:
        if not _te_schrijven(cls) or type(inst) is not _orig(cls):
            raise _Anders(type(inst))
        nsmap = {_PREFIXES.get(u, f"ns{i}"): u for i, u in enumerate(_namespaces(cls))}
        root = etree.Element(f"{{{cls.get_namespace()}}}{cls.get_type_name()}", nsmap=nsmap)
        _schrijf(root, cls, inst)
        return root
    except _Anders:
        return get_object_as_xml(inst, cls)


@functools.cache
def _namespaces(cls: Any) -> tuple[str, ...]:
    """The element namespaces under ``cls``, in order of first use."""
    gezien = [cls.get_namespace()]
    for lid in _plan(cls)[1]:
        if lid.naam.startswith("{"):
            gezien.append(lid.naam[1:].partition("}")[0])
        if lid.soort == "complex":
            gezien.extend(_namespaces(lid.klasse))
    return tuple(dict.fromkeys(gezien))


# --- the answer as text -------------------------------------------------------------------------------------
#
# What the log keeps and the client receives is the answer's text. Building lxml elements and serialising them
# was a tenth of a batch's transaction (a thousand results, some 300 KB); ``als_tekst`` writes the same document
# as text straight from the plan: the same elements, prefixes and declarations, characters escaped as lxml
# escapes them (non-ASCII as character references), an element without content as an empty-element tag.
# ``tests/test_render.py`` compares its bytes with lxml's for every answer class.

_TEKST_TEKENS = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUUT_TEKENS = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)
# Characters XML 1.0 does not allow: lxml refuses them, so a text that holds one takes lxml's path (and its error).
_ONGELDIG = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ASCII_TOEGESTAAN = bytes(b for b in range(128) if b in (9, 10, 13) or b >= 32)

Schrijver = Callable[[Any, list[str]], None]
_TEKST, _COMPLEX, _DATA = 0, 1, 2


def als_tekst(inst: Any, cls: Any) -> bytes:
    """``etree.tostring(als_xml(inst, cls))``, the same bytes, written as text without building elements."""
    schrijf = _tekstschrijver(cls)
    if schrijf is not None and type(inst) is _orig(cls):
        delen: list[str] = []
        try:
            schrijf(inst, delen)
        except _Anders:
            pass
        else:
            tekst = "".join(delen)
            if tekst.isascii():
                uit = tekst.encode("ascii")
                if not uit.translate(None, _ASCII_TOEGESTAAN):
                    return uit
            elif not _ONGELDIG.search(tekst):
                return tekst.encode("ascii", "xmlcharrefreplace")
    return etree.tostring(als_xml(inst, cls))


@functools.cache
def _tekstschrijver(cls: Any) -> Schrijver | None:
    """The writer of the whole document of ``cls`` (None: a shape ``als_xml`` does not cover either)."""
    if not _te_schrijven(cls):
        return None
    nsmap = {_PREFIXES.get(u, f"ns{i}"): u for i, u in enumerate(_namespaces(cls))}
    prefixen = tuple((u, p) for p, u in nsmap.items())
    naam = _gekwalificeerd(f"{{{cls.get_namespace()}}}{cls.get_type_name()}", prefixen)
    declaraties = "".join(f' xmlns:{p}="{u}"' for p, u in nsmap.items())
    return _element(naam, declaraties, cls, prefixen)


def _gekwalificeerd(tag: str, prefixen: tuple[tuple[str, str], ...]) -> str:
    uri, _, lokaal = tag[1:].partition("}")
    return f"{dict(prefixen)[uri]}:{lokaal}"


@functools.cache
def _element(naam: str, declaraties: str, cls: Any, prefixen: tuple[tuple[str, str], ...]) -> Schrijver:
    """The writer of one element ``naam`` holding an instance of ``cls``: its attributes in the start tag, then
    its members in order, as ``_schrijf`` adds them (data: text after the elements before it)."""
    attributen: list[tuple[str, str, Any]] = []
    leden: list[tuple[int, str, bool, str, str, Any, Any]] = []
    for lid in _plan(cls)[1]:
        if lid.soort == "attribuut":
            attributen.append((lid.attr, lid.naam, lid.tekst))
        elif lid.soort == "data":
            leden.append((_DATA, lid.attr, False, "", "", lid.tekst, None))
        elif lid.soort == "complex":
            sub = _element(_gekwalificeerd(lid.naam, prefixen), "", lid.klasse, prefixen)
            leden.append((_COMPLEX, lid.attr, lid.veel, "", "", sub, lid.klasse))
        else:
            kwal = _gekwalificeerd(lid.naam, prefixen)
            leden.append(
                (_TEKST, lid.attr, lid.veel, f"<{kwal}>", f"</{kwal}>", lid.tekst, lid.tekst not in _ZONDER_OPMAAK)
            )
    begin, eind = f"<{naam}{declaraties}", f"</{naam}>"
    tekens = _TEKST_TEKENS

    def schrijf(inst: Any, uit: list[str]) -> None:
        uit.append(begin)
        for attr, attribuut, tekst in attributen:
            waarde = getattr(inst, attr, None)
            if waarde is not None:
                uit.append(f' {attribuut}="{tekst(waarde).translate(_ATTRIBUUT_TEKENS)}"')
        uit.append(">")
        leeg = len(uit)
        for soort, attr, veel, open_, sluit, f, extra in leden:
            waarde = getattr(inst, attr, None)
            if waarde is None:
                continue
            waarden = waarde if veel else (waarde,)
            if veel and None in waarden:
                raise _Anders(None)  # Spyne writes a None item of an array as xsi:nil
            if soort == _TEKST:
                for v in waarden:
                    t = f(v)
                    if extra and ("&" in t or "<" in t or ">" in t or "\r" in t):
                        t = t.translate(tekens)
                    uit.append(open_ + t + sluit)
            elif soort == _COMPLEX:
                for v in waarden:
                    if type(v) is not extra:
                        raise _Anders(type(v))  # Spyne would mark a subclass with xsi:type
                    f(v, uit)
            else:
                uit.append(f(waarde).translate(tekens))
        if len(uit) == leeg:
            uit[-1] = "/>"  # no content at all: lxml's empty-element tag
        else:
            uit.append(eind)

    return schrijf
