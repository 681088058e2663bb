"""The rules in plain Python, without SOAP or SQL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

import pytest

from gateway.domain import matching
from gateway.domain.ids import nieuw_id
from gateway.domain.jongere import Jongere, normaliseer_naam
from gateway.domain.regels import Regels, bsn_is_geldig, plus_jaren
from gateway.domain.sleutelring import Sleutelring, SleutelringFout
from gateway.errors import RuleError


@pytest.mark.parametrize(
    "bsn,ok",
    [
        ("111222333", True),
        ("123456782", True),
        ("111222334", False),
        ("000000000", False),
        ("12345678", False),
        ("12345678a", False),
    ],
)
def test_elfproef(bsn: str, ok: bool) -> None:
    assert bsn_is_geldig(bsn) is ok


def test_plus_jaren_handles_leap_day() -> None:
    assert plus_jaren(date(2024, 2, 29), 2) == date(2026, 2, 28)
    assert plus_jaren(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_age_limit_is_the_23rd_birthday() -> None:
    r = Regels()
    vandaag = date(2026, 11, 23)
    r.controleer_leeftijd(date(2003, 11, 24), vandaag, "/x")  # 22, birthday tomorrow
    with pytest.raises(RuleError) as exc:
        r.controleer_leeftijd(date(2003, 11, 23), vandaag, "/x")
    assert exc.value.code == "VIR-JONGERE-TE-OUD"
    with pytest.raises(RuleError) as exc:
        r.controleer_leeftijd(date(2026, 11, 24), vandaag, "/x")
    assert exc.value.code == "VIR-GEBOORTEDATUM-TOEKOMST"


def test_planned_end_date_defaults_to_and_is_capped_at_the_legal_maximum() -> None:
    r = Regels()
    d = date(2026, 11, 23)
    assert r.geplande_einddatum(None, d, d, "/x") == date(2028, 11, 23)
    assert r.geplande_einddatum(date(2028, 11, 23), d, d, "/x") == date(2028, 11, 23)
    for bad in (date(2028, 11, 24), d):
        with pytest.raises(RuleError):
            r.geplande_einddatum(bad, d, d, "/x")
    # The maximum counts from filing, not from the change.
    with pytest.raises(RuleError):
        r.geplande_einddatum(date(2029, 1, 1), d, date(2027, 1, 1), "/x")
    assert Regels(max_melding_jaren=1).geplande_einddatum(None, d, d, "/x") == date(2027, 11, 23)


RING = Sleutelring({1: b"\x01" * 32})


def test_servicenummer_is_deterministic_and_normalised() -> None:
    a = Jongere.zonder_bsn("Çelik-de Vries", None, date(2015, 3, 1), "V", RING)
    b = Jongere.zonder_bsn("celik de vries", None, date(2015, 3, 1), "V", RING)
    c = Jongere.zonder_bsn("Celik de Vries", None, date(2015, 3, 2), "V", RING)
    assert a.sleutel == b.sleutel != c.sleutel
    assert a.sleutel.startswith("vsn:1:") and len(a.sleutel) == len("vsn:1:") + 32
    assert normaliseer_naam("Dijk, van") == "dijkvan"
    assert (
        Jongere.zonder_bsn("Dijk", "van", date(2015, 3, 1), "M", RING).sleutel
        == Jongere.zonder_bsn("vanDijk", None, date(2015, 3, 1), "M", RING).sleutel
    )


def test_servicenummer_is_keyed_and_versioned() -> None:
    """Without the national key nobody computes the number from a name and a date; every version in the ring
    and the unkeyed number of earlier releases (version 0) are the youth's earlier keys."""
    ander = Sleutelring({1: b"\x02" * 32})
    gedraaid = Sleutelring({1: b"\x01" * 32, 2: b"\x03" * 32})
    args = ("Çelik", None, date(2015, 3, 1), "V")
    eigen, vreemd, nieuw = (Jongere.zonder_bsn(*args, r) for r in (RING, ander, gedraaid))
    assert eigen.sleutel != vreemd.sleutel
    assert nieuw.sleutel.startswith("vsn:2:") and nieuw.eerdere[0] == eigen.sleutel
    onversleuteld = "vsn:" + hashlib.sha256(b"v1|celik|2015-03-01|V").hexdigest()[:16]
    assert nieuw.eerdere[-1] == eigen.eerdere[-1] == onversleuteld
    with pytest.raises(SleutelringFout):
        Sleutelring.lees("1 abcd\n")  # too short a secret
    with pytest.raises(SleutelringFout):
        Sleutelring.lees(f"1 {'aa' * 32}\n1 {'bb' * 32}\n")
    assert Sleutelring.lees(f"# comment\n1 {'aa' * 32}\n3 {'bb' * 32}  # new\n").huidig == 3


def test_matching_transitions() -> None:
    none = matching.bij_toetreden(set(), 1)
    assert none.gebeurtenis is matching.Gebeurtenis.GEEN and none.kennisgevingen == ()
    new = matching.bij_toetreden({1}, 2)
    assert new.gebeurtenis is matching.Gebeurtenis.ONTSTAAN
    assert [(k.instantie, k.soort) for k in new.kennisgevingen] == [(1, "nieuweMatch"), (2, "nieuweMatch")]
    grow = matching.bij_toetreden({1, 2}, 3)
    assert [(k.instantie, k.soort) for k in grow.kennisgevingen] == [
        (1, "gewijzigdeMatch"),
        (2, "gewijzigdeMatch"),
        (3, "nieuweMatch"),
    ]
    shrink = matching.bij_vertrek({1, 2}, 3)
    assert [(k.instantie, k.soort) for k in shrink.kennisgevingen] == [
        (1, "gewijzigdeMatch"),
        (2, "gewijzigdeMatch"),
        (3, "beeindigdeMatch"),
    ]
    end = matching.bij_vertrek({1}, 2)
    assert end.gebeurtenis is matching.Gebeurtenis.BEEINDIGD
    assert {k.soort for k in end.kennisgevingen} == {"beeindigdeMatch"}
    alone = matching.bij_vertrek(set(), 1)
    assert alone.gebeurtenis is matching.Gebeurtenis.GEEN
    change = matching.bij_wijziging({1, 2, 3}, 2)
    assert [(k.instantie, k.soort) for k in change.kennisgevingen] == [(1, "gewijzigdeMatch"), (3, "gewijzigdeMatch")]


def test_new_ids_are_random_version_4_uuids_in_the_standard_text() -> None:
    ids = [nieuw_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    for tekst in ids[:2_000]:
        u = uuid.UUID(tekst)
        assert (u.version, u.variant) == (4, uuid.RFC_4122)
        assert str(u) == tekst  # lower case, dashes where str(uuid4()) puts them
    # every one of the 122 random bits varies: none stuck at 0 or 1 across the sample
    bits = [uuid.UUID(t).int for t in ids]
    vast = ~(0xF << 76 | 0x3 << 62) & (1 << 128) - 1  # all but the version and variant bits
    assert all(any(b >> i & 1 for b in bits) and not all(b >> i & 1 for b in bits) for i in range(128) if vast >> i & 1)
