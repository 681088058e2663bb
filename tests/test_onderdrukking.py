"""Suppression of small counts: no published count between 1 and the threshold, and no hidden count can
be worked out from the totals (no row or column of the table with its totals has exactly one hidden cell).
Checked on random tables, independently of how the suppression chooses its cells."""

from __future__ import annotations

import random

import pytest

from gateway.domain.onderdrukking import onderdruk


def _raster(tabel: list[list[int]]) -> list[list[int]]:
    raster = [[*rij, sum(rij)] for rij in tabel]
    return [*raster, [sum(rij[k] for rij in raster) for k in range(len(raster[0]))]]


@pytest.mark.parametrize("seed", range(200))
def test_no_small_count_is_published_or_recoverable(seed: int) -> None:
    rng = random.Random(seed)
    drempel = rng.choice((3, 5, 10))
    tabel = [[rng.choice((0, 0, 1, 2, 3, 4, 6, 9, 20, 150)) for _ in range(rng.randint(1, 6))]]
    tabel += [[rng.choice((0, 1, 2, 7, 30)) for _ in tabel[0]] for _ in range(rng.randint(0, 7))]
    p = onderdruk(tabel, drempel)
    gepubliceerd = [[*rij, t] for rij, t in zip(p.cellen, p.rijtotalen, strict=True)]
    gepubliceerd.append([*p.kolomtotalen, p.totaal])
    echt = _raster(tabel)
    for r, rij in enumerate(gepubliceerd):
        for k, waarde in enumerate(rij):
            assert waarde is None or waarde == echt[r][k]  # what is shown is true
            assert waarde is None or not 0 < waarde < drempel  # and never small
            assert waarde is not None or echt[r][k] > 0  # a true zero is shown
    lijnen = [list(rij) for rij in gepubliceerd] + [list(kolom) for kolom in zip(*gepubliceerd, strict=True)]
    assert all(sum(w is None for w in lijn) != 1 for lijn in lijnen)


def test_a_single_small_cell_takes_a_neighbour_and_the_totals_along() -> None:
    p = onderdruk([[2, 40, 7], [12, 30, 9]], 5)
    assert p.cellen == [[None, 40, None], [None, 30, None]]
    assert p.rijtotalen == [49, 51] and p.kolomtotalen == [14, 70, 16] and p.totaal == 100
