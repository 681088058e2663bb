"""Answers rendered by ``gateway/render.py`` carry exactly what Spyne's serialiser writes.

For every answer class of the chain-partner and federation contracts, hypothesis builds instances with
every member filled or left out (text with markup characters and non-ASCII, dates, times with and
without offsets and fractions, arrays of zero to three items), and both renderings are compared in
canonical form with their prefixes rewritten (the only intended difference). The answers the server
gives are, besides, validated against the committed XSDs in the other tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from spyne import AnyXml, Boolean, ComplexModelBase, Date, DateTime, Integer, Unicode, XmlAttribute, XmlData
from spyne.util.xml import get_object_as_xml

from federation import berichten as F
from gateway import berichten as M
from gateway.domain.soorten import MatchSoort, MatchStatus, MeldingStatus, Reden, SignaalSoort
from gateway.render import als_tekst, als_xml

ANTWOORDEN = sorted(
    {getattr(mod, n) for mod in (M, F) for n in dir(mod) if n.endswith("Response")}, key=lambda c: c.__name__
)

# Text as it can occur in XML 1.0, markup characters and non-ASCII included.
TEKEN = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from("<>&'\"\t\n")
TEKST = st.text(TEKEN, max_size=12)
# The domain's kinds and statuses are StrEnums, and the converters hand them over as they are.
SOORTEN = st.sampled_from([s for e in (MatchSoort, MatchStatus, MeldingStatus, Reden, SignaalSoort) for s in e])
TIJDZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-3, minutes=-30))])


def _waarde(cls: Any, diepte: int = 0) -> st.SearchStrategy[Any]:
    if issubclass(cls, (XmlAttribute, XmlData)):
        return _waarde(cls.type, diepte)
    orig = getattr(cls, "__orig__", None) or cls
    if issubclass(orig, AnyXml):
        return st.none()
    if issubclass(orig, ComplexModelBase):
        if diepte > 5:
            return st.none()
        leden = {naam: _lid(v, diepte + 1) for naam, v in orig._type_info.items()}
        return st.builds(lambda kw: orig(**kw), st.fixed_dictionaries(leden))
    if issubclass(orig, Boolean):
        return st.booleans()
    if issubclass(orig, Integer):
        return st.integers(-(2**40), 2**40)
    if issubclass(orig, Unicode):
        return TEKST | SOORTEN
    if issubclass(orig, DateTime):
        return st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=TIJDZONES)
    if issubclass(orig, Date):
        return st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1))
    raise AssertionError(f"no values for {cls}")


def _lid(v: Any, diepte: int) -> st.SearchStrategy[Any]:
    if v.Attributes.max_occurs > 1:
        return st.none() | st.lists(_waarde(v, diepte), max_size=3)
    return st.none() | _waarde(v, diepte)


def canoniek(el: Any) -> str:
    return str(etree.canonicalize(etree.tostring(el).decode(), rewrite_prefixes=True))


def test_every_answer_class_is_rendered_here() -> None:
    """The fast path is taken for the answers that matter (a fallback would hide a slowdown, not a bug)."""
    from gateway.render import _te_schrijven

    assert len(ANTWOORDEN) > 15
    gevallen = [c.__name__ for c in ANTWOORDEN if not _te_schrijven(c)]
    assert gevallen == ["OntvangstbewijsOpvragenResponse"]  # it carries a signed checkpoint (AnyXml)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_the_rendering_equals_spynes(data: st.DataObject) -> None:
    for cls in ANTWOORDEN:
        inst = data.draw(_waarde(cls), label=cls.__name__)
        assert canoniek(als_xml(inst, cls)) == canoniek(get_object_as_xml(inst, cls)), cls.__name__


def test_a_shape_it_does_not_cover_goes_through_spyne() -> None:
    """A customised primitive (here a format) and a subclass instance are Spyne's to render."""
    from spyne import ComplexModel

    leden = [("a", Unicode(str_format="<{}>")), ("b", Unicode)]
    Opgemaakt = type("Opgemaakt", (ComplexModel,), {"__namespace__": "urn:nl:vir:gateway:test", "_type_info": leden})

    inst = Opgemaakt(a="x", b="y")
    assert canoniek(als_xml(inst, Opgemaakt)) == canoniek(get_object_as_xml(inst, Opgemaakt))
    assert "&lt;x&gt;" in etree.tostring(als_xml(inst, Opgemaakt)).decode()

    class Afgeleid(M.Instantie):
        pass

    kaart = M.Contactkaart(instantie=Afgeleid(oin="1", naam="n"))
    assert canoniek(als_xml(kaart, M.Contactkaart)) == canoniek(get_object_as_xml(kaart, M.Contactkaart))


def test_a_match_with_the_domains_kinds_is_rendered_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The converters hand the domain's StrEnum kinds over as they are; a filing's answer with a match must not
    fall back to Spyne's serialiser for them (it took as long as the rest of the transaction)."""
    from gateway import render

    def spyne(*_: Any) -> Any:
        raise AssertionError("rendered by Spyne")

    match = M.Match(matchId="m", meldingId="a", soort=MatchSoort.CLIENTMATCH, status=MatchStatus.ACTIEF)
    antwoord = M.MeldingAfgevenResponse(meldingId="a", match=[match])
    verwacht = canoniek(get_object_as_xml(antwoord, M.MeldingAfgevenResponse))
    monkeypatch.setattr(render, "get_object_as_xml", spyne)
    assert canoniek(als_xml(antwoord, M.MeldingAfgevenResponse)) == verwacht


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_the_text_is_lxmls_byte_for_byte(data: st.DataObject) -> None:
    """What is logged and sent (``als_tekst``) is the bytes lxml writes of the rendered answer: markup characters,
    carriage returns, non-ASCII (as character references) and empty texts included."""
    for cls in ANTWOORDEN:
        inst = data.draw(_waarde(cls), label=cls.__name__)
        try:
            verwacht = etree.tostring(als_xml(inst, cls))
        except ValueError:  # a character XML does not allow: lxml refuses it, and so does the text
            with pytest.raises(ValueError):
                als_tekst(inst, cls)
            continue
        assert als_tekst(inst, cls) == verwacht, cls.__name__


def test_the_text_of_a_batch_answer_and_its_refusals() -> None:
    """A batch's answer (results with matches, refusals with their XPath and attributes), fixed, so the bytes
    compare whatever hypothesis draws; and a text with a character XML 1.0 forbids is refused as lxml refuses it."""
    match = M.Match(
        matchId="m-1", meldingId="a", soort=MatchSoort.CLIENTMATCH, status=MatchStatus.ACTIEF,
        sinds=datetime(2026, 11, 23, 10, tzinfo=UTC),
        partij=[M.Contactkaart(instantie=M.Instantie(oin="1", naam="Zorg & Co <Noord> \"é\"\r\n"))],
    )  # fmt: skip
    goed = M.MeldingResultaat(referentie="r1", meldingId="a", geplandeEinddatum=date(2027, 1, 1), match=[match])
    fout = M.MeldingResultaat(
        referentie="r2",
        fout=M.Bevinding(
            code="VIR-BSN-ONGELDIG",
            melding=[M.Foutmelding(taal="nl", tekst="Ongeldig & <fout>"), M.Foutmelding(taal="en", tekst='"Invalid"')],
            xpath="/kp:MeldingenAfgeven/kp:item[2]/kp:jongere/g:bsn",
        ),
    )
    antwoord = M.MeldingenAfgevenResponse(afgegeven=1, geweigerd=1, resultaat=[goed, fout])
    tekst = als_tekst(antwoord, M.MeldingenAfgevenResponse)
    assert tekst == etree.tostring(als_xml(antwoord, M.MeldingenAfgevenResponse))
    assert b'taal="nl"' in tekst and b"&amp; &lt;fout&gt;" in tekst and b"&#233;" in tekst
    goed.referentie = "r\x01"
    with pytest.raises(ValueError):
        als_tekst(antwoord, M.MeldingenAfgevenResponse)
