"""Publishing counts without pointing at a child: small counts are suppressed, and so many more cells
(complementary suppression) that no suppressed count can be worked out from what is published. The
reasoning is in docs/rapportage.md.

A publication is a set of cells (counts, each with a key) and of lines: cells whose signed sum is zero,
such as a total and its parts (``total = Σ parts``) or a balance (``stock at the end = stock at the
start + new - ended``). Tables are views of those cells; one cell may stand in several tables (a year
total in the table per month and in the table per municipality), and is then one and the same cell.

1. **Primary suppression** hides every cell with ``0 < count < threshold``; it is published as ``<5``
   (for threshold 5).
2. **Complementary suppression** hides more cells, the smallest first: a zero is published as ``<5``
   too (which is true), a larger count as ``x``. So a reader knows a ``<5`` cell lies between 0 and 4
   and an ``x`` cell is at least 5. Cells are added until every hidden cell has an *alternative*:
   another table of counts that agrees with everything published (every shown cell, every line, every
   bound above) and differs in that cell. Without one, the reader could work the cell out (a row of
   four ``<5`` cells whose total is ``<5`` as well: if zeros were always shown, each would be 1); with
   one, they cannot.

   Alternatives are looked for in the integer null space of the lines over the hidden cells (a move
   that changes hidden cells and keeps every line's sum): each basis vector and each sum or difference
   of two, once in each direction, must keep every cell within its bounds. A line with exactly one
   hidden cell never has one, so that case is settled first, cheaply. When a hidden cell has no
   alternative, the smallest shown non-zero cell of one of its lines is hidden as well, and the search
   starts again. Missing an alternative that exists only hides more than needed, never less.

Zeros are shown unless one is needed to protect a small count: a true zero reveals no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from math import lcm

from gateway.domain.soorten import Reden

EINDE_TELLING = {
    Reden.ONTERECHT: "e-onterecht",
    Reden.RISICO_WEGGENOMEN: "e-risico",
    Reden.VERLOPEN: "e-verlopen",
    Reden.LEEFTIJD: "e-leeftijd",
    Reden.OVERLIJDEN: "e-overlijden",
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

    def kandidaat(bij: Iterable[Lijn]) -> Cel | None:
        """The smallest shown cell of these lines (ties: by key)."""
        keuze = [(waarden[c], c) for lijn in bij for c, _ in lijn.termen if c not in verborgen]
        return min(keuze)[1] if keuze else None

    while True:
        # A line with exactly one hidden cell gives it away: the cheap case first.
        erbij = None
        for lijn in lijnen:
            if sum(c in verborgen for c, _ in lijn.termen) == 1:
                erbij = kandidaat([lijn])
                if erbij is not None:
                    break
        if erbij is None:
            for cel in sorted(zonder_alternatief(waarden, lijnen, verborgen, klein, drempel)):
                erbij = kandidaat(lijnen_van.get(cel, ()))
                if erbij is not None:
                    break
        if erbij is None:
            break  # nothing left to hide near the cells without an alternative
        verborgen.add(erbij)
        if waarden[erbij] < drempel:
            klein.add(erbij)  # a zero: "<5" is true of it
    return {c: Zicht.KLEIN if c in klein else Zicht.VERBORGEN if c in verborgen else Zicht.GETOOND for c in waarden}


def zonder_alternatief(
    waarden: Mapping[Cel, int], lijnen: Sequence[Lijn], verborgen: set[Cel], klein: set[Cel], drempel: int
) -> set[Cel]:
    """The hidden cells for which no alternative was found (see the module docstring)."""
    vrij = sorted(verborgen)
    index = {c: i for i, c in enumerate(vrij)}
    rijen = []
    for lijn in lijnen:
        rij = [Fraction(0)] * len(vrij)
        for c, f in lijn.termen:
            if c in index:
                rij[index[c]] += f
        if any(rij):
            rijen.append(rij)
    basis = _nulruimte(rijen, len(vrij))
    zetten = [*basis, *(_plus(a, b, s) for i, a in enumerate(basis) for b in basis[i + 1 :] for s in (1, -1))]

    def past(zet: list[int], richting: int) -> bool:
        for i, d in enumerate(zet):
            if d:
                nieuw = waarden[vrij[i]] + richting * d
                if nieuw < 0 or (vrij[i] in klein and nieuw >= drempel) or (vrij[i] not in klein and nieuw < drempel):
                    return False
        return True

    gedekt: set[int] = set()
    for zet in zetten:
        if any(zet[i] for i in range(len(vrij)) if i not in gedekt) and (past(zet, 1) or past(zet, -1)):
            gedekt.update(i for i, d in enumerate(zet) if d)
    return {c for c in vrij if index[c] not in gedekt}


def _plus(a: list[int], b: list[int], teken: int) -> list[int]:
    return [x + teken * y for x, y in zip(a, b, strict=True)]


def _nulruimte(rijen: list[list[Fraction]], n: int) -> list[list[int]]:
    """A basis of the integer null space of the matrix ``rijen`` (n columns): the reduced row echelon form
    gives one vector per free column (1 there, minus its column above the pivots), scaled to integers."""
    rijen = [r[:] for r in rijen]
    spil: list[int] = []  # pivot column of each reduced row
    r = 0
    for k in range(n):
        p = next((i for i in range(r, len(rijen)) if rijen[i][k] != 0), None)
        if p is None:
            continue
        rijen[r], rijen[p] = rijen[p], rijen[r]
        deler = rijen[r][k]
        rijen[r] = [x / deler for x in rijen[r]]
        for i in range(len(rijen)):
            if i != r and rijen[i][k] != 0:
                factor = rijen[i][k]
                rijen[i] = [x - factor * y for x, y in zip(rijen[i], rijen[r], strict=True)]
        spil.append(k)
        r += 1
    basis = []
    for vrij in (k for k in range(n) if k not in spil):
        v = [Fraction(0)] * n
        v[vrij] = Fraction(1)
        for rij, k in zip(rijen, spil, strict=False):
            v[k] = -rij[vrij]
        schaal = lcm(*(x.denominator for x in v))
        basis.append([int(x * schaal) for x in v])
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
    waarden = {(str(r), str(k)): raster[r][k] for r in range(rijen + 1) for k in range(kolommen + 1)}
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
