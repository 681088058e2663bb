"""Management information: the rendering half of ``vir-gateway rapport``.

The report counts what happened in the verwijsindex per instantie and per period, as a CSV table
and as a bar chart. It never identifies a youth: its input is a list of counts (``Rij``), produced
by a query elsewhere, and everything here is a pure function of that list, so the same counts
always give the same CSV and the same PNG, byte for byte.
"""

from __future__ import annotations

import csv
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from PIL import Image, ImageDraw, ImageFont

# The periods live in the domain (gateway/domain/perioden.py); this module's callers find them here too.
from gateway.domain.perioden import PERIODES as PERIODES
from gateway.domain.perioden import periode_van as periode_van
from gateway.domain.perioden import perioden_tussen as perioden_tussen

SOORTEN = (
    "meldingen",  # meldingen filed in the period
    "clientmatches",  # a party joined a client match (one count per joining party)
    "gezinsmatches",  # a party joined a family match (one count per joining party)
    "afstemmingen",  # contact between matched parties was recorded
    "verlopen",  # meldingen that ended at their planned end date
)
"""The counted kinds, in the order of the CSV columns and of the bars in the chart."""

KOLOMMEN = ("periode", "instantie_oin", "instantie_naam", *SOORTEN)
"""The CSV header and the keys of a ``tabel`` row."""

TOTAAL = "totaal"
"""``instantie_naam`` of the row that sums all instanties of one period (its ``instantie_oin`` is empty)."""

KLEUREN: dict[str, tuple[int, int, int]] = {
    # Okabe-Ito colours: distinguishable with the common forms of colour blindness.
    "meldingen": (0, 114, 178),
    "clientmatches": (230, 159, 0),
    "gezinsmatches": (0, 158, 115),
    "afstemmingen": (213, 94, 0),
    "verlopen": (204, 121, 167),
}
"""The bar colour of each soort. Bars are filled with exactly this colour and nothing else is."""

_WIT = (255, 255, 255)
_TEKST = (40, 40, 40)
_AS = (90, 90, 90)
_RASTER = (225, 225, 225)
_GRIJS = (140, 140, 140)
_MARGE = 20
_FORMULE_TEKENS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Rij:
    """One count: ``aantal`` events of ``soort`` at one instantie in one period."""

    periode: str
    instantie_oin: str
    instantie_naam: str
    soort: str
    aantal: int

    def __post_init__(self) -> None:
        # Reject bad counts where they are made, not when a column silently stays 0.
        if self.soort not in SOORTEN:
            raise ValueError(f"onbekende soort {self.soort!r}; verwacht een van {', '.join(SOORTEN)}")
        if self.aantal < 0:
            raise ValueError(f"negatief aantal {self.aantal} voor {self.soort} in {self.periode}")


def _verzamel(rijen: Iterable[Rij]) -> dict[tuple[str, str], tuple[str, dict[str, int]]]:
    """Sum the counts per (periode, instantie_oin); the query may deliver one soort in several rows."""
    groepen: dict[tuple[str, str], tuple[str, dict[str, int]]] = {}
    for rij in rijen:
        sleutel = (rij.periode, rij.instantie_oin)
        if sleutel not in groepen:
            groepen[sleutel] = (rij.instantie_naam, dict.fromkeys(SOORTEN, 0))
        naam, aantallen = groepen[sleutel]
        if naam != rij.instantie_naam:
            # One OIN with two names would give two lines that look like different instanties.
            raise ValueError(
                f"instantie {rij.instantie_oin} heeft in {rij.periode} twee namen: {naam!r} en {rij.instantie_naam!r}"
            )
        aantallen[rij.soort] += rij.aantal
    return groepen


def tabel(rijen: Iterable[Rij], *, perioden: Iterable[str] = ()) -> list[dict[str, object]]:
    """The counts as table rows with the keys of ``KOLOMMEN``, a column per soort (0 when absent).

    Rows are sorted by periode, then by instantie name (case-insensitive, then OIN, so the order
    is stable). Each period ends with one total row: ``instantie_oin`` "" and ``instantie_naam``
    "totaal". Periods in ``perioden`` without any count still get their (all-zero) total row.
    """
    groepen = _verzamel(rijen)
    per_periode: dict[str, list[tuple[str, str, dict[str, int]]]] = {p: [] for p in perioden}
    for (periode, oin), (naam, aantallen) in groepen.items():
        per_periode.setdefault(periode, []).append((oin, naam, aantallen))

    uit: list[dict[str, object]] = []
    for periode in sorted(per_periode):
        instanties = sorted(per_periode[periode], key=lambda i: (i[1].casefold(), i[1], i[0]))
        totaal = dict.fromkeys(SOORTEN, 0)
        for oin, naam, aantallen in instanties:
            uit.append({"periode": periode, "instantie_oin": oin, "instantie_naam": naam, **aantallen})
            for soort in SOORTEN:
                totaal[soort] += aantallen[soort]
        uit.append({"periode": periode, "instantie_oin": "", "instantie_naam": TOTAAL, **totaal})
    return uit


def veilige_cel(waarde: object) -> object:
    """Neutralise text that a spreadsheet program would run as a formula (CSV injection).

    Operators open the report in Excel or LibreOffice; an instantie named ``=HYPERLINK(...)`` must
    show as text there. A leading apostrophe is the usual guard (OWASP) and keeps the name readable.
    """
    if isinstance(waarde, str) and waarde.startswith(_FORMULE_TEKENS):
        return "'" + waarde
    return waarde


def schrijf_csv(rijen: Iterable[Rij], out: TextIO, *, perioden: Iterable[str] = ()) -> None:
    """Write ``tabel(rijen)`` as CSV with a header line (RFC 4180: CRLF line ends).

    Open a file for ``out`` with ``newline=""``, as the csv module requires.
    """
    schrijver = csv.DictWriter(out, fieldnames=KOLOMMEN)
    schrijver.writeheader()
    for rij in tabel(rijen, perioden=perioden):
        schrijver.writerow({k: veilige_cel(v) for k, v in rij.items()})


# --- the chart ---------------------------------------------------------------------------------

_Lettertype = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _lettertype(grootte: int) -> _Lettertype:
    """Pillow's built-in font at ``grootte`` px, so the chart needs no font files on the server.

    Without FreeType, Pillow has only a small fixed bitmap font; the chart then still renders.
    """
    try:
        return ImageFont.load_default(size=grootte)
    except (ImportError, OSError, TypeError):
        return ImageFont.load_default()


_ASCII = str.maketrans({"–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."})


def _tekenbaar(tekst: str) -> str:
    """``tekst`` in the characters the built-in font has (printable ASCII): accents are dropped
    ("coördinatie" becomes "coordinatie"), dashes and curly quotes become their ASCII form and
    anything else becomes "?", rather than empty boxes."""
    tekst = unicodedata.normalize("NFKD", tekst).translate(_ASCII)
    zonder_accenten = "".join(c for c in tekst if not unicodedata.combining(c))
    return "".join(c if " " <= c <= "~" else "?" for c in zonder_accenten)


def _maat(draw: ImageDraw.ImageDraw, tekst: str, font: _Lettertype) -> tuple[int, int, int, int]:
    """The ink box of ``tekst`` drawn at (0, 0): left, top, width, height."""
    links, boven, rechts, onder = (int(v) for v in draw.textbbox((0, 0), tekst, font=font))
    return links, boven, rechts - links, onder - boven


def _kaphoogte(draw: ImageDraw.ImageDraw, font: _Lettertype) -> tuple[int, int]:
    """Top and height of a capital letter: texts placed by it share one baseline."""
    _, boven, _, hoogte = _maat(draw, "H", font)
    return boven, hoogte


def _schrijf(
    draw: ImageDraw.ImageDraw, x: float, y: float, tekst: str, font: _Lettertype, kleur: tuple[int, int, int]
) -> None:
    """Draw ``tekst`` with its ink starting at x and the top of its capitals at y (anchors would need
    FreeType)."""
    links = _maat(draw, tekst, font)[0]
    boven = _kaphoogte(draw, font)[0]
    draw.text((round(x) - links, round(y) - boven), tekst, font=font, fill=kleur)


def _inkorten(draw: ImageDraw.ImageDraw, tekst: str, font: _Lettertype, breedte: int) -> str:
    """``tekst``, shortened with "..." until it fits in ``breedte`` px."""
    if _maat(draw, tekst, font)[2] <= breedte:
        return tekst
    while tekst and _maat(draw, tekst + "...", font)[2] > breedte:
        tekst = tekst[:-1]
    return tekst.rstrip() + "..."


def _getal(n: int) -> str:
    """A count with Dutch thousands separators: 12.500."""
    return f"{n:,}".replace(",", ".")


def _schaal(maximum: int) -> tuple[int, int]:
    """Step and top of the y axis: the smallest step of 1, 2, 2.5 or 5 times a power of ten (whole
    numbers only, counts have no fractions) that reaches ``maximum`` in at most five steps, and the
    first gridline at or above ``maximum`` as top (at least 1)."""
    macht = 1
    while True:
        for stap in (macht, 2 * macht, 5 * macht // 2, 5 * macht) if macht >= 10 else (1, 2, 5):
            if stap * 5 >= maximum:
                return stap, max(1, math.ceil(maximum / stap)) * stap
        macht *= 10


Reeks = tuple[str, tuple[int, int, int], Sequence[int]]
"""One series of a bar chart: its name, its colour and a value per label."""


def _legenda(
    draw: ImageDraw.ImageDraw, font: _Lettertype, breedte: int, boven: int, kleuren: dict[str, tuple[int, int, int]]
) -> int:
    """Draw the legend as centred lines of swatch + name (wrapped on a narrow chart); return its bottom."""
    vak = 12
    items = [(naam, vak + 6 + _maat(draw, naam, font)[2]) for naam in kleuren]
    ruimte = 22
    regels: list[list[tuple[str, int]]] = [[]]
    for item in items:
        regel = regels[-1]
        bezet = sum(w for _, w in regel) + ruimte * len(regel)
        if regel and bezet + ruimte + item[1] > breedte - 2 * _MARGE:
            regels.append([item])
        else:
            regel.append(item)
    y = boven
    for regel in regels:
        totaal = sum(w for _, w in regel) + ruimte * (len(regel) - 1)
        x = (breedte - totaal) // 2
        for soort, w in regel:
            draw.rectangle((x, y, x + vak - 1, y + vak - 1), fill=kleuren[soort])
            _schrijf(draw, x + vak + 6, y + (vak - _kaphoogte(draw, font)[1]) / 2, soort, font, _TEKST)
            x += w + ruimte
        y += vak + 8
    return y - 8


def _staand_label(beeld: Image.Image, tekst: str, font: _Lettertype, midden: float, boven: int) -> None:
    """Paste ``tekst`` turned a quarter left (read bottom to top), centred on x = ``midden``, its
    end just under the axis at y = ``boven``."""
    meet = ImageDraw.Draw(beeld)
    links, top, breedte, hoogte = _maat(meet, tekst, font)
    masker = Image.new("L", (max(1, breedte), max(1, hoogte)), 0)
    ImageDraw.Draw(masker).text((-links, -top), tekst, font=font, fill=255)
    masker = masker.rotate(90, expand=True)
    x = round(midden - masker.width / 2)
    beeld.paste(_TEKST, (x, boven, x + masker.width, boven + masker.height), masker)


def teken_png(
    rijen: Iterable[Rij],
    pad: Path,
    titel: str,
    *,
    perioden: Iterable[str] = (),
    breedte: int = 1000,
    hoogte: int = 600,
) -> None:
    """Draw the totals over all instanties as a grouped bar chart and save it as PNG at ``pad``.

    The x axis has the periods in order (those in the data plus ``perioden``), each with one bar
    per soort in the colours of ``KLEUREN``. The y axis gets gridlines at round steps. Period labels
    turn upright when they do not fit side by side, and only every n-th is shown when even upright
    labels would overlap (a year of days). Without any period the axes show "geen gegevens".
    """
    totalen: dict[str, dict[str, int]] = {p: dict.fromkeys(SOORTEN, 0) for p in perioden}
    for (periode, _), (_, aantallen) in _verzamel(rijen).items():
        totaal = totalen.setdefault(periode, dict.fromkeys(SOORTEN, 0))
        for soort in SOORTEN:
            totaal[soort] += aantallen[soort]
    labels = sorted(totalen)
    reeksen = [(soort, KLEUREN[soort], [totalen[p][soort] for p in labels]) for soort in SOORTEN]
    teken_staven_png(pad, titel, labels, reeksen, breedte=breedte, hoogte=hoogte)


def teken_staven_png(
    pad: Path, titel: str, labels: Sequence[str], reeksen: Sequence[Reeks], *, breedte: int = 1000, hoogte: int = 600
) -> None:
    """A grouped bar chart as PNG at ``pad``: a group of bars per label, one bar per series in its colour.
    Labels turn upright when they do not fit side by side, and only every n-th is shown when even upright
    labels would overlap; without labels the axes show "geen gegevens"."""
    beeld = Image.new("RGB", (breedte, hoogte), _WIT)
    draw = ImageDraw.Draw(beeld)
    f_titel, f_legenda, f_as, f_leeg = _lettertype(20), _lettertype(13), _lettertype(12), _lettertype(16)

    # Title and legend on top.
    titel = _inkorten(draw, _tekenbaar(titel), f_titel, breedte - 2 * _MARGE)
    titel_b, titel_h = _maat(draw, titel, f_titel)[2], _maat(draw, "Hg", f_titel)[3]
    _schrijf(draw, (breedte - titel_b) / 2, _MARGE - 4, titel, f_titel, _TEKST)
    legenda_onder = _legenda(draw, f_legenda, breedte, _MARGE - 4 + titel_h + 14, {n: k for n, k, _ in reeksen})

    # The y scale decides the width of the left margin.
    maximum = max((max(waarden, default=0) for _, _, waarden in reeksen), default=0)
    stap, top = _schaal(maximum)
    y_labels = [_getal(v) for v in range(0, top + 1, stap)] if labels else ["0"]
    links = _MARGE + max(_maat(draw, t, f_as)[2] for t in y_labels) + 10
    rechts = breedte - _MARGE
    plot_b = rechts - links
    groep = plot_b / max(1, len(labels))

    # The period labels decide the bottom margin: side by side if they fit, else upright and thinned.
    label_b = max((_maat(draw, p, f_as)[2] for p in labels), default=0)
    regel_h = _maat(draw, "0123456789-WQ", f_as)[3]
    staand = label_b + 8 > groep
    elke = math.ceil((regel_h + 4) / groep) if staand else 1
    onder = hoogte - _MARGE - (label_b if staand else regel_h) - 8
    boven = legenda_onder + 28
    plot_h = onder - boven

    _schrijf(draw, _MARGE, boven - 20, "aantal", f_as, _GRIJS)
    if labels:
        for i, v in enumerate(range(0, top + 1, stap)):
            y = onder - round(v / top * plot_h)
            if v:
                draw.line((links + 1, y, rechts, y), fill=_RASTER)
            w = _maat(draw, y_labels[i], f_as)[2]
            _schrijf(draw, links - 8 - w, y - _kaphoogte(draw, f_as)[1] / 2, y_labels[i], f_as, _TEKST)
    else:
        w, h = _maat(draw, "geen gegevens", f_leeg)[2], _kaphoogte(draw, f_leeg)[1]
        _schrijf(draw, links + (plot_b - w) / 2, boven + (plot_h - h) / 2, "geen gegevens", f_leeg, _GRIJS)

    # Bars: the middle 80 % of each period's slot, split evenly over the soorten.
    balk = groep * 0.8 / max(1, len(reeksen))
    for i, periode in enumerate(labels):
        begin = links + i * groep + groep * 0.1
        for j, (_, kleur, waarden) in enumerate(reeksen):
            aantal = waarden[i]
            if not aantal:
                continue
            x0 = round(begin + j * balk)
            x1 = max(x0, round(begin + (j + 1) * balk) - 1)
            h = max(1, round(aantal / top * plot_h))
            draw.rectangle((x0, onder - h, x1, onder - 1), fill=kleur)
        if i % elke == 0:
            midden = links + (i + 0.5) * groep
            if staand:
                _staand_label(beeld, periode, f_as, midden, onder + 6)
            else:
                w = _maat(draw, periode, f_as)[2]
                _schrijf(draw, midden - w / 2, onder + 6, periode, f_as, _TEKST)

    # Axes last, so that bars never cover them.
    draw.line((links, boven, links, onder), fill=_AS)
    draw.line((links, onder, rechts, onder), fill=_AS)
    beeld.save(pad, format="PNG")
