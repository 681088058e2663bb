"""A publication as CSV (one line per row of every table) and as JSON. Suppressed counts are the strings
``<5`` and ``x`` (docs/rapportage.md); a number is always a true count."""

from __future__ import annotations

import csv
from typing import Any, TextIO

from gateway.domain.cijfers import KOLOMMEN, Publicatie, Rij, Tabel
from gateway.rapport import veilige_cel

CSV_KOLOMMEN = ("tabel", "sleutel", "label", "van", "tot", *KOLOMMEN, "mediaan_dagen")
"""The CSV header."""

TITELS = {
    "periode": "Per periode",
    "gemeente": "Per gemeente",
    "sector": "Per sector",
    "instantie": "Per instantie",
}


def rij_json(rij: Rij) -> dict[str, Any]:
    return {
        "sleutel": rij.sleutel,
        "label": rij.label,
        "van": rij.eerste.isoformat(),
        "tot": rij.laatste.isoformat(),
        "cellen": dict(rij.cellen),
        "mediaanDagen": rij.mediaan_dagen,
    }


def tabel_json(tabel: Tabel) -> dict[str, Any]:
    return {
        "indeling": tabel.indeling,
        "rijen": [rij_json(r) for r in tabel.rijen],
        "totaal": rij_json(tabel.totaal),
    }


def publicatie_json(p: Publicatie) -> dict[str, Any]:
    """The publication as JSON-ready values: every table with its rows and its total row."""
    return {
        "van": p.van.isoformat(),
        "tot": p.tot.isoformat(),
        "per": p.per,
        "gemeente": p.gemeente,
        "drempel": p.drempel,
        "onderdrukt": {f"<{p.drempel}": "fewer than the threshold (may be 0)", "x": "at least the threshold"},
        "kolommen": list(KOLOMMEN),
        "tabellen": [tabel_json(t) for t in p.tabellen],
    }


def schrijf_csv(p: Publicatie, out: TextIO) -> None:
    """Every table's rows and its total row (sleutel ``totaal``), one line each (RFC 4180: CRLF line
    ends; open a file with ``newline=""``). Names that a spreadsheet would run as a formula are quoted."""
    schrijver = csv.writer(out)
    schrijver.writerow(CSV_KOLOMMEN)
    for tabel in p.tabellen:
        for rij in (*tabel.rijen, tabel.totaal):
            mediaan = rij.mediaan_dagen
            schrijver.writerow(
                [
                    tabel.indeling,
                    veilige_cel(rij.sleutel),
                    veilige_cel(rij.label),
                    rij.eerste.isoformat(),
                    rij.laatste.isoformat(),
                    *(rij.cellen[k] for k in KOLOMMEN),
                    "" if mediaan is None else mediaan,
                ]
            )
