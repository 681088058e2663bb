"""The vocabulary of the index: the domain's kinds and states, the store's own copies of the values its
queries filter on, and refusals that name a field."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import store.bevolking
import store.repository
import store.retentie
from gateway.domain.soorten import ARCHIVEREN, MatchSoort, MatchStatus, MeldingStatus, Reden
from gateway.errors import RuleError

ROOT = Path(__file__).resolve().parent.parent


def test_store_constants_equal_the_domain_values() -> None:
    paren = [
        (store.repository.ACTIEF, MeldingStatus.ACTIEF),
        (store.repository.ACTIEF, MatchStatus.ACTIEF),
        (store.repository.GEARCHIVEERD, MeldingStatus.GEARCHIVEERD),
        (store.repository.CLIENTMATCH, MatchSoort.CLIENTMATCH),
        (store.retentie.GEARCHIVEERD, MeldingStatus.GEARCHIVEERD),
        (store.bevolking.GEZINSMATCH, MatchSoort.GEZINSMATCH),
    ]
    for opslag, domein in paren:
        assert opslag == domein.value


def test_store_imports_nothing_above_it() -> None:
    for pad in (ROOT / "store").rglob("*.py"):
        for knoop in ast.walk(ast.parse(pad.read_text())):
            namen = []
            if isinstance(knoop, ast.Import):
                namen = [a.name for a in knoop.names]
            elif isinstance(knoop, ast.ImportFrom) and knoop.module:
                namen = [knoop.module]
            for naam in namen:
                assert naam.split(".")[0] not in ("gateway", "federation", "vir"), f"{pad}: {naam}"


def test_enums_are_stored_as_their_strings() -> None:
    assert MeldingStatus.INGETROKKEN == "ingetrokken" and f"{Reden.VERLOPEN}" == "verlopen"
    assert "risicoWeggenomen" in ARCHIVEREN and "onterecht" not in ARCHIVEREN


@pytest.mark.parametrize(
    ("veld", "element", "xpath"),
    [
        ("meldingId", "/kp:MeldingWijzigen", "/kp:MeldingWijzigen/kp:meldingId"),
        ("afgeschermd", "/kp:MeldingenAfgeven/kp:item[2]", "/kp:MeldingenAfgeven/kp:item[2]/kp:afgeschermd"),
    ],
)
def test_a_field_becomes_the_xpath_of_the_request(veld: str, element: str, xpath: str) -> None:
    fout = RuleError(code="VIR-MELDING-ONBEKEND", veld=veld).in_bericht(element, "kp")
    assert fout.xpath == xpath and f"Path: {xpath}" in str(fout)


def test_an_xpath_already_known_stays() -> None:
    fout = RuleError(code="VIR-BSN-ONGELDIG", xpath="/kp:X/kp:jongere/g:bsn", veld="jongere")
    assert fout.in_bericht("/kp:X", "kp").xpath == "/kp:X/kp:jongere/g:bsn"
