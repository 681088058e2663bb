"""The values the verwijsindex works with, independent of how they travel or are stored."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Meldingsbevoegde:
    naam: str
    functie: str | None = None
    telefoon: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Contactkaart:
    """All a match reveals about a party (SPEC §1: name/location, professional, source system)."""

    oin: str
    naam: str
    vestiging: str | None
    meldingsbevoegde: Meldingsbevoegde
    bronsysteem: str


@dataclass(frozen=True)
class MatchBeeld:
    """A match as one party sees it: its own melding and the other parties."""

    match_id: str
    melding_id: str
    soort: str
    status: str
    sinds: datetime
    partijen: tuple[Contactkaart, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["sinds"] = self.sinds.isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MatchBeeld:
        partijen = tuple(
            Contactkaart(**{**p, "meldingsbevoegde": Meldingsbevoegde(**p["meldingsbevoegde"])}) for p in d["partijen"]
        )
        return cls(
            d["match_id"], d["melding_id"], d["soort"], d["status"], datetime.fromisoformat(d["sinds"]), partijen
        )


@dataclass(frozen=True)
class SignaalBeeld:
    volgnummer: int
    soort: str
    tijdstip: datetime
    melding_id: str
    match: MatchBeeld | None
