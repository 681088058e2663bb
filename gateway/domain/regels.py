"""The legal rules a melding must meet (Jeugdwet §7.1). The numbers come from ``Regels`` so that an
operator can follow a change in the law; the defaults are the law today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import mul

from gateway.errors import RuleError


def bsn_is_geldig(bsn: str) -> bool:
    """The eleven-test (elfproef) for a BSN: Σ (9..2)·dᵢ − d₉ ≡ 0 (mod 11), and not all zeros."""
    if len(bsn) != 9 or not bsn.isdigit() or bsn == "000000000":
        return False
    total = sum(map(mul, map(int, bsn[:8]), _GEWICHTEN)) - int(bsn[8])
    return total % 11 == 0


_GEWICHTEN = (9, 8, 7, 6, 5, 4, 3, 2)


def plus_jaren(d: date, jaren: int) -> date:
    """``d`` plus whole years; 29 February becomes 28 February in a common year."""
    try:
        return d.replace(year=d.year + jaren)
    except ValueError:
        return d.replace(year=d.year + jaren, day=28)


def _jaren_nl(n: int) -> str:
    return f"{n} jaar"


def _years_en(n: int) -> str:
    return f"{n} year" if n == 1 else f"{n} years"


@dataclass(frozen=True)
class Regels:
    max_melding_jaren: int = 2
    max_leeftijd: int = 23
    archief_jaren: int = 5

    def controleer_bsn(self, bsn: str, xpath: str) -> None:
        if not bsn_is_geldig(bsn):
            raise RuleError(code="VIR-BSN-ONGELDIG", xpath=xpath)

    def controleer_leeftijd(self, geboortedatum: date | None, vandaag: date, xpath: str) -> None:
        if geboortedatum is None:
            return
        if geboortedatum > vandaag:
            raise RuleError(code="VIR-GEBOORTEDATUM-TOEKOMST", xpath=xpath)
        if plus_jaren(geboortedatum, self.max_leeftijd) <= vandaag:
            raise RuleError(code="VIR-JONGERE-TE-OUD", xpath=xpath)

    def controleer_register(
        self, levensdata: tuple[date, date | None] | None, vandaag: date, veld: str = "jongere"
    ) -> None:
        """A youth the population register knows (birth date, death date) may be filed on only while alive and
        under the maximum age; the register prevails over the birth date the filer gave."""
        if levensdata is None:
            return
        geboren, overleden = levensdata
        if overleden is not None and overleden <= vandaag:
            raise RuleError(code="VIR-JONGERE-OVERLEDEN", veld=veld)
        if plus_jaren(geboren, self.max_leeftijd) <= vandaag:
            raise RuleError(code="VIR-JONGERE-TE-OUD", veld=veld)

    def uiterste_einddatum(self, afgegeven: date) -> date:
        return plus_jaren(afgegeven, self.max_melding_jaren)

    def geplande_einddatum(
        self, gevraagd: date | None, afgegeven: date, vandaag: date, xpath: str | None = None
    ) -> date:
        """The planned end date: the requested one if it lies after today and within the maximum. A refusal
        names the field ``geplandeEinddatum`` (and ``xpath``, when the caller knows where it stands)."""
        uiterste = self.uiterste_einddatum(afgegeven)
        if gevraagd is None:
            return uiterste
        if gevraagd <= vandaag or gevraagd > uiterste:
            raise RuleError(
                f"(uiterlijk {uiterste.isoformat()}: {_jaren_nl(self.max_melding_jaren)} na het afgeven)",
                detail_en=f"(at most {uiterste.isoformat()}: {_years_en(self.max_melding_jaren)} after filing)",
                code="VIR-EINDDATUM-ONGELDIG",
                xpath=xpath,
                veld="geplandeEinddatum",
            )
        return gevraagd
