"""The year's overview (``vir-gateway rapport jaar YEAR [--gemeente CODE]``): one self-contained HTML
file, its charts inline as SVG, nothing fetched from elsewhere, so a municipality can publish or mail
it as it is. Every number in it comes from one publication (``gateway.domain.cijfers``), suppressed
together, so no table or chart in it gives away what another hides."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from gateway.domain.cijfers import KOLOMMEN, Publicatie, Tabel
from gateway.publicatie.grafiek import REEKSEN, STAND, tabel_svg
from gateway.publicatie.tabel import TITELS

KOPPEN = {
    "stand_begin": "stand begin",
    "meldingen": "nieuwe meldingen",
    "beeindigd": "beëindigd",
    "onterecht": "waarvan onterecht",
    "risicoWeggenomen": "waarvan risico weggenomen",
    "verlopen": "waarvan verlopen",
    "leeftijd": "waarvan 23 jaar geworden",
    "overlijden": "waarvan overleden",
    "stand_eind": "stand eind",
    "clientmatches": "cliëntmatches",
    "gezinsmatches": "gezinsmatches",
    "regie": "regie toegewezen",
    "afstemmingen": "afstemmingen",
    "eerste_contact": "matches met eerste contact",
}
"""Column headings of the tables, in Dutch."""

_OMGEVING = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _getal(waarde: object) -> str:
    """A count with Dutch thousands separators; "<5" and "x" as they are."""
    if isinstance(waarde, int):
        return f"{waarde:,}".replace(",", ".")
    if isinstance(waarde, float):
        return f"{waarde:.1f}".replace(".", ",").removesuffix(",0")
    return "" if waarde is None else str(waarde)


_OMGEVING.filters["getal"] = _getal


def _sectie(p: Publicatie, tabel: Tabel) -> dict[str, object]:
    titel = TITELS[tabel.indeling] if tabel.indeling != "periode" else f"Per {p.per}"
    # every text in a chart went through escape() (gateway/publicatie/grafiek.py)
    grafieken = [Markup(tabel_svg(f"{titel}: meldingen, beëindigingen en matches", tabel, REEKSEN))]  # noqa: S704
    if tabel.indeling == "periode":
        grafieken.append(Markup(tabel_svg(f"{titel}: actieve meldingen aan het eind", tabel, STAND)))  # noqa: S704
    return {"titel": titel, "tabel": tabel, "grafieken": grafieken}


def render(p: Publicatie, jaar: int) -> str:
    """The year report of publication ``p`` (made for ``jaar``) as one HTML document."""
    gebied = f"gemeente {p.gemeente}" if p.gemeente else "alle gemeenten van deze verwijsindex"
    return _OMGEVING.get_template("jaarrapport.html").render(
        p=p,
        jaar=jaar,
        gebied=gebied,
        kolommen=KOLOMMEN,
        koppen=KOPPEN,
        totaal=p.tabellen[0].totaal if p.tabellen else None,
        secties=[_sectie(p, t) for t in p.tabellen],
        klein=f"<{p.drempel}",
    )
