"""Client matching: which parties learn what when a melding starts or ends.

A youth has a client match while active meldingen of two or more *different* instanties exist on
it. When that set of instanties changes, every party learns it:

    before  after   the joining/leaving party      the others
    < 2     ≥ 2     nieuweMatch                    nieuweMatch     (the match is created)
    ≥ 2     ≥ 2     nieuweMatch / beeindigdeMatch  gewijzigdeMatch
    ≥ 2     < 2     beeindigdeMatch                beeindigdeMatch (the match ends)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.domain.soorten import SignaalSoort


class Gebeurtenis(Enum):
    ONTSTAAN = "ontstaan"
    GEWIJZIGD = "gewijzigd"
    BEEINDIGD = "beeindigd"
    GEEN = "geen"


@dataclass(frozen=True)
class Kennisgeving:
    instantie: int
    soort: SignaalSoort


@dataclass(frozen=True)
class MatchWijziging:
    gebeurtenis: Gebeurtenis
    kennisgevingen: tuple[Kennisgeving, ...]


def bij_toetreden(anderen: set[int], nieuw: int) -> MatchWijziging:
    """``nieuw`` files a melding on a youth on which ``anderen`` already have active meldingen."""
    anderen = anderen - {nieuw}
    if not anderen:
        return MatchWijziging(Gebeurtenis.GEEN, ())
    if len(anderen) == 1:
        ks = [Kennisgeving(i, SignaalSoort.NIEUWE_MATCH) for i in sorted(anderen | {nieuw})]
        return MatchWijziging(Gebeurtenis.ONTSTAAN, tuple(ks))
    ks = [Kennisgeving(i, SignaalSoort.GEWIJZIGDE_MATCH) for i in sorted(anderen)]
    ks.append(Kennisgeving(nieuw, SignaalSoort.NIEUWE_MATCH))
    return MatchWijziging(Gebeurtenis.GEWIJZIGD, tuple(sorted(ks, key=lambda k: k.instantie)))


def bij_vertrek(blijvers: set[int], vertrekker: int) -> MatchWijziging:
    """``vertrekker``'s melding ends; ``blijvers`` keep theirs."""
    blijvers = blijvers - {vertrekker}
    if not blijvers:
        return MatchWijziging(Gebeurtenis.GEEN, ())
    if len(blijvers) == 1:
        ks = [Kennisgeving(i, SignaalSoort.BEEINDIGDE_MATCH) for i in sorted(blijvers | {vertrekker})]
        return MatchWijziging(Gebeurtenis.BEEINDIGD, tuple(ks))
    ks = [Kennisgeving(i, SignaalSoort.GEWIJZIGDE_MATCH) for i in sorted(blijvers)]
    ks.append(Kennisgeving(vertrekker, SignaalSoort.BEEINDIGDE_MATCH))
    return MatchWijziging(Gebeurtenis.GEWIJZIGD, tuple(sorted(ks, key=lambda k: k.instantie)))


def bij_wijziging(anderen: set[int], wijziger: int) -> MatchWijziging:
    """``wijziger`` changed its contact card; the other parties of its match learn it."""
    anderen = anderen - {wijziger}
    if not anderen:
        return MatchWijziging(Gebeurtenis.GEEN, ())
    ks = tuple(Kennisgeving(i, SignaalSoort.GEWIJZIGDE_MATCH) for i in sorted(anderen))
    return MatchWijziging(Gebeurtenis.GEWIJZIGD, ks)
