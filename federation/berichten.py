"""Spyne classes mirroring ``schemas/xsd/federatie-v1.xsd`` (the XSD is the contract)."""

from __future__ import annotations

from typing import Any

from spyne import Boolean, ComplexModel, Date, DateTime, Integer, Unicode

from gateway import berichten as G
from gateway import ns


class FED(ComplexModel):
    __namespace__ = ns.FEDERATIE
    __init__ = G.snel_init


class Bron(FED):
    _type_info = [("systeem", Unicode), ("meldingId", Unicode), ("versie", Integer)]


class Partij(FED):
    _type_info = [("systeem", Unicode), ("oin", Unicode)]


class Afstemming(FED):
    _type_info = [("datum", Date), ("partij", Partij)]


class Regie(FED):
    _type_info = [
        ("regievoerder", Partij),
        ("gekozen", DateTime),
        ("gekozenDoor", Unicode),
        ("laatsteAfstemming", Afstemming),
    ]


def _element(name: str, fields: list[tuple[str, Any]]) -> Any:
    return type(f"Fed{name}", (FED,), {"__type_name__": name, "_type_info": fields})


MeldingDoorgeven = _element(
    "MeldingDoorgeven",
    [
        ("stuurgegevens", G.Stuurgegevens),
        ("afzender", Unicode),
        ("bron", Bron),
        ("jongere", Unicode),
        ("contactkaart", G.Contactkaart),
        ("geplandeEinddatum", Date),
        ("regie", Regie),
    ],
)
MeldingDoorgevenResponse = _element(
    "MeldingDoorgevenResponse",
    [
        ("stuurgegevens", G.StuurgegevensAntwoord),
        ("verwerkt", Boolean),
        ("lokaleMatch", G.Contactkaart.customize(max_occurs="unbounded")),
    ],
)
MeldingIntrekken = _element(
    "MeldingIntrekken",
    [
        ("stuurgegevens", G.Stuurgegevens),
        ("afzender", Unicode),
        ("bron", Bron),
    ],
)
MeldingIntrekkenResponse = _element(
    "MeldingIntrekkenResponse",
    [
        ("stuurgegevens", G.StuurgegevensAntwoord),
        ("verwerkt", Boolean),
    ],
)
JongereAankondigen = _element(
    "JongereAankondigen",
    [
        ("stuurgegevens", G.Stuurgegevens),
        ("afzender", Unicode),
        ("jongere", Unicode),
    ],
)
JongereAankondigenResponse = _element(
    "JongereAankondigenResponse",
    [
        ("stuurgegevens", G.StuurgegevensAntwoord),
        ("bekend", Boolean),
    ],
)
RegieDoorgeven = _element(
    "RegieDoorgeven",
    [("stuurgegevens", G.Stuurgegevens), ("afzender", Unicode), ("jongere", Unicode), ("regie", Regie)],
)
RegieDoorgevenResponse = _element(
    "RegieDoorgevenResponse", [("stuurgegevens", G.StuurgegevensAntwoord), ("verwerkt", Boolean)]
)
GezinsmatchDoorgeven = _element(
    "GezinsmatchDoorgeven",
    [
        ("stuurgegevens", G.Stuurgegevens),
        ("afzender", Unicode),
        ("meldingId", Unicode),
        ("tijdstip", DateTime),
        ("partij", G.Contactkaart.customize(max_occurs="unbounded")),
    ],
)
GezinsmatchDoorgevenResponse = _element(
    "GezinsmatchDoorgevenResponse", [("stuurgegevens", G.StuurgegevensAntwoord), ("verwerkt", Boolean)]
)
Ping = _element("Ping", [("stuurgegevens", G.Stuurgegevens), ("afzender", Unicode)])
PingResponse = _element(
    "PingResponse", [("stuurgegevens", G.StuurgegevensAntwoord), ("systeem", Unicode), ("hub", Boolean)]
)

CheckpointGetuigen = _element(
    "CheckpointGetuigen",
    [
        ("stuurgegevens", G.Stuurgegevens),
        ("afzender", Unicode),
        ("checkpoint", Unicode),  # base64Binary: decoded by the handler, the XSD has validated it
        ("vorigeGrootte", Integer),
        ("consistentiebewijs", Unicode.customize(max_occurs=64)),
    ],
)
CheckpointGetuigenResponse = _element(
    "CheckpointGetuigenResponse",
    [
        ("stuurgegevens", G.StuurgegevensAntwoord),
        ("getuigd", Boolean),
        ("cosignatuur", Unicode),
        ("bekendeGrootte", Integer),
    ],
)
