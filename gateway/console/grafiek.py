"""Small bar charts as inline SVG, drawn on the server: no script, no library, readable without colour
(every bar has a text title, and the pages show the numbers in a table as well)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

# Okabe-Ito colours, as in the PNG of gateway/rapport.py.
KLEUREN = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9")


def staven(
    titel: str,
    labels: Sequence[str],
    reeksen: Sequence[tuple[str, Sequence[int]]],
    *,
    breedte: int = 640,
    hoogte: int = 200,
    elke: int = 1,
) -> Markup:
    """A grouped bar chart: one group per label, one bar per series. ``elke``: label every n-th group."""
    links, onder, boven = 36, 22, 24
    plot_b, plot_h = breedte - links - 8, hoogte - onder - boven
    maximum = max((max(w, default=0) for _, w in reeksen), default=0)
    top = max(1, maximum)
    groep = plot_b / max(1, len(labels))
    balk = groep * 0.8 / max(1, len(reeksen))
    delen = [
        f'<svg class="grafiek" role="img" viewBox="0 0 {breedte} {hoogte}" width="{breedte}" height="{hoogte}" '
        f'aria-label="{escape(titel)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(titel)}</title>",
        f'<line x1="{links}" y1="{boven}" x2="{links}" y2="{boven + plot_h}" class="as"/>',
        f'<line x1="{links}" y1="{boven + plot_h}" x2="{links + plot_b}" y2="{boven + plot_h}" class="as"/>',
        f'<text x="{links - 4}" y="{boven + 4}" text-anchor="end" class="schaal">{top}</text>',
        f'<text x="{links - 4}" y="{boven + plot_h}" text-anchor="end" class="schaal">0</text>',
    ]
    x = links + 8
    for j, (naam, _) in enumerate(reeksen):
        kleur = KLEUREN[j % len(KLEUREN)]
        delen.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{kleur}"/>')
        delen.append(f'<text x="{x + 14}" y="15" class="legenda">{escape(naam)}</text>')
        x += 24 + 7 * len(naam)
    for i, label in enumerate(labels):
        begin = links + i * groep + groep * 0.1
        for j, (naam, waarden) in enumerate(reeksen):
            n = waarden[i]
            if n:
                h = max(1.0, n / top * plot_h)
                delen.append(
                    f'<rect x="{begin + j * balk:.1f}" y="{boven + plot_h - h:.1f}" width="{max(1.0, balk - 1):.1f}" '
                    f'height="{h:.1f}" fill="{KLEUREN[j % len(KLEUREN)]}">'
                    f"<title>{escape(label)}: {n} {escape(naam)}</title></rect>"
                )
        if i % elke == 0:
            delen.append(
                f'<text x="{links + (i + 0.5) * groep:.1f}" y="{hoogte - 6}" text-anchor="middle" class="label">'
                f"{escape(label)}</text>"
            )
    delen.append("</svg>")
    return Markup("".join(delen))  # noqa: S704  (every text in it went through escape())
