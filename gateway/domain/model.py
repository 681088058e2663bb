"""The values the verwijsindex works with, independent of how they travel or are stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
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

    def naar_json(self) -> dict[str, Any]:
        """The card as stored in signals and carried in the federation outbox."""
        mb = self.meldingsbevoegde
        return {
            "oin": self.oin,
            "naam": self.naam,
            "vestiging": self.vestiging,
            "meldingsbevoegde": {"naam": mb.naam, "functie": mb.functie, "telefoon": mb.telefoon, "email": mb.email},
            "bronsysteem": self.bronsysteem,
        }

    @classmethod
    def uit_json(cls, d: dict[str, Any]) -> Contactkaart:
        return cls(**{**d, "meldingsbevoegde": Meldingsbevoegde(**d["meldingsbevoegde"])})


@dataclass(frozen=True)
class MatchBeeld:
    """A match as one party sees it: its own melding and the other parties."""

    match_id: str
    melding_id: str
    soort: str
    status: str
    sinds: datetime
    partijen: tuple[Contactkaart, ...] = field(default_factory=tuple)
    regievoerder: str | None = None  # OIN
    laatste_afstemming: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "match_id": self.match_id,
            "melding_id": self.melding_id,
            "soort": self.soort,
            "status": self.status,
            "sinds": self.sinds.isoformat(),
            "partijen": [p.naar_json() for p in self.partijen],
            "regievoerder": self.regievoerder,
            "laatste_afstemming": self.laatste_afstemming.isoformat() if self.laatste_afstemming else None,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MatchBeeld:
        afstemming = d.get("laatste_afstemming")
        return cls(
            d["match_id"],
            d["melding_id"],
            d["soort"],
            d["status"],
            datetime.fromisoformat(d["sinds"]),
            kaarten_uit_json(d["partijen"]),
            d.get("regievoerder"),
            date.fromisoformat(afstemming) if afstemming else None,
        )


def kaarten_uit_json(rows: list[dict[str, Any]]) -> tuple[Contactkaart, ...]:
    return tuple(Contactkaart.uit_json(p) for p in rows)


@dataclass(frozen=True)
class SignaalBeeld:
    volgnummer: int
    soort: str
    tijdstip: datetime
    melding_id: str
    match: MatchBeeld | None
    archief: tuple[Contactkaart, ...] | None = None  # archiefsignaal: the other party or parties
    einddatum: date | None = None  # meldingVerlooptBinnenkort
    reden: str | None = None  # meldingBeeindigd: why the melding ended (Reden)

    @classmethod
    def uit_opslag(cls, volgnummer: int, soort: str, tijdstip: datetime, melding_id: str, inhoud: Any) -> SignaalBeeld:
        """A stored signal; ``inhoud`` is the parsed JSON: a match, {"archief": […]}, {"einddatum": …},
        {"reden": …} or None."""
        if not inhoud:
            return cls(volgnummer, soort, tijdstip, melding_id, None)
        if "archief" in inhoud:
            return cls(volgnummer, soort, tijdstip, melding_id, None, kaarten_uit_json(inhoud["archief"]))
        if "reden" in inhoud:
            return cls(volgnummer, soort, tijdstip, melding_id, None, reden=str(inhoud["reden"]))
        if "einddatum" in inhoud:
            return cls(volgnummer, soort, tijdstip, melding_id, None, None, date.fromisoformat(inhoud["einddatum"]))
        return cls(volgnummer, soort, tijdstip, melding_id, MatchBeeld.from_json(inhoud))
