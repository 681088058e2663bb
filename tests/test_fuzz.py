"""A bounded fuzz run over the in-process parse and validation path.

Whatever bytes arrive, the WSGI application answers with a SOAP response or with a SOAP fault that
carries a documented ``VIR-…`` code; never VIR-INTERN, never an exception out of the application, never
library text. The inputs: (a) random bytes; (b) a valid MeldingAfgeven envelope with byte-level edits, or
with odd values in its fields; (c) generated XML trees built from the contract's own element names, mostly
as an operation in a SOAP envelope, so that many get past the parser into the schema, Spyne and the rules.
The run is derandomised so that CI sees the same examples every time (about 10 s in all); ``pytest
--hypothesis-show-statistics`` shows which fault codes were reached. Values at the edges of the calendar
that the schema accepts are checked one by one at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from string import Template
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway.app import GatewayApp
from gateway.config import Settings
from gateway.contract import request_elements
from gateway.domain.regels import plus_jaren
from gateway.errors import FAULTS
from store.db import Database
from store.migrate import upgrade
from store.repository import Repository
from tests.support import GATEWAY_OIN, KP, ROOT, SOAP11, SOAP12, A, G, bsn, wsgi_post
from vir.app import create_app

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIBRARY_TEXT = ("lxml", "libxml", "traceback", "sqlalchemy", "psycopg", "spyne", "element '{")
CONTENT_TYPES = ("text/xml; charset=utf-8", "application/soap+xml; charset=utf-8")
TEMPLATE = ROOT / "tests" / "data" / "MeldingAfgeven" / "ok-bsn-geboortedatum-einddatum.xml"
XSD = "http://www.w3.org/2001/XMLSchema"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayApp]:
    """One application on its own SQLite database, with instantie A registered so that valid
    envelopes reach the rules and the store."""
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("fuzz"))
    db = Database(settings_.url)
    upgrade(db)
    with db.transaction() as session:
        Repository(session).add_instantie(A, "Jeugdzorg Noord", "Groningen", datetime.now(UTC))
    yield create_app(settings_, db)
    db.dispose()


def fuzz_call(app: GatewayApp, body: bytes, content_type: str = "text/xml; charset=utf-8") -> None:
    """One fuzzed request, checked; the outcome is counted (pytest --hypothesis-show-statistics)."""
    event(assert_answer(*wsgi_post(app, body, content_type)) or "answered")


def assert_answer(status: str, out: bytes) -> str | None:
    """A SOAP response, or a SOAP fault with a documented code other than VIR-INTERN; the code."""
    text = out.decode("utf-8", "replace")
    for raw in LIBRARY_TEXT:
        assert raw not in text.lower(), f"library text {raw!r}: {text[:2000]}"
    doc = etree.fromstring(out, etree.XMLParser(resolve_entities=False, no_network=True))
    env = etree.QName(doc).namespace
    assert env in (SOAP11, SOAP12) and etree.QName(doc).localname == "Envelope", text[:2000]
    body = doc.find(f"{{{env}}}Body")
    assert body is not None, text[:2000]
    fault = body.find(f"{{{env}}}Fault")
    if fault is None:
        assert status.startswith("200"), text[:2000]
        answer = [c for c in body if isinstance(c.tag, str)]
        assert len(answer) == 1 and etree.QName(answer[0]).localname.endswith("Response"), text[:2000]
        return None
    assert status.startswith(("500", "415")), status
    code = fault.findtext(f".//{{{G}}}fout/{{{G}}}code")
    assert code in FAULTS, f"undocumented fault code {code!r}: {text[:2000]}"
    assert code != "VIR-INTERN", text[:2000]
    return code


def fill(**values: str) -> bytes:
    """The valid MeldingAfgeven, with fresh values unless given."""
    today = date.today()
    fresh = {
        "berichtId": str(uuid.uuid4()),
        "A": A,
        "gatewayOin": GATEWAY_OIN,
        "bsn": bsn(),
        "geboortedatum10": plus_jaren(today, -10).isoformat(),
        "over1jaar": plus_jaren(today, 1).isoformat(),
    }
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute({**fresh, **values}).encode()


def test_the_valid_envelope_is_accepted(app: GatewayApp) -> None:
    """The base of the mutations is itself valid, so that mutations start from an accepted message."""
    status, out = wsgi_post(app, fill())
    assert status.startswith("200"), out
    assert assert_answer(status, out) is None


# ---- (a) random bytes --------------------------------------------------------------------------------


@pytest.mark.slow
@FUZZ
@given(body=st.binary(max_size=4096), content_type=st.sampled_from(CONTENT_TYPES))
@example(body=b"", content_type=CONTENT_TYPES[0])
@example(body=b"\xef\xbb\xbf", content_type=CONTENT_TYPES[1])
@example(body=b"\xff\xfe<\x00a\x00/\x00>\x00", content_type=CONTENT_TYPES[0])
def test_random_bytes(app: GatewayApp, body: bytes, content_type: str) -> None:
    fuzz_call(app, body, content_type)


# ---- (b) mutations of a valid envelope ---------------------------------------------------------------

TOKENS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&lt;",
    b"&#0;",
    b"&#x10FFFF;",
    b"&#xD800;",
    b"&unknown;",
    b"]]>",
    b"<![CDATA[x]]>",
    b"<!-- x -->",
    b"<?pi x?>",
    b"<!DOCTYPE x>",
    b'<!ENTITY e "x">',
    b'xmlns=""',
    b'xmlns:g="urn:x"',
    b' g:x="1"',
    b'"',
    b"'",
    b"<a>",
    b"</a>",
    b"<a/>",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xe2\x80\xa8",
    b"\t",
    b"\r\n",
    b" ",
    b"-",
    b"+",
    b":",
    b"0",
    b"9",
    b"T",
    b"Z",
    b"99999",
    b"9" * 40,
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The valid envelope with one to eight byte-level edits: flips, cuts, copies and XML tokens."""
    data = bytearray(fill())
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "delete", "insert", "token", "duplicate", "truncate"]))
        if op == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "duplicate":
            end = min(len(data), at + draw(st.integers(1, 200)))
            data[at:at] = data[at:end]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


@pytest.mark.slow
@FUZZ
@given(body=mutated(), content_type=st.sampled_from(CONTENT_TYPES))
def test_mutated_envelopes(app: GatewayApp, body: bytes, content_type: str) -> None:
    fuzz_call(app, body, content_type)


XML_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn", "Co")) | st.sampled_from("\t\n"),
    max_size=40,
)
VALUES = st.one_of(
    XML_TEXT,
    st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    st.dates().map(date.isoformat),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.sampled_from([A, GATEWAY_OIN, "", " ", "true", "0", "-1", "123456782", "P1D"]),
)
FIELDS = ("berichtId", "A", "gatewayOin", "bsn", "geboortedatum10", "over1jaar")


@pytest.mark.slow
@FUZZ
@given(values=st.dictionaries(st.sampled_from(FIELDS), VALUES, min_size=1, max_size=3))
def test_field_values(app: GatewayApp, values: dict[str, str]) -> None:
    """Every field of the valid envelope with odd values: past the parser, into the schema and the rules."""
    fuzz_call(app, fill(**{k: escape(v) for k, v in values.items()}))


# ---- (c) generated XML trees -------------------------------------------------------------------------


def _contract_names() -> list[tuple[str, str]]:
    """(namespace, local name) of every element the contract declares."""
    names: set[tuple[str, str]] = set()
    for xsd, namespace in (("ketenpartner-v1.xsd", KP), ("gegevens-v1.xsd", G)):
        doc = etree.parse(str(ROOT / "schemas" / "xsd" / xsd))
        names |= {(namespace, str(el.get("name"))) for el in doc.iter(f"{{{XSD}}}element") if el.get("name")}
    return sorted(names)


NAMES = st.sampled_from(_contract_names()) | st.tuples(
    st.sampled_from([KP, G, SOAP11, SOAP12, "", "urn:x"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True),
)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["taal", "x", f"{{{SOAP11}}}mustUnderstand", f"{{{SOAP12}}}mustUnderstand", f"{{{G}}}id"]),
    st.sampled_from(["1", "true", "0", "nl", ""]) | XML_TEXT,
    max_size=2,
)


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    """An element with a contract (or random) name, attributes, text, and up to three children."""
    namespace, local = draw(NAMES)
    el = etree.Element(f"{{{namespace}}}{local}" if namespace else local, nsmap={"kp": KP, "g": G})
    for k, v in draw(ATTRIBUTES).items():
        el.set(k, v)
    el.text = draw(st.none() | VALUES)
    if depth < 3:
        for child in draw(st.lists(trees(depth + 1), max_size=3)):
            el.append(child)
    return el


OPERATIONS = sorted(etree.QName(name).localname for name in request_elements(KP))


@st.composite
def envelopes(draw: st.DrawFn) -> tuple[bytes, str]:
    """A generated tree in a SOAP envelope, mostly an operation of the service in the version the
    Content-Type names, so that most requests get as far as the schema; sometimes anything at all."""
    soap = draw(st.sampled_from([SOAP11, SOAP12]))
    mismatch = draw(st.sampled_from([False] * 7 + [True]))  # now and then the other version's Content-Type
    content_type = CONTENT_TYPES[(soap == SOAP12) != mismatch]
    if draw(st.sampled_from(["operation"] * 3 + ["anything"])) == "operation":
        operation = etree.Element(f"{{{KP}}}{draw(st.sampled_from(OPERATIONS))}", nsmap={"kp": KP, "g": G})
        for child in draw(st.lists(trees(1), max_size=4)):
            operation.append(child)
    else:
        operation = draw(trees())
    shape = draw(st.sampled_from(["envelope"] * 6 + ["header", "bare"]))
    if shape == "bare":
        return etree.tostring(operation), content_type
    envelope = etree.Element(f"{{{soap}}}Envelope", nsmap={"soap": soap})
    if shape == "header":
        etree.SubElement(envelope, f"{{{soap}}}Header").append(draw(trees(2)))
    etree.SubElement(envelope, f"{{{soap}}}Body").append(operation)
    return etree.tostring(envelope, xml_declaration=draw(st.booleans()), encoding="UTF-8"), content_type


@pytest.mark.slow
@FUZZ
@given(request=envelopes())
def test_generated_trees(app: GatewayApp, request: tuple[bytes, str]) -> None:
    fuzz_call(app, *request)


# ---- values at the edges of xs:date and xs:dateTime --------------------------------------------------


EDGES = [
    pytest.param({"tijdstip": "2026-11-23T24:00:00Z"}, id="tijdstip-24-00"),
    pytest.param({"tijdstip": "10000-01-01T00:00:00Z"}, id="tijdstip-jaar-10000"),
    pytest.param({"geboortedatum10": "-2016-01-01"}, id="geboortedatum-negatief-jaar"),
    pytest.param({"over1jaar": "10000-01-01"}, id="einddatum-jaar-10000"),
    pytest.param({"tijdstip": "0001-01-01T00:00:00+14:00"}, id="tijdstip-jaar-1-plus-14"),
    pytest.param({"tijdstip": "9999-12-31T23:59:59-14:00"}, id="tijdstip-jaar-9999-min-14"),
]


@pytest.mark.parametrize("values", EDGES)
def test_calendar_edges(app: GatewayApp, values: dict[str, Any]) -> None:
    """Values the schema accepts at the edges of the calendar: answered, or refused with a documented code."""
    values = dict(values)
    tijdstip = values.pop("tijdstip", None)
    body = fill(**values)
    if tijdstip:
        body = body.replace(b"2026-11-23T10:15:00+01:00", tijdstip.encode())
    assert_answer(*wsgi_post(app, body))
