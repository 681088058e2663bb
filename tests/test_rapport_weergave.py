"""The rendering of the management report: period labels, the table with zeros and totals, CSV that
is safe to open in a spreadsheet, and a bar chart whose bars are as tall as the counts say."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from PIL import Image

from gateway.rapport import (
    KLEUREN,
    KOLOMMEN,
    SOORTEN,
    Rij,
    _schaal,
    periode_van,
    perioden_tussen,
    schrijf_csv,
    tabel,
    teken_png,
)

A = ("00000001234567890000", "Jeugdzorg Utrecht")
B = ("00000009876543210000", "bureau Leerplicht")
C = ("00000001111111110000", "GGD Hollands Midden")


def rij(periode: str, instantie: tuple[str, str], soort: str, aantal: int) -> Rij:
    return Rij(periode, instantie[0], instantie[1], soort, aantal)


# --- periode_van -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tijdstip", "per", "label"),
    [
        (datetime(2026, 3, 9, 23, 59), "dag", "2026-03-09"),
        (date(2026, 3, 9), "dag", "2026-03-09"),
        (datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "maand", "2026-03"),
        (datetime(2026, 1, 1), "maand", "2026-01"),
        (datetime(2026, 3, 31), "kwartaal", "2026-Q1"),
        (datetime(2026, 4, 1), "kwartaal", "2026-Q2"),
        (datetime(2026, 9, 30), "kwartaal", "2026-Q3"),
        (datetime(2026, 12, 31), "kwartaal", "2026-Q4"),
        (datetime(2026, 12, 31), "jaar", "2026"),
        (datetime(2026, 3, 9), "week", "2026-W11"),
        # ISO weeks: week 1 holds the year's first Thursday, so the label's year can differ.
        (datetime(2026, 1, 1), "week", "2026-W01"),  # a Thursday
        (datetime(2027, 1, 1), "week", "2026-W53"),  # a Friday; 2026 has 53 weeks
        (datetime(2027, 1, 3), "week", "2026-W53"),
        (datetime(2027, 1, 4), "week", "2027-W01"),
        (datetime(2024, 12, 30), "week", "2025-W01"),  # a Monday in the last days of December
        (datetime(2021, 1, 3), "week", "2020-W53"),
        (datetime(2025, 12, 28), "week", "2025-W52"),
    ],
)
def test_periode_van(tijdstip: date, per: str, label: str) -> None:
    assert periode_van(tijdstip, per) == label


@pytest.mark.parametrize("per", ["uur", "Maand", "", "month"])
def test_periode_van_onbekende_periode(per: str) -> None:
    with pytest.raises(ValueError, match="onbekende periode"):
        periode_van(datetime(2026, 1, 1), per)


def test_labels_sorteren_chronologisch() -> None:
    dagen = [date(2025, 12, 29), date(2026, 1, 5), date(2026, 10, 1), date(2027, 1, 1)]
    for per in ("dag", "week", "maand", "kwartaal", "jaar"):
        labels = [periode_van(d, per) for d in dagen]
        assert labels == sorted(labels), per


def test_perioden_tussen() -> None:
    assert perioden_tussen(date(2025, 11, 15), date(2026, 2, 1), "maand") == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    assert perioden_tussen(date(2026, 12, 28), date(2027, 1, 4), "week") == ["2026-W53", "2027-W01"]
    assert perioden_tussen(date(2026, 1, 1), date(2026, 1, 3), "dag") == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert perioden_tussen(date(2026, 1, 1), date(2026, 12, 31), "kwartaal") == [f"2026-Q{i}" for i in range(1, 5)]
    assert perioden_tussen(date(2026, 2, 1), date(2026, 1, 1), "maand") == []
    with pytest.raises(ValueError, match="onbekende periode"):
        perioden_tussen(date(2026, 1, 1), date(2026, 2, 1), "decennium")


# --- Rij and tabel ---------------------------------------------------------------------------------


def test_rij_weigert_onbekende_soort_en_negatief_aantal() -> None:
    with pytest.raises(ValueError, match="onbekende soort"):
        rij("2026-01", A, "signalen", 1)
    with pytest.raises(ValueError, match="negatief"):
        rij("2026-01", A, "meldingen", -1)


def test_tabel_vult_nullen_en_totalen() -> None:
    rijen = [
        rij("2026-02", A, "meldingen", 4),
        rij("2026-01", A, "meldingen", 3),
        rij("2026-01", A, "meldingen", 2),  # a second row of the same count adds up
        rij("2026-01", B, "verlopen", 1),
        rij("2026-01", C, "clientmatches", 5),
        rij("2026-01", A, "clientmatches", 5),
    ]
    nul = dict.fromkeys(SOORTEN, 0)
    assert tabel(rijen) == [
        # Sorted by name regardless of case: bureau, GGD, Jeugdzorg.
        {"periode": "2026-01", "instantie_oin": B[0], "instantie_naam": B[1], **nul, "verlopen": 1},
        {"periode": "2026-01", "instantie_oin": C[0], "instantie_naam": C[1], **nul, "clientmatches": 5},
        {
            "periode": "2026-01",
            "instantie_oin": A[0],
            "instantie_naam": A[1],
            **nul,
            "meldingen": 5,
            "clientmatches": 5,
        },
        {
            "periode": "2026-01",
            "instantie_oin": "",
            "instantie_naam": "totaal",
            **nul,
            "meldingen": 5,
            "clientmatches": 10,
            "verlopen": 1,
        },
        {"periode": "2026-02", "instantie_oin": A[0], "instantie_naam": A[1], **nul, "meldingen": 4},
        {"periode": "2026-02", "instantie_oin": "", "instantie_naam": "totaal", **nul, "meldingen": 4},
    ]
    assert all(list(r) == list(KOLOMMEN) for r in tabel(rijen))


def test_tabel_is_onafhankelijk_van_de_volgorde_van_de_invoer() -> None:
    rijen = [rij(f"2026-0{m}", i, s, m + n) for m in (1, 2, 3) for n, i in enumerate((A, B, C)) for s in SOORTEN]
    assert tabel(rijen) == tabel(reversed(rijen))


def test_tabel_leeg_en_lege_perioden() -> None:
    assert tabel([]) == []
    uit = tabel([rij("2026-02", A, "afstemmingen", 1)], perioden=["2026-01", "2026-02", "2026-03"])
    assert [(r["periode"], r["instantie_naam"]) for r in uit] == [
        ("2026-01", "totaal"),
        ("2026-02", A[1]),
        ("2026-02", "totaal"),
        ("2026-03", "totaal"),
    ]
    assert all(r[s] == 0 for r in uit if r["periode"] != "2026-02" for s in SOORTEN)


def test_tabel_weigert_twee_namen_voor_een_oin() -> None:
    with pytest.raises(ValueError, match="twee namen"):
        tabel([rij("2026-01", A, "meldingen", 1), Rij("2026-01", A[0], "Jeugdzorg NL", "verlopen", 1)])


# --- CSV -------------------------------------------------------------------------------------------


def test_csv_round_trip() -> None:
    rijen = [rij("2026-W01", A, "meldingen", 12), rij("2026-W01", B, "gezinsmatches", 1_500)]
    out = io.StringIO(newline="")
    schrijf_csv(rijen, out)
    tekst = out.getvalue()
    assert (
        tekst.splitlines()[0]
        == "periode,instantie_oin,instantie_naam,meldingen,clientmatches,gezinsmatches,afstemmingen,verlopen"
    )
    gelezen = list(csv.DictReader(io.StringIO(tekst, newline="")))
    assert gelezen == [{k: str(v) for k, v in r.items()} for r in tabel(rijen)]
    assert gelezen[-1]["instantie_naam"] == "totaal"
    assert gelezen[-1]["gezinsmatches"] == "1500"


def test_csv_met_lastige_namen() -> None:
    """Commas, quotes and line breaks in a name survive the round trip."""
    naam = 'Stichting "Jong", regio\nNoord'
    out = io.StringIO(newline="")
    schrijf_csv([Rij("2026", A[0], naam, "meldingen", 1)], out)
    gelezen = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert gelezen[0]["instantie_naam"] == naam


@pytest.mark.parametrize(
    "naam",
    ['=HYPERLINK("http://example.org/x","klik")', "+31 jeugd", "-1+2", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"],
)
def test_csv_neutraliseert_formules(naam: str) -> None:
    out = io.StringIO(newline="")
    schrijf_csv([Rij("2026-01", A[0], naam, "meldingen", 1)], out)
    gelezen = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert gelezen[0]["instantie_naam"] == "'" + naam
    assert gelezen[0]["meldingen"] == "1"  # numbers are left alone


def test_csv_laat_gewone_namen_met_rust() -> None:
    out = io.StringIO(newline="")
    schrijf_csv([Rij("2026-01", A[0], "Jeugd = zorg", "meldingen", 1)], out)
    gelezen = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert gelezen[0]["instantie_naam"] == "Jeugd = zorg"


def test_csv_leeg_heeft_alleen_de_kop() -> None:
    out = io.StringIO(newline="")
    schrijf_csv([], out)
    assert out.getvalue() == ",".join(KOLOMMEN) + "\r\n"


# --- the chart -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "stap", "top"),
    [
        (0, 1, 1),
        (1, 1, 1),
        (3, 1, 3),
        (7, 2, 8),
        (10, 2, 10),
        (11, 5, 15),
        (99, 20, 100),
        (102, 25, 125),
        (12_345, 2_500, 12_500),
        (12_501, 5_000, 15_000),
    ],
)
def test_schaal_ronde_stappen(maximum: int, stap: int, top: int) -> None:
    assert _schaal(maximum) == (stap, top)


def kleuren(pad: Path) -> Counter[tuple[int, int, int]]:
    with Image.open(pad) as beeld:
        beeld.load()
        assert beeld.format == "PNG"
        rgb = beeld.convert("RGB")
        return Counter({kleur: n for n, kleur in rgb.getcolors(maxcolors=rgb.width * rgb.height) or []})


def test_png_balken_zo_hoog_als_de_aantallen(tmp_path: Path) -> None:
    pad = tmp_path / "rapport.png"
    rijen = [
        rij("2026-01", A, "meldingen", 30),
        rij("2026-01", B, "meldingen", 10),  # totals over the instanties: 40
        rij("2026-01", A, "verlopen", 10),
        rij("2026-01", A, "clientmatches", 20),
    ]
    teken_png(rijen, pad, "Meldingen januari 2026")
    with Image.open(pad) as beeld:
        assert beeld.size == (1000, 600)
    telling = kleuren(pad)
    assert len(telling) > 2
    assert telling[(255, 255, 255)] > 0.5 * 1000 * 600  # white background
    # Every soort's colour shows in the legend; a soort without events has only its legend swatch.
    vak = telling[KLEUREN["gezinsmatches"]]
    assert vak > 0
    assert telling[KLEUREN["afstemmingen"]] == vak
    m, c, v = (telling[KLEUREN[s]] - vak for s in ("meldingen", "clientmatches", "verlopen"))
    assert m > c > v > 0
    # Bars are equally wide, so their areas relate as their counts.
    assert m / v == pytest.approx(4, rel=0.05)
    assert c / v == pytest.approx(2, rel=0.05)


def test_png_leeg(tmp_path: Path) -> None:
    pad = tmp_path / "leeg.png"
    teken_png([], pad, "Geen meldingen")
    with Image.open(pad) as beeld:
        assert beeld.size == (1000, 600)
    telling = kleuren(pad)
    assert len(telling) > 2  # axes and text on white
    vakken = {telling[KLEUREN[s]] for s in SOORTEN}
    assert len(vakken) == 1  # only the legend swatches, no bars


def test_png_alleen_nullen(tmp_path: Path) -> None:
    pad = tmp_path / "nul.png"
    teken_png([rij("2026-Q1", A, "meldingen", 0)], pad, "Niets gebeurd")
    telling = kleuren(pad)
    assert telling[KLEUREN["meldingen"]] == telling[KLEUREN["verlopen"]]


@pytest.mark.parametrize(
    ("van", "tot", "per"),
    [
        (date(2024, 1, 1), date(2025, 12, 31), "maand"),
        (date(2025, 1, 1), date(2025, 12, 31), "week"),
        (date(2025, 1, 1), date(2025, 12, 31), "dag"),
        (date(2026, 1, 1), date(2026, 1, 1), "jaar"),
    ],
)
def test_png_veel_en_weinig_perioden(tmp_path: Path, van: date, tot: date, per: str) -> None:
    perioden = perioden_tussen(van, tot, per)
    rijen = [rij(p, A, s, (i * 7 + j * 3) % 50) for i, p in enumerate(perioden) for j, s in enumerate(SOORTEN)]
    pad = tmp_path / f"{per}.png"
    teken_png(rijen, pad, f"Per {per}")
    with Image.open(pad) as beeld:
        assert beeld.size == (1000, 600)
    telling = kleuren(pad)
    assert all(telling[KLEUREN[s]] > 0 for s in SOORTEN)


def test_png_lege_perioden_houden_hun_plaats(tmp_path: Path) -> None:
    """A month without events stays on the axis, so the bars of the other months move aside."""
    rijen = [rij("2026-01", A, "meldingen", 5), rij("2026-03", A, "meldingen", 5)]
    zonder, met = tmp_path / "zonder.png", tmp_path / "met.png"
    teken_png(rijen, zonder, "Q1")
    teken_png(rijen, met, "Q1", perioden=perioden_tussen(date(2026, 1, 1), date(2026, 3, 31), "maand"))
    assert zonder.read_bytes() != met.read_bytes()


def test_png_is_deterministisch(tmp_path: Path) -> None:
    rijen = [rij(f"2026-0{m}", i, s, m * 3 + len(s)) for m in range(1, 10) for i in (A, B) for s in SOORTEN]
    een, twee = tmp_path / "een.png", tmp_path / "twee.png"
    teken_png(rijen, een, "Coördinatie – 2026 “test” 中文")
    teken_png(list(reversed(rijen)), twee, "Coördinatie – 2026 “test” 中文")
    assert een.read_bytes() == twee.read_bytes()


def test_png_andere_maat_en_lange_titel(tmp_path: Path) -> None:
    pad = tmp_path / "smal.png"
    teken_png([rij("2026-01", A, "meldingen", 3)], pad, "Een heel lange titel " * 10, breedte=480, hoogte=320)
    with Image.open(pad) as beeld:
        assert beeld.size == (480, 320)
    assert kleuren(pad)[KLEUREN["meldingen"]] > 0
