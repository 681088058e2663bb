"""Reading a validated request body into the Spyne classes' objects without Spyne's per-element dispatch.

Spyne's ``XmlDocument.complex_from_element`` looks up every child's member, its class attributes and its
deserialisation handler anew for every element, and builds every object through ``ComplexModelBase.__init__``,
which walks all members of the class: for a ``MeldingenAfgeven`` of a thousand items that was a third of the
whole request (cProfile). The body has already passed the committed XSDs (``gateway/protocol.py``), so what is
left is a mapping from element names to attributes. ``Lezer`` works that mapping out once per class and then
does what Spyne does with ``validator=None``, in the same order, with the same result:

- a child is matched on its local name; comments and processing instructions are skipped; a child that occurs
  more than once where the member allows it is collected in a list, otherwise the last one wins;
- a ``Unicode`` child is its text (``""`` for an empty element, ``None`` where the member says empty is none);
- any other member (dates, numbers, booleans, ``AnyXml``), and any child carrying attributes (``xsi:nil``,
  ``xsi:type``), is read by Spyne's own ``from_element``;
- a class this mapping cannot express (XML attributes, simple content, alternative names, a member an attribute
  of a child element may set) is read by Spyne's own ``complex_from_element``.

``tests/test_lezer.py`` reads every request message of the tests both ways and compares the objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree
from spyne.model import ComplexModelBase, Unicode, XmlAttribute

ONBRUIKBAAR = object()  # a class Spyne must read itself


@dataclass(frozen=True)
class _Lid:
    """One member of a class: its attribute name, its Spyne class and how its element is read."""

    sleutel: str
    klasse: Any
    soort: str  # "complex", "tekst" or "spyne"
    veel: bool  # max_occurs > 1: values are collected in a list
    leeg_is_none: bool  # a Unicode member whose empty text reads as None
    alleen_lezen: bool  # Spyne never sets a read-only member


@dataclass(frozen=True)
class _Plan:
    maak: Callable[[], Any]
    leden: dict[str, _Lid]


class Lezer:
    """The fast path of one protocol instance's ``complex_from_element`` (``VirSoap11``/``VirSoap12``)."""

    def __init__(self, protocol: Any) -> None:
        self._p = protocol
        self._spyne_complex = protocol.complex_from_element
        self._plannen: dict[Any, _Plan | object] = {}

    @classmethod
    def installeer(cls, protocol: Any) -> None:
        """Make the fast path the protocol's reader of complex types; only without Spyne's own validation
        (whose frequency checks this path does not make), before the protocol's first lookup."""
        if protocol.validator is None:
            protocol.deserialization_handlers[ComplexModelBase] = cls(protocol).complex_from_element

    def complex_from_element(self, ctx: Any, cls: Any, elt: Any) -> Any:
        plan = self._plannen.get(cls)
        if plan is None:
            plan = self._plannen[cls] = self._maak_plan(cls)
        if plan is ONBRUIKBAAR:
            return self._spyne_complex(ctx, cls, elt)
        assert isinstance(plan, _Plan)
        leden = plan.leden
        inst = plan.maak()
        waarden = inst.__dict__
        for c in elt:
            tag = c.tag
            if not isinstance(tag, str):
                continue  # a comment or a processing instruction
            lid = leden.get(tag.rpartition("}")[2])
            if lid is None:
                continue
            if c.attrib:
                if any(etree.QName(a).localname in leden for a in c.attrib):
                    return self._spyne_complex(ctx, cls, elt)  # an attribute that sets a member: Spyne's rule
                waarde = self._p.from_element(ctx, lid.klasse, c)
            elif lid.soort == "tekst":
                waarde = c.text or ""
                if lid.leeg_is_none and waarde == "":
                    waarde = None
            elif lid.soort == "complex":
                waarde = self.complex_from_element(ctx, lid.klasse, c)
            else:
                waarde = self._p.from_element(ctx, lid.klasse, c)
            if lid.alleen_lezen:
                continue
            if lid.veel:
                lijst = waarden.get(lid.sleutel)
                if lijst is None:
                    lijst = waarden[lid.sleutel] = []
                lijst.append(waarde)
            else:
                waarden[lid.sleutel] = waarde
        return inst

    def _maak_plan(self, cls: Any) -> _Plan | object:
        p = self._p
        attrs = cls.Attributes
        if attrs._xml_tag_body_as is not None or cls._type_info_alt:
            return ONBRUIKBAAR
        if getattr(cls, "__setattr__", object.__setattr__) is not object.__setattr__:
            return ONBRUIKBAAR
        basis = cls.__orig__ or cls
        leeg = basis()
        standaard = dict(leeg.__dict__)
        init = type(leeg).__init__
        if (init is not ComplexModelBase.__init__ and not getattr(init, "zoals_spyne", False)) or any(
            v is not None and not isinstance(v, str | int | float | bool) for v in standaard.values()
        ):
            return ONBRUIKBAAR
        leden: dict[str, _Lid] = {}
        for sleutel, klasse in cls.get_flat_type_info(cls).items():
            if issubclass(klasse, XmlAttribute):
                return ONBRUIKBAAR
            ka = p.get_cls_attrs(klasse)
            handler = p.deserialization_handlers[klasse]
            if issubclass(klasse, ComplexModelBase) and handler == self.complex_from_element:
                soort = "complex"
            elif (
                issubclass(klasse, Unicode)
                and handler == p.unicode_from_element
                and p._from_unicode_handlers[klasse] == p.unicode_from_bytes
            ):
                soort = "tekst"
            else:
                soort = "spyne"
            leden[sleutel] = _Lid(
                sleutel=sleutel,
                klasse=klasse,
                soort=soort,
                veel=ka.max_occurs > 1,
                leeg_is_none=bool(ka.empty_is_none),
                alleen_lezen=bool(ka.read_only),
            )

        def maak() -> Any:
            inst = basis.__new__(basis)
            inst.__dict__.update(standaard)
            return inst

        return _Plan(maak=maak, leden=leden)
