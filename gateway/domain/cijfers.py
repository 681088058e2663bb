"""The figures a municipality can publish about the verwijsindex (docs/rapportage.md): from counted events
(``telling``) to tables per period, municipality, sector and instantie, suppressed together.

Columns (``KOLOMMEN``), each a count:

    stand_begin      active meldingen at the start of the row's period (stock)
    meldingen        meldingen filed
    beeindigd        meldingen ended, for any reason: the sum of the five reasons that follow
    onterecht, risicoWeggenomen, verlopen, leeftijd, overlijden
    stand_eind       active meldingen at the end: stand_begin + meldingen - beeindigd
    clientmatches    parties that joined a client match
    gezinsmatches    parties that joined a family match
    regie            coordinators assigned
    afstemmingen     contacts between matched parties recorded
    eerste_contact   matches whose first contact was recorded

and ``mediaan_dagen``, the median number of days from a match to its first recorded contact, published
only over an ``eerste_contact`` that is itself published and at least the threshold.

Every table ends with a total row. The period table has a row per period, a run of periods without any
event collapsed into one row; the other tables have a row per group over the whole range. A count that
stands in several places is one cell (the range's total in every table; a period's closing stock and the
next one's opening stock), so what one table hides another cannot show: the suppression
(``gateway.domain.onderdrukking``) sees every total, every sum of reasons and every balance of the stock
as a line over those cells.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from gateway.domain.onderdrukking import EINDE_TELLING, Cel, Lijn, Zicht, onderdruk_cellen
from gateway.domain.perioden import Periode, perioden

REDENEN = tuple(reden.value for reden in EINDE_TELLING)
"""The reasons a melding ends, as the columns name them (``Reden`` values)."""

KOLOMMEN = (
    "stand_begin",
    "meldingen",
    "beeindigd",
    *REDENEN,
    "stand_eind",
    "clientmatches",
    "gezinsmatches",
    "regie",
    "afstemmingen",
    "eerste_contact",
)
"""The counted columns, in the order of the tables."""

INDELINGEN = ("periode", "gemeente", "sector", "instantie")
"""How a table's rows are cut."""

ONBEKEND = "onbekend"
"""The group of counts without a municipality or sector."""

_KOLOM_VAN_SOORT = {
    "meldingen": "meldingen",
    "clientmatches": "clientmatches",
    "gezinsmatches": "gezinsmatches",
    "regie": "regie",
    "afstemmingen": "afstemmingen",
    **{soort: reden.value for reden, soort in EINDE_TELLING.items()},
}
_STROMEN = tuple(k for k in KOLOMMEN if not k.startswith("stand_"))


@dataclass(frozen=True)
class Gebeurtenis:
    """One counted event (a ``telling`` row), with the instantie's name and sector."""

    tijdstip: datetime
    instantie: str  # OIN
    naam: str
    sector: str | None
    gemeente: str | None
    soort: str
    waarde: int | None = None  # afstemmingen: days from the match to its first recorded contact


@dataclass(frozen=True)
class Stand:
    """Active meldingen of an instantie in a municipality at the start of the range (from the counts)."""

    instantie: str
    naam: str
    sector: str | None
    gemeente: str | None
    aantal: int


@dataclass(frozen=True)
class Rij:
    """A published row: each count as a number, ``<5`` or ``x`` (see ``onderdrukking``)."""

    sleutel: str  # period label, municipality code, sector or OIN; "totaal" for the total row
    label: str
    eerste: date
    laatste: date
    cellen: dict[str, int | str]
    mediaan_dagen: float | str | None  # None: no first contact recorded; "x": not published


@dataclass(frozen=True)
class Tabel:
    indeling: str
    rijen: tuple[Rij, ...]
    totaal: Rij


@dataclass(frozen=True)
class Publicatie:
    van: date
    tot: date
    per: str
    gemeente: str | None
    drempel: int
    tabellen: tuple[Tabel, ...]


# --- counting --------------------------------------------------------------------------------------


@dataclass
class _Teller:
    tellingen: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_STROMEN, 0))
    dagen: list[int] = field(default_factory=list)
    leeg: bool = True

    def tel(self, g: Gebeurtenis) -> None:
        kolom = _KOLOM_VAN_SOORT.get(g.soort)
        if kolom is None:
            return  # counted for another report
        self.leeg = False
        self.tellingen[kolom] += 1
        if kolom in REDENEN:
            self.tellingen["beeindigd"] += 1
        if kolom == "afstemmingen" and g.waarde is not None:
            self.tellingen["eerste_contact"] += 1
            self.dagen.append(g.waarde)

    def plus(self, ander: _Teller) -> None:
        for k, n in ander.tellingen.items():
            self.tellingen[k] += n
        self.dagen.extend(ander.dagen)
        self.leeg = self.leeg and ander.leeg


def _groep(indeling: str, instantie: str, naam: str, sector: str | None, gemeente: str | None) -> tuple[str, str]:
    """A group's key and label."""
    if indeling == "gemeente":
        return gemeente or ONBEKEND, gemeente or ONBEKEND
    if indeling == "sector":
        return sector or ONBEKEND, sector or ONBEKEND
    return instantie, naam


@dataclass
class _Opbouw:
    """The cells and lines of one publication, filled table by table."""

    waarden: dict[Cel, int] = field(default_factory=dict)
    lijnen: dict[Lijn, None] = field(default_factory=dict)

    def cel(self, sleutel: Cel, waarde: int) -> Cel:
        if self.waarden.setdefault(sleutel, waarde) != waarde:
            raise ValueError(f"cell {sleutel} counted twice differently")  # a bug, not the data
        return sleutel

    def rij(self, wie: tuple[str, str], eerste: date, laatste: date, teller: _Teller, begin: int) -> dict[str, Cel]:
        """The cells of one row, with its sum of reasons and its balance."""
        dim, groep = wie
        periode = (eerste.isoformat(), laatste.isoformat())
        cellen = {k: self.cel((k, dim, groep, *periode), n) for k, n in teller.tellingen.items()}
        eind = begin + teller.tellingen["meldingen"] - teller.tellingen["beeindigd"]
        cellen["stand_begin"] = self.cel(("stand", dim, groep, eerste.isoformat()), begin)
        cellen["stand_eind"] = self.cel(("stand", dim, groep, (laatste + timedelta(days=1)).isoformat()), eind)
        self.lijnen[Lijn.som(cellen["beeindigd"], [cellen[r] for r in REDENEN])] = None
        balans = ((cellen["stand_eind"], 1), (cellen["stand_begin"], -1), (cellen["meldingen"], -1))
        self.lijnen[Lijn((*balans, (cellen["beeindigd"], 1)))] = None
        return cellen

    def som(self, totaal: dict[str, Cel], rijen: Sequence[dict[str, Cel]], kolommen: Iterable[str]) -> None:
        for k in kolommen:
            self.lijnen[Lijn.som(totaal[k], [r[k] for r in rijen])] = None


def publiceer(
    gebeurtenissen: Iterable[Gebeurtenis],
    beginstand: Iterable[Stand],
    van: date,
    tot: date,
    *,
    per: str = "maand",
    indelingen: Sequence[str] = ("periode",),
    gemeente: str | None = None,
    drempel: int = 5,
) -> Publicatie:
    """The tables of ``indelingen`` over the events from ``van`` up to and including ``tot`` (by the
    date of their UTC time), for one municipality or all, suppressed together at ``drempel``.
    ``beginstand`` is the stock at the start of ``van``."""
    if drempel < 1:
        raise ValueError("the threshold is at least 1 (1: nothing suppressed)")
    for indeling in indelingen:
        if indeling not in INDELINGEN:
            raise ValueError(f"onbekende indeling {indeling!r}; verwacht een van {', '.join(INDELINGEN)}")
    binnen = [
        g for g in gebeurtenissen if van <= g.tijdstip.date() <= tot and (gemeente is None or g.gemeente == gemeente)
    ]
    stand = [s for s in beginstand if gemeente is None or s.gemeente == gemeente]
    opbouw = _Opbouw()
    totaal_teller = _Teller()
    for g in binnen:
        totaal_teller.tel(g)
    begin_totaal = sum(s.aantal for s in stand)
    totaal_cellen = opbouw.rij(("totaal", ""), van, tot, totaal_teller, begin_totaal)
    gebouwd: list[tuple[str, list[tuple[str, str, Periode, dict[str, Cel], _Teller]]]] = []
    for indeling in indelingen:
        if indeling == "periode":
            rijen = _periode_rijen(opbouw, binnen, van, tot, per, begin_totaal)
            opbouw.som(totaal_cellen, [r[3] for r in rijen], _STROMEN)
        else:
            rijen = _groep_rijen(opbouw, indeling, binnen, stand, van, tot)
            opbouw.som(totaal_cellen, [r[3] for r in rijen], KOLOMMEN)
        gebouwd.append((indeling, rijen))
    zicht = onderdruk_cellen(opbouw.waarden, list(opbouw.lijnen), drempel)

    def gepubliceerd(sleutel: str, label: str, periode: Periode, cellen: dict[str, Cel], teller: _Teller) -> Rij:
        uit: dict[str, int | str] = {}
        for k in KOLOMMEN:
            z = zicht[cellen[k]]
            uit[k] = opbouw.waarden[cellen[k]] if z is Zicht.GETOOND else f"<{drempel}" if z is Zicht.KLEIN else "x"
        n = uit["eerste_contact"]
        mediaan: float | str | None = None
        if n != 0:
            mediaan = float(statistics.median(teller.dagen)) if isinstance(n, int) and n >= drempel else "x"
        return Rij(sleutel, label, periode.eerste, periode.laatste, uit, mediaan)

    totaal = gepubliceerd("totaal", "totaal", Periode("", van, tot), totaal_cellen, totaal_teller)
    tabellen = tuple(Tabel(indeling, tuple(gepubliceerd(*r) for r in rijen), totaal) for indeling, rijen in gebouwd)
    return Publicatie(van, tot, per, gemeente, drempel, tabellen)


def _periode_rijen(
    opbouw: _Opbouw, binnen: list[Gebeurtenis], van: date, tot: date, per: str, begin: int
) -> list[tuple[str, str, Periode, dict[str, Cel], _Teller]]:
    """A row per period, a run of periods without any event collapsed into one ("… t/m …")."""
    spannen = perioden(van, tot, per)
    index = {}
    for i, p in enumerate(spannen):
        dag = p.eerste
        while dag <= p.laatste:
            index[dag] = i
            dag += timedelta(days=1)
    tellers = [_Teller() for _ in spannen]
    for g in binnen:
        tellers[index[g.tijdstip.date()]].tel(g)
    samen: list[tuple[Periode, Periode, _Teller]] = []  # (first, last, counts)
    for p, teller in zip(spannen, tellers, strict=True):
        if samen and teller.leeg and samen[-1][2].leeg:
            samen[-1] = (samen[-1][0], p, samen[-1][2])
        else:
            samen.append((p, p, teller))
    uit = []
    stand = begin
    for eerste, laatste, teller in samen:
        label = eerste.label if eerste is laatste else f"{eerste.label} t/m {laatste.label}"
        periode = Periode(label, eerste.eerste, laatste.laatste)
        cellen = opbouw.rij(("totaal", ""), periode.eerste, periode.laatste, teller, stand)
        stand += teller.tellingen["meldingen"] - teller.tellingen["beeindigd"]
        uit.append((eerste.label, label, periode, cellen, teller))
    return uit


def _groep_rijen(
    opbouw: _Opbouw, indeling: str, binnen: list[Gebeurtenis], stand: list[Stand], van: date, tot: date
) -> list[tuple[str, str, Periode, dict[str, Cel], _Teller]]:
    """A row per group (municipality, sector or instantie) with any count or stock, by key."""
    tellers: dict[str, _Teller] = {}
    labels: dict[str, str] = {}
    begin: dict[str, int] = {}
    for s in stand:
        sleutel, labels[sleutel] = _groep(indeling, s.instantie, s.naam, s.sector, s.gemeente)
        begin[sleutel] = begin.get(sleutel, 0) + s.aantal
    for g in binnen:
        sleutel, labels[sleutel] = _groep(indeling, g.instantie, g.naam, g.sector, g.gemeente)
        tellers.setdefault(sleutel, _Teller()).tel(g)
    periode = Periode("", van, tot)
    uit = []
    for sleutel in sorted(labels, key=lambda k: (k == ONBEKEND, labels[k].casefold(), k)):
        teller = tellers.get(sleutel, _Teller())
        cellen = opbouw.rij((indeling, sleutel), van, tot, teller, begin.get(sleutel, 0))
        uit.append((sleutel, labels[sleutel], periode, cellen, teller))
    return uit
