"""Publishing counts without pointing at a child: small counts are suppressed, and so many more cells
(complementary suppression) that no suppressed count can be worked out from what is published. The
reasoning is in docs/rapportage.md.

A publication is a set of cells (counts, each with a key) and of lines: cells whose signed sum is zero,
such as a total and its parts (``total = Σ parts``) or a balance (``stock at the end = stock at the
start + new - ended``). Tables are views of those cells; one cell may stand in several tables (a year
total in the table per month and in the table per municipality), and is then one and the same cell.

1. **Primary suppression** hides every cell with ``0 < count < threshold``; it is published as ``<5``
   (for threshold 5).
2. **Complementary suppression** hides more cells, the smallest non-zero first: a count of at least the
   threshold is published as ``x``, a zero (hidden only where nothing else helps) as ``<5``, which is
   true of it. So a reader knows a ``<5`` cell lies between 0 and 4 and an ``x`` cell is at least 5.
   Cells are added until every hidden cell has an *alternative*: another table of counts that agrees
   with everything published (every shown cell, every line, every bound above) and differs in that
   cell. Without one, the reader could work the cell out (a row of four ``<5`` cells whose total is
   ``<5`` as well: were zeros never hidden, each would be 1); with one, they cannot.

   An alternative is a *move*: changes to hidden cells that keep every line's sum and every cell within
   its bounds. Moves are looked for by a search that starts with +1 or -1 on the cell and, line by line,
   balances each line it upsets with a hidden cell that has room to move (the cycles of a two-way table,
   generalised to any lines), and, for what that search leaves, among the vectors of the integer null
   space of the lines over the hidden cells (each basis vector, and each sum or difference of two). A
   line with exactly one hidden cell never has one, so that case is settled first, cheaply. When a
   hidden cell has no alternative, the smallest shown non-zero cell of one of its lines (a zero only
   when there is none) is hidden as well, and the search starts again. Missing an alternative that
   exists only hides more than needed, never less.

Zeros are shown unless one is needed to protect a small count: a true zero reveals no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from math import gcd, lcm

from gateway.domain.soorten import Reden

EINDE_TELLING = {
    Reden.ONTERECHT: "e-onterecht",
    Reden.RISICO_WEGGENOMEN: "e-risico",
    Reden.VERLOPEN: "e-verlopen",
    Reden.LEEFTIJD: "e-leeftijd",
    Reden.OVERLIJDEN: "e-overlijden",
    Reden.GEWIST: "e-gewist",
}
"""The count (``telling.soort``) of a melding's ending, per reason."""

Cel = tuple[str, ...]
"""A cell's key: what it counts, e.g. ("gemeente", "0014", "2026", "meldingen")."""


class Zicht(StrEnum):
    """How a cell is published."""

    GETOOND = "getoond"
    KLEIN = "klein"  # below the threshold (primary, or a zero hidden to protect one): shown as "<5"
    VERBORGEN = "verborgen"  # complementary, at least the threshold: shown as "x"


@dataclass(frozen=True)
class Lijn:
    """Cells whose signed sum is zero: ``((total, -1), (part, 1), …)`` or a balance."""

    termen: tuple[tuple[Cel, int], ...]

    @staticmethod
    def som(totaal: Cel, delen: Iterable[Cel]) -> Lijn:
        """``totaal`` is the sum of ``delen``."""
        return Lijn(((totaal, -1), *((d, 1) for d in delen)))


def onderdruk_cellen(waarden: Mapping[Cel, int], lijnen: Sequence[Lijn], drempel: int = 5) -> dict[Cel, Zicht]:
    """How each cell of ``waarden`` is published (see the module docstring). Every cell of a line must
    be in ``waarden``, and every line must hold for the true values."""
    for lijn in lijnen:
        if sum(waarden[c] * f for c, f in lijn.termen) != 0:
            raise ValueError(f"a line does not hold for the true counts: {lijn}")
    klein = {c for c, v in waarden.items() if 0 < v < drempel}
    verborgen = set(klein)
    lijnen_van: dict[Cel, list[Lijn]] = {}
    for lijn in lijnen:
        for c, _ in lijn.termen:
            lijnen_van.setdefault(c, []).append(lijn)

    def verberg(bij: Iterable[Lijn]) -> bool:
        """Hide the smallest shown non-zero cell of these lines, a zero only when there is none (ties: by
        key); False if there is none. A hidden zero would read as "<5" where nothing happened."""
        keuze = [
            (waarden[c] == 0, waarden[c], c)
            for lijn in bij
            for c, _ in lijn.termen
            if c not in verborgen and waarden[c] >= 0
        ]
        if not keuze:
            return False
        cel = min(keuze)[2]
        verborgen.add(cel)
        if waarden[cel] < drempel:
            klein.add(cel)  # a zero: "<5" is true of it
        return True

    while True:
        # A line with exactly one hidden cell gives it away: the cheap case first, in one sweep.
        erbij = False
        for lijn in lijnen:
            if sum(c in verborgen for c, _ in lijn.termen) == 1:
                erbij = verberg([lijn]) or erbij
        if erbij:
            continue
        # Then every hidden cell without an alternative takes one more cell of its lines along.
        for cel in sorted(zonder_alternatief(waarden, lijnen, verborgen, klein, drempel)):
            if not any(c not in verborgen for lijn in lijnen_van.get(cel, ()) for c, _ in lijn.termen):
                continue
            erbij = verberg(lijnen_van[cel]) or erbij
        if not erbij:
            break
    return {c: Zicht.KLEIN if c in klein else Zicht.VERBORGEN if c in verborgen else Zicht.GETOOND for c in waarden}


_Vector = dict[int, int]  # sparse: column → non-zero integer


def zonder_alternatief(
    waarden: Mapping[Cel, int], lijnen: Sequence[Lijn], verborgen: set[Cel], klein: set[Cel], drempel: int
) -> set[Cel]:
    """The hidden cells for which no alternative was found (see the module docstring)."""
    stelsel = _Stelsel(lijnen)
    gezien: set[Cel] = set()
    for cel in sorted(verborgen):
        if cel not in gezien and (zet := stelsel.zoek_zet(cel, waarden, verborgen, klein, drempel)) is not None:
            gezien.update(zet)
    if gezien >= verborgen:
        return set()
    vrij = sorted(verborgen)
    index = {c: i for i, c in enumerate(vrij)}
    rijen: list[_Vector] = []
    for lijn in lijnen:
        rij: _Vector = {}
        for c, f in lijn.termen:
            if c in index:
                rij[index[c]] = rij.get(index[c], 0) + f
        if rij := {k: f for k, f in rij.items() if f}:
            rijen.append(rij)
    basis = _nulruimte(rijen, len(vrij))

    def past(zet: _Vector) -> bool:
        for i, d in zet.items():
            nieuw = waarden[vrij[i]] + d
            if nieuw < 0 or (vrij[i] in klein and nieuw >= drempel) or (vrij[i] not in klein and nieuw < drempel):
                return False
        return True

    gedekt = {index[c] for c in gezien}

    def probeer(zet: _Vector) -> None:
        if zet.keys() - gedekt and (past(zet) or past({i: -d for i, d in zet.items()})):
            gedekt.update(zet)

    for vector in basis:
        probeer(vector)
    for i in range(len(vrij)):
        if i in gedekt:
            continue
        for a in (v for v in basis if i in v):
            for b in basis:
                if b is not a:
                    for teken in (1, -1):
                        som = {k: a.get(k, 0) + teken * b.get(k, 0) for k in a.keys() | b.keys()}
                        probeer({k: d for k, d in som.items() if d})
            if i in gedekt:
                break
    return {c for c in vrij if index[c] not in gedekt}


class _Stelsel:
    """The lines as sparse rows (cell → coefficient), and the lines of each cell."""

    def __init__(self, lijnen: Sequence[Lijn]) -> None:
        self.termen: dict[Lijn, dict[Cel, int]] = {}
        self.lijnen_van: dict[Cel, list[Lijn]] = {}
        for lijn in lijnen:
            t: dict[Cel, int] = {}
            for c, f in lijn.termen:
                t[c] = t.get(c, 0) + f
            self.termen[lijn] = {c: f for c, f in t.items() if f}
            for c in self.termen[lijn]:
                self.lijnen_van.setdefault(c, []).append(lijn)

    def zoek_zet(
        self,
        cel: Cel,
        waarden: Mapping[Cel, int],
        verborgen: set[Cel],
        klein: set[Cel],
        drempel: int,
        budget: int = 500,
    ) -> dict[Cel, int] | None:
        """A move through ``cel``: +1 or -1 on it, and on other hidden cells what balances every line
        again, each cell staying within what a reader knows of it; None when none is found within
        ``budget`` steps."""
        termen, lijnen_van = self.termen, self.lijnen_van
        over = [budget]

        def binnen(c: Cel, d: int) -> bool:
            nieuw = waarden[c] + d
            return nieuw >= 0 and (nieuw < drempel if c in klein else nieuw >= drempel)

        def zoek(zet: dict[Cel, int], scheef: dict[Lijn, int]) -> bool:
            open_ = [lijn for lijn, n in scheef.items() if n]
            if not open_:
                return True
            over[0] -= 1
            if over[0] < 0:
                return False
            opties = {
                lijn: [
                    (c, -scheef[lijn] // f)
                    for c, f in termen[lijn].items()
                    if c in verborgen and c not in zet and scheef[lijn] % f == 0 and binnen(c, -scheef[lijn] // f)
                ]
                for lijn in open_
            }
            lijn = min(open_, key=lambda x: len(opties[x]))
            for c, d in sorted(opties[lijn], key=lambda o: (len(lijnen_van[o[0]]), o[0])):
                zet[c] = d
                for ander in lijnen_van[c]:
                    scheef[ander] = scheef.get(ander, 0) + termen[ander][c] * d
                if zoek(zet, scheef):
                    return True
                for ander in lijnen_van[c]:
                    scheef[ander] -= termen[ander][c] * d
                del zet[c]
            return False

        for richting in (1, -1):
            if cel in lijnen_van and binnen(cel, richting):
                zet = {cel: richting}
                if zoek(zet, {lijn: termen[lijn][cel] * richting for lijn in lijnen_van[cel]}):
                    return zet
        return None


def _nulruimte(rijen: list[_Vector], n: int) -> list[_Vector]:
    """A basis of the integer null space of the sparse matrix ``rijen`` (n columns): elimination to
    reduced row echelon form in integers (each row kept divided by the gcd of its entries), then one
    vector per free column (its pivot rows' entries moved across), scaled to integers."""
    rijen = [dict(r) for r in rijen]
    spil: dict[int, _Vector] = {}  # pivot column → its row
    for k in range(n):
        kandidaten = [r for r in rijen if r.get(k)]
        if not kandidaten:
            continue
        rij = min(kandidaten, key=len)
        rijen.remove(rij)
        for andere in [*rijen, *spil.values()]:
            if f := andere.get(k):
                p = rij[k]
                for j in andere.keys() | rij.keys():
                    waarde = andere.get(j, 0) * p - rij.get(j, 0) * f
                    if waarde:
                        andere[j] = waarde
                    else:
                        andere.pop(j, None)
                deler = gcd(*andere.values()) if andere else 1
                for j in andere:
                    andere[j] //= deler
        spil[k] = rij
    basis = []
    for vrij in (k for k in range(n) if k not in spil):
        rijen_met = [(k, rij) for k, rij in spil.items() if rij.get(vrij)]
        schaal = lcm(*(rij[k] for k, rij in rijen_met)) if rijen_met else 1
        v = {vrij: schaal}
        for k, rij in rijen_met:
            v[k] = -rij[vrij] * schaal // rij[k]
        deler = gcd(*v.values())
        basis.append({k: d // deler for k, d in v.items()})
    return basis


# --- a table with its totals -----------------------------------------------------------------------


@dataclass(frozen=True)
class Gepubliceerd:
    """A table as it may be published: ``None`` where a count is suppressed."""

    cellen: list[list[int | None]]
    rijtotalen: list[int | None]
    kolomtotalen: list[int | None]
    totaal: int | None


def onderdruk(tabel: Sequence[Sequence[int]], drempel: int = 5) -> Gepubliceerd:
    """One table (rows × columns) published with its row totals, column totals and grand total: every
    row and every column of that extended grid is a line."""
    rijen = len(tabel)
    kolommen = len(tabel[0]) if rijen else 0
    raster = [[*rij, sum(rij)] for rij in tabel]
    raster.append([sum(raster[r][k] for r in range(rijen)) for k in range(kolommen + 1)])
    waarden: dict[Cel, int] = {(str(r), str(k)): raster[r][k] for r in range(rijen + 1) for k in range(kolommen + 1)}
    lijnen = [Lijn.som((str(r), str(kolommen)), [(str(r), str(k)) for k in range(kolommen)]) for r in range(rijen + 1)]
    lijnen += [Lijn.som((str(rijen), str(k)), [(str(r), str(k)) for r in range(rijen)]) for k in range(kolommen + 1)]
    zicht = onderdruk_cellen(waarden, lijnen, drempel)
    uit = [
        [raster[r][k] if zicht[str(r), str(k)] is Zicht.GETOOND else None for k in range(kolommen + 1)]
        for r in range(rijen + 1)
    ]
    return Gepubliceerd(
        [rij[:kolommen] for rij in uit[:rijen]],
        [rij[kolommen] for rij in uit[:rijen]],
        uit[rijen][:kolommen],
        uit[rijen][kolommen],
    )
