"""Publishing counts without pointing at a child: small counts are suppressed, and so many more cells
(complementary suppression) that no suppressed count can be worked out from the totals. The reasoning is
in docs/rapportage.md.

A table is a grid of counts (rows × columns, e.g. municipalities × kinds) published with its row and
column totals. Primary suppression hides every cell with 0 < count < threshold. A row (or column) with
exactly one hidden cell would give it away (total minus the shown cells), so the smallest other non-zero
cell of that row is hidden too, and likewise for columns, until no row or column has exactly one hidden
cell. A total that is itself below the threshold (and not 0) is hidden as well. Zero cells are shown: a
true zero reveals no one, and hiding one would not protect a neighbour whose value is known to be ≥ 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain.soorten import Reden

EINDE_TELLING = {
    Reden.ONTERECHT: "e-onterecht",
    Reden.RISICO_WEGGENOMEN: "e-risico",
    Reden.VERLOPEN: "e-verlopen",
    Reden.LEEFTIJD: "e-leeftijd",
    Reden.OVERLIJDEN: "e-overlijden",
}
"""The count (``telling.soort``) of a melding's ending, per reason."""

VERBORGEN = None


@dataclass(frozen=True)
class Gepubliceerd:
    """A table as it may be published: ``None`` where a count is suppressed."""

    cellen: list[list[int | None]]
    rijtotalen: list[int | None]
    kolomtotalen: list[int | None]
    totaal: int | None


def _klein(n: int, drempel: int) -> bool:
    """A count that could point at a person: at least one, below the threshold."""
    return 0 < n < drempel


def onderdruk(tabel: Sequence[Sequence[int]], drempel: int = 5) -> Gepubliceerd:
    """Primary and complementary suppression of ``tabel`` with its totals (see the module docstring).

    The totals are cells too: the table is extended with a total column and a total row, and each row
    and each column of that extended grid is a line whose last cell is the sum of the others. A line
    with exactly one hidden cell gives it away, so the smallest shown non-zero cell of that line (which
    may be a total) is hidden as well, until no line has exactly one hidden cell."""
    rijen = len(tabel)
    kolommen = len(tabel[0]) if rijen else 0
    raster = [[*rij, sum(rij)] for rij in tabel]
    raster.append([sum(raster[r][k] for r in range(rijen)) for k in range(kolommen + 1)])
    verborgen = [[_klein(n, drempel) for n in rij] for rij in raster]
    lijnen = [[(r, k) for k in range(kolommen + 1)] for r in range(rijen + 1)]
    lijnen += [[(r, k) for r in range(rijen + 1)] for k in range(kolommen + 1)]
    veranderd = True
    while veranderd:
        veranderd = False
        for lijn in lijnen:
            if sum(verborgen[r][k] for r, k in lijn) != 1:
                continue
            kandidaten = [(raster[r][k], (r, k)) for r, k in lijn if not verborgen[r][k] and raster[r][k] > 0]
            if not kandidaten:
                continue  # only zeros besides it: then the hidden cell is 0 as well, and was never hidden
            r, k = min(kandidaten)[1]
            verborgen[r][k] = True
            veranderd = True
    uit = [[VERBORGEN if verborgen[r][k] else raster[r][k] for k in range(kolommen + 1)] for r in range(rijen + 1)]
    return Gepubliceerd(
        [rij[:kolommen] for rij in uit[:rijen]],
        [rij[kolommen] for rij in uit[:rijen]],
        uit[rijen][:kolommen],
        uit[rijen][kolommen],
    )
