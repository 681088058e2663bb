"""The fast reader of request bodies (``gateway/lezer.py``) against Spyne's own ``complex_from_element``.

Both read the same element trees, generated for every request class of both services: members present or
absent, repeated, empty, in another namespace, with ``xsi:nil`` or an unknown attribute, unknown elements
and comments between them, values Spyne cannot read (a processing instruction never gets this far:
``gateway/xmlsafe.py`` refuses it). The objects they give (or the error they raise) must be the same, member
for member. And every example message of ``tests/data`` is read both ways from its real envelope.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from spyne import Application
from spyne.model import ComplexModelBase, Unicode

from federation.service import Federatie
from gateway import ns
from gateway.ketenpartner import Ketenpartner
from gateway.lezer import Lezer
from gateway.protocol import VirSoap11
from gateway.xmlsafe import parse_untrusted
from tests.support import ROOT

XSI = "http://www.w3.org/2001/XMLSchema-instance"
DIENSTEN = [(Ketenpartner, ns.KETENPARTNER), (Federatie, ns.FEDERATIE)]


def _protocol(service: Any, tns: str, snel: bool) -> Any:
    proto = VirSoap11(service_ns=tns)
    if not snel:  # Spyne's own reader, set back before any lookup
        proto.deserialization_handlers[ComplexModelBase] = proto.complex_from_element
    Application([service], tns=tns, name=service.__name__, in_protocol=proto, out_protocol=VirSoap11(service_ns=tns))
    return proto


PROTOCOLLEN = {tns: (_protocol(s, tns, True), _protocol(s, tns, False)) for s, tns in DIENSTEN}


def _verzoekklassen() -> list[tuple[str, Any]]:
    uit = []
    for service, tns in DIENSTEN:
        for methode in service.public_methods.values():
            uit.append((tns, methode.in_message))
    return uit


VERZOEKEN = _verzoekklassen()


def test_the_fast_reader_is_installed_and_reads_every_request_class_itself() -> None:
    snel, spyne = PROTOCOLLEN[ns.KETENPARTNER]
    assert snel.deserialization_handlers[ComplexModelBase].__self__.__class__ is Lezer
    assert not isinstance(getattr(spyne.deserialization_handlers[ComplexModelBase], "__self__", None), Lezer)
    lezer = snel.deserialization_handlers[ComplexModelBase].__self__
    for _, cls in VERZOEKEN:
        assert lezer._maak_plan(cls) is not None
    assert len(VERZOEKEN) >= 10


def _plat(waarde: Any) -> Any:
    """An object as plain data: its class and members, recursively."""
    if isinstance(waarde, ComplexModelBase):
        return (type(waarde).__name__, {k: _plat(v) for k, v in sorted(waarde.__dict__.items())})
    if isinstance(waarde, list):
        return [_plat(v) for v in waarde]
    if isinstance(waarde, etree._Element):
        return etree.tostring(waarde)
    return (type(waarde).__name__, waarde)


def _lees(proto: Any, cls: Any, elt: Any) -> Any:
    ctx = SimpleNamespace(app=proto.app)
    try:
        return ("ok", _plat(proto.from_element(ctx, cls, elt)))
    except Exception as exc:  # both readers must fail alike
        return ("fout", type(exc).__name__)


TEKSTEN = st.sampled_from(["", " ", "abc", "  x y  ", "één", "123456782", "2026-11-23", "true", "0", "-5", "x" * 50])
WAARDEN = {
    "Date": st.sampled_from(["2026-11-23", "2010-02-28", "", "not a date", " 2026-01-01 ", "2026-02-30"]),
    "DateTime": st.sampled_from(["2026-11-23T10:00:00Z", "2026-11-23T10:00:00+01:00", "2026-11-23", "", "x"]),
    "Boolean": st.sampled_from(["true", "false", "1", "0", "", "ja", " true "]),
    "Integer": st.sampled_from(["0", "42", "-7", "", "1e3", "99999999999999999999", " 5 "]),
}


@st.composite
def _element(draw: Any, cls: Any, tag: str, diepte: int = 0) -> etree._Element:
    elt = etree.Element(tag)
    for naam, lid in cls.get_flat_type_info(cls).items():
        veel = lid.Attributes.max_occurs > 1
        keer = draw(st.integers(0, 3 if veel else 1)) if draw(st.booleans()) else draw(st.integers(0, 2))
        for _ in range(keer):
            naamruimte = draw(st.sampled_from([cls.get_namespace(), cls.get_namespace(), "urn:elders"]))
            kind_tag = f"{{{naamruimte}}}{naam}" if naamruimte else naam
            if issubclass(lid, ComplexModelBase) and diepte < 3:
                kind = draw(_element(lid, kind_tag, diepte + 1))
            else:
                kind = etree.Element(kind_tag)
                soort = lid.__orig__.__name__ if getattr(lid, "__orig__", None) is not None else lid.__name__
                if issubclass(lid, Unicode):
                    kind.text = draw(st.one_of(st.none(), TEKSTEN))
                else:
                    kind.text = draw(WAARDEN.get(soort, TEKSTEN))
            versiering = draw(st.sampled_from(["", "", "", "nil", "nil-false", "vreemd-attribuut", "lid-attribuut"]))
            if versiering == "nil":
                kind.set(f"{{{XSI}}}nil", "true")
            elif versiering == "nil-false":
                kind.set(f"{{{XSI}}}nil", "false")
            elif versiering == "vreemd-attribuut":
                kind.set("taal", "nl")
            elif versiering == "lid-attribuut":
                kind.set(draw(st.sampled_from(list(cls.get_flat_type_info(cls)))), "1")
            elt.append(kind)
            if draw(st.integers(0, 9)) == 0:
                elt.append(draw(st.sampled_from([etree.Comment("c"), etree.Element("onbekend")])))
    return elt


@st.composite
def _verzoek(draw: Any) -> tuple[str, Any, etree._Element]:
    tns, cls = draw(st.sampled_from(VERZOEKEN))
    return tns, cls, draw(_element(cls, f"{{{tns}}}{cls.get_type_name()}"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_verzoek())
def test_both_readers_give_the_same_objects(verzoek: tuple[str, Any, etree._Element]) -> None:
    tns, cls, elt = verzoek
    snel, spyne = PROTOCOLLEN[tns]
    assert _lees(snel, cls, elt) == _lees(spyne, cls, elt), etree.tostring(elt)


VOORBEELDEN = sorted(p for p in (ROOT / "tests" / "data").glob("*/*.xml") if p.name.startswith("ok-")) + sorted(
    (ROOT / "docs" / "examples").glob("*.xml")
)


@pytest.mark.parametrize("pad", VOORBEELDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_example_message_reads_the_same(pad: Path) -> None:
    tekst = pad.read_text(encoding="utf-8")
    for naam, waarde in {"geboortedatum10": "2016-05-01", "over1jaar": "2027-11-23", "bsn": "123456782"}.items():
        tekst = tekst.replace(f"${{{naam}}}", waarde)
    envelope = parse_untrusted(re.sub(r"\$\{\w+\}", "00000001111111111000", tekst).encode())
    body = next(c for b in envelope if etree.QName(b).localname == "Body" for c in b if isinstance(c.tag, str))
    tns = etree.QName(body).namespace
    klassen = {cls.get_type_name(): cls for t, cls in VERZOEKEN if t == tns}
    cls = klassen[etree.QName(body).localname]
    snel, spyne = PROTOCOLLEN[tns]
    gelezen = _lees(snel, cls, body)
    assert gelezen[0] == "ok"
    assert gelezen == _lees(spyne, cls, body)


def _klassen() -> list[Any]:
    from federation import berichten as FB
    from gateway import berichten as GB

    gezien = []
    for module in (GB, FB):
        for waarde in vars(module).values():
            if (
                isinstance(waarde, type)
                and issubclass(waarde, ComplexModelBase)
                and waarde.__module__ == module.__name__
            ):
                gezien.append(waarde)
    for _, cls in VERZOEKEN:
        gezien.append(cls)
    return gezien


@pytest.mark.parametrize("cls", _klassen(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_our_classes_build_objects_as_spyne_does(cls: Any) -> None:
    """``gateway.berichten.snel_init`` against Spyne's own ``__init__``: no keywords, every member, a few
    members, and a keyword that is no member (ignored by both)."""
    leden = list(cls.get_flat_type_info(cls))
    for kwargs in ({}, {k: f"w-{k}" for k in leden}, {k: [1] for k in leden[::2]}, {"geen_lid": 1}):
        snel = cls(**kwargs)
        spyne = cls.__new__(cls)
        ComplexModelBase.__init__(spyne, **kwargs)
        assert type(snel) is type(spyne)
        assert snel.__dict__ == spyne.__dict__
