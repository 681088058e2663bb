"""Bar charts of a publication: SVG drawn here (text, no script, readable without colour: every bar and
every suppressed value has a title, and the tables give the numbers), PNG through ``gateway.rapport``.

A suppressed count has no bar: the SVG writes ``<5`` or ``x`` where its bar would stand, the PNG leaves
the place empty (the table beside it says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from gateway.domain.cijfers import Tabel
from gateway.rapport import teken_staven_png

# Okabe-Ito colours, as in the PNG of gateway/rapport.py: distinguishable with the common colour blindness.
KLEUREN = {
    "meldingen": "#0072b2",
    "beeindigd": "#cc79a7",
    "clientmatches": "#e69f00",
    "gezinsmatches": "#009e73",
    "afstemmingen": "#d55e00",
    "stand_eind": "#56b4e9",
}
REEKSEN = ("meldingen", "beeindigd", "clientmatches", "gezinsmatches", "afstemmingen")
"""The series of a table's chart; the stock has a chart of its own (``STAND``)."""
STAND = ("stand_eind",)

Waarde = int | str  # a count, or "<5" / "x"


def _reeksen(tabel: Tabel, kolommen: Sequence[str]) -> list[tuple[str, list[Waarde]]]:
    return [(k, [r.cellen[k] for r in tabel.rijen]) for k in kolommen]


def staven_svg(
    titel: str, labels: Sequence[str], reeksen: Sequence[tuple[str, Sequence[Waarde]]], *, breedte: int = 900
) -> str:
    """A grouped bar chart: a group per label, a bar per series; a suppressed value is written where its
    bar would stand. Standalone SVG (for a file, or inline in HTML)."""
    hoogte, links, onder, boven = 340, 48, 84, 44
    plot_b, plot_h = breedte - links - 12, hoogte - onder - boven
    getallen = [w for _, ws in reeksen for w in ws if isinstance(w, int)]
    top = max(1, max(getallen, default=0))
    groep = plot_b / max(1, len(labels))
    balk = groep * 0.8 / max(1, len(reeksen))
    delen = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {breedte} {hoogte}" width="{breedte}" '
        f'height="{hoogte}" aria-label="{escape(titel)}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(titel)}</title>",
        f'<rect width="{breedte}" height="{hoogte}" fill="#ffffff"/>',
        f'<text x="{breedte / 2:.0f}" y="16" text-anchor="middle" font-size="14">{escape(titel)}</text>',
    ]
    x = links
    for naam, _ in reeksen:
        kleur = KLEUREN.get(naam, "#555555")
        delen.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{kleur}"/>')
        delen.append(f'<text x="{x + 14}" y="35">{escape(naam)}</text>')
        x += 28 + 7 * len(naam)
    basis = boven + plot_h
    for stap in range(5):
        waarde = round(top * stap / 4)
        y = basis - waarde / top * plot_h
        delen.append(f'<line x1="{links}" y1="{y:.1f}" x2="{links + plot_b}" y2="{y:.1f}" stroke="#e1e1e1"/>')
        delen.append(f'<text x="{links - 4}" y="{y + 4:.1f}" text-anchor="end">{waarde}</text>')
    elke = max(1, round(14 / groep)) if groep < 14 else 1
    for i, label in enumerate(labels):
        begin = links + i * groep + groep * 0.1
        for j, (naam, waarden) in enumerate(reeksen):
            w = waarden[i]
            midden = begin + (j + 0.5) * balk
            if isinstance(w, str):
                delen.append(
                    f'<text x="{midden:.1f}" y="{basis - 3}" text-anchor="middle" font-size="9" fill="#444444">'
                    f"{escape(w)}<title>{escape(label)}: {escape(naam)} {escape(w)} (onderdrukt)</title></text>"
                )
            elif w:
                h = max(1.0, w / top * plot_h)
                delen.append(
                    f'<rect x="{begin + j * balk:.1f}" y="{basis - h:.1f}" width="{max(1.0, balk - 1):.1f}" '
                    f'height="{h:.1f}" fill="{KLEUREN.get(naam, "#555555")}">'
                    f"<title>{escape(label)}: {escape(naam)} {w}</title></rect>"
                )
        if i % elke == 0:
            lx, ly = links + (i + 0.5) * groep, basis + 8
            delen.append(
                f'<text x="{lx:.1f}" y="{ly}" text-anchor="end" transform="rotate(-45 {lx:.1f} {ly})">'
                f"{escape(label[:24])}</text>"
            )
    delen.append(f'<line x1="{links}" y1="{boven}" x2="{links}" y2="{basis}" stroke="#5a5a5a"/>')
    delen.append(f'<line x1="{links}" y1="{basis}" x2="{links + plot_b}" y2="{basis}" stroke="#5a5a5a"/>')
    delen.append("</svg>")
    return "\n".join(delen)


def tabel_svg(titel: str, tabel: Tabel, kolommen: Sequence[str] = REEKSEN) -> str:
    return staven_svg(titel, [r.label for r in tabel.rijen], _reeksen(tabel, kolommen))


def tabel_png(pad: Path, titel: str, tabel: Tabel, kolommen: Sequence[str] = REEKSEN) -> None:
    """The chart of ``tabel`` as PNG; suppressed values have no bar."""
    reeksen = [
        (k, _rgb(KLEUREN[k]), [w if isinstance(w, int) else 0 for w in ws]) for k, ws in _reeksen(tabel, kolommen)
    ]
    teken_staven_png(pad, titel, [r.label for r in tabel.rijen], reeksen)


def _rgb(kleur: str) -> tuple[int, int, int]:
    return int(kleur[1:3], 16), int(kleur[3:5], 16), int(kleur[5:7], 16)
