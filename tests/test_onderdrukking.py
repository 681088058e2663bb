"""Suppression of small counts: no published count between 1 and the threshold, and no hidden count can
be worked out from what is published. Checked on random tables, independently of how the suppression
chooses its cells: a hidden cell is safe when another table exists that agrees with everything published
and differs in that cell. In a table with totals such a table is reached by a cycle of hidden cells (+1,
-1, … around it; a total moves with its parts), and every move that keeps the bounds contains such a cycle,
so searching cycles is exact."""

from __future__ import annotations

import random

import pytest

from gateway.domain.onderdrukking import Lijn, Zicht, onderdruk, onderdruk_cellen


def _raster(tabel: list[list[int]]) -> list[list[int]]:
    raster = [[*rij, sum(rij)] for rij in tabel]
    return [*raster, [sum(rij[k] for rij in raster) for k in range(len(raster[0]))]]


def _alternatief(echt: list[list[int]], verborgen: set[tuple[int, int]], cel: tuple[int, int], drempel: int) -> bool:
    """Whether a cycle through ``cel`` over hidden cells moves every cell it touches within what a reader
    knows of it: a ``<drempel`` cell stays in 0..drempel-1, an ``x`` cell at drempel or more."""
    laatste_r, laatste_k = len(echt) - 1, len(echt[0]) - 1

    def teken(r: int, k: int) -> int:  # a total sits on the other side of its line's equation
        return (-1 if r == laatste_r else 1) * (-1 if k == laatste_k else 1)

    def binnen(r: int, k: int, delta: int) -> bool:
        nieuw = echt[r][k] + delta
        return 0 <= nieuw < drempel if echt[r][k] < drempel else nieuw >= drempel

    def zoek(r: int, k: int, rijen: set[int], kolommen: set[int], t: int) -> bool:
        # At (r, k), moved by +t (``cel``, or reached by a step along a column): step along row r to a
        # hidden cell moved by -t, then along its column to one moved by +t, until row r's step reaches
        # cel's column, from where the step along that column back to cel closes the cycle.
        for k2 in range(laatste_k + 1):
            if k2 == k or (r, k2) not in verborgen or not binnen(r, k2, -t * teken(r, k2)):
                continue
            if k2 == cel[1]:
                return True  # (r, k2) and cel balance cel's column; every other row and column is balanced
            if k2 in kolommen:
                continue
            for r2 in range(laatste_r + 1):
                if r2 in rijen or (r2, k2) not in verborgen or not binnen(r2, k2, t * teken(r2, k2)):
                    continue
                if zoek(r2, k2, rijen | {r2}, kolommen | {k2}, t):
                    return True
        return False

    r0, k0 = cel
    return any(binnen(r0, k0, t * teken(r0, k0)) and zoek(r0, k0, {r0}, {k0}, t) for t in (1, -1))


def _gepubliceerd(tabel: list[list[int]], drempel: int) -> list[list[int | None]]:
    p = onderdruk(tabel, drempel)
    rijen = [[*rij, t] for rij, t in zip(p.cellen, p.rijtotalen, strict=True)]
    return [*rijen, [*p.kolomtotalen, p.totaal]]


def _veilig(tabel: list[list[int]], drempel: int) -> set[tuple[int, int]]:
    """Publish ``tabel`` and check it; returns the hidden cells."""
    gepubliceerd = _gepubliceerd(tabel, drempel)
    echt = _raster(tabel)
    verborgen = set()
    for r, rij in enumerate(gepubliceerd):
        for k, waarde in enumerate(rij):
            assert waarde is None or waarde == echt[r][k]  # what is shown is true
            assert waarde is None or not 0 < waarde < drempel  # and never small
            if waarde is None:
                verborgen.add((r, k))
    lijnen = [list(rij) for rij in gepubliceerd] + [list(kolom) for kolom in zip(*gepubliceerd, strict=True)]
    assert all(sum(w is None for w in lijn) != 1 for lijn in lijnen)
    for cel in sorted(verborgen):
        assert _alternatief(echt, verborgen, cel, drempel), (tabel, drempel, cel, gepubliceerd)
    return verborgen


@pytest.mark.parametrize("seed", range(300))
def test_no_small_count_is_published_or_recoverable(seed: int) -> None:
    rng = random.Random(seed)
    drempel = rng.choice((3, 5, 10))
    tabel = [[rng.choice((0, 0, 1, 1, 2, 3, 4, 6, 9, 20, 150)) for _ in range(rng.randint(1, 6))]]
    tabel += [[rng.choice((0, 1, 1, 2, 7, 30)) for _ in tabel[0]] for _ in range(rng.randint(0, 6))]
    _veilig(tabel, drempel)


def test_a_single_small_cell_takes_a_neighbour_and_the_totals_along() -> None:
    p = onderdruk([[2, 40, 7], [12, 30, 9]], 5)
    assert p.cellen == [[None, 40, None], [None, 30, None]]
    assert p.rijtotalen == [49, 51] and p.kolomtotalen == [14, 70, 16] and p.totaal == 100


def test_a_row_of_small_counts_with_a_small_total() -> None:
    """Four ones and a total of 4: were a "<5" known to be at least 1, four of them summing to at most 4
    would all be 1. "<5" may hide a zero, and the row's cells can move against other hidden cells."""
    verborgen = _veilig([[1, 0, 1, 1, 1], [30, 9, 20, 12, 40]], 5)
    assert {(0, 0), (0, 2), (0, 3), (0, 4), (0, 5)} <= verborgen


def test_a_cell_linked_only_through_a_bridge_is_hidden_with_more() -> None:
    """Two blocks of hidden cells joined by one cell (a bridge): every line has two hidden cells, yet the
    rows of the first block minus its columns give the bridge away. The suppression hides more."""
    tabel = [[3, 3, 0, 0, 50], [3, 3, 3, 0, 50], [0, 0, 3, 3, 50], [0, 0, 3, 3, 50], [60, 60, 60, 60, 60]]
    assert len(_veilig(tabel, 5)) > 9


def test_lines_with_a_balance() -> None:
    """Stock at the end = stock at the start + new - ended: a balance is a line like a total."""
    waarden = {("begin",): 20, ("nieuw",): 3, ("einde",): 8, ("eind",): 15}
    balans = Lijn(((("eind",), 1), (("begin",), -1), (("nieuw",), -1), (("einde",), 1)))
    zicht = onderdruk_cellen(waarden, [balans], 5)
    assert zicht[("nieuw",)] is Zicht.KLEIN
    assert sum(z is not Zicht.GETOOND for z in zicht.values()) >= 2
    with pytest.raises(ValueError, match="does not hold"):
        onderdruk_cellen({**waarden, ("eind",): 16}, [balans], 5)
