"""The rules in plain Python, without SOAP or SQL."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.domain import matching
from gateway.domain.jongere import Jongere, normaliseer_naam
from gateway.domain.regels import Regels, bsn_is_geldig, plus_jaren
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


def test_servicenummer_is_deterministic_and_normalised() -> None:
    a = Jongere.zonder_bsn("Çelik-de Vries", None, date(2015, 3, 1), "V")
    b = Jongere.zonder_bsn("celik de vries", None, date(2015, 3, 1), "V")
    c = Jongere.zonder_bsn("Celik de Vries", None, date(2015, 3, 2), "V")
    assert a.sleutel == b.sleutel != c.sleutel
    assert a.sleutel.startswith("vsn:")
    assert normaliseer_naam("Dijk, van") == "dijkvan"
    assert (
        Jongere.zonder_bsn("Dijk", "van", date(2015, 3, 1), "M").sleutel
        == Jongere.zonder_bsn("vanDijk", None, date(2015, 3, 1), "M").sleutel
    )


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
