"""Spyne classes that mirror the committed XSDs, for (de)serialising bodies.

They are not the contract: ``schemas/xsd/`` is. Requests are validated against the XSDs before Spyne
reads them, so these classes carry no restrictions of their own; they only name elements, their
order and namespaces, and a test validates every answer the server gives against the XSDs.
"""

from __future__ import annotations

from typing import Any

from spyne import AnyXml, Boolean, ComplexModel, Date, DateTime, Integer, Unicode, XmlAttribute, XmlData

from gateway import ns
from gateway._spyne_compat import patch_xmldata

patch_xmldata()  # before any model is serialised (see gateway/_spyne_compat.py)


def _many(cls: Any) -> Any:
    return cls.customize(max_occurs="unbounded")


_EENVOUDIG: dict[type, tuple[dict[str, Any], frozenset[str]] | None] = {}


def _eenvoudig(cls: type) -> tuple[dict[str, Any], frozenset[str]] | None:
    """A class whose objects ``snel_init`` may build itself: its members' start values (as Spyne's own
    ``__init__`` sets them, all None or immutable) and the members a keyword may set; None for a class Spyne
    must build (simple content, a customised class, a read-only member, a start value that is an object)."""
    if cls not in _EENVOUDIG:
        c: Any = cls
        plan = None
        if c.Attributes._xml_tag_body_as is None and c.__orig__ is None:
            leeg = c.__new__(c)
            ComplexModel.__init__(leeg)
            start = dict(leeg.__dict__)
            fti = c.get_flat_type_info(c)
            if all(v is None or isinstance(v, str | int | bool) for v in start.values()) and not any(
                v.Attributes.read_only for v in fti.values()
            ):
                plan = (start, frozenset(fti))
        _EENVOUDIG[cls] = plan
    return _EENVOUDIG[cls]


def snel_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """The ``__init__`` of our classes: what Spyne's gives (every member set, unknown keywords ignored)
    without walking the class's members for every object; a batch's answer builds thousands."""
    plan = None if args else _eenvoudig(type(self))
    if plan is None:
        ComplexModel.__init__(self, *args, **kwargs)
        return
    start, leden = plan
    d = self.__dict__
    d.update(start)
    for k, v in kwargs.items():
        if k in leden:
            d[k] = v


snel_init.zoals_spyne = True  # type: ignore[attr-defined]  # gateway/lezer.py may build these objects itself


class G(ComplexModel):
    __namespace__ = ns.GEGEVENS
    __init__ = snel_init


class Zender(G):
    _type_info = [("oin", Unicode), ("applicatie", Unicode)]


class Ontvanger(G):
    _type_info = [("oin", Unicode)]


class Stuurgegevens(G):
    _type_info = [
        ("berichtId", Unicode),
        ("tijdstip", DateTime),
        ("zender", Zender),
        ("ontvanger", Ontvanger),
        ("gebruiker", Unicode),
    ]


class Ontvangstbewijs(G):
    _type_info = [("volgnummer", Integer), ("leafHash", Unicode)]


class StuurgegevensAntwoord(G):
    _type_info = [
        ("berichtId", Unicode),
        ("tijdstip", DateTime),
        ("zender", Zender),
        ("ontvanger", Ontvanger),
        ("kruisverwijzing", Unicode),
        ("ontvangstbewijs", Ontvangstbewijs),
    ]


class JongereZonderBsn(G):
    _type_info = [("geslachtsnaam", Unicode), ("voorvoegsel", Unicode), ("geboortedatum", Date), ("geslacht", Unicode)]


class Jongere(G):
    _type_info = [("bsn", Unicode), ("geboortedatum", Date), ("zonderBsn", JongereZonderBsn)]


class Instantie(G):
    _type_info = [("oin", Unicode), ("naam", Unicode), ("vestiging", Unicode)]


class Meldingsbevoegde(G):
    _type_info = [
        ("naam", Unicode),
        ("functie", Unicode),
        ("telefoon", Unicode),
        ("email", Unicode),
        ("medewerkerId", Unicode),
    ]


class Contactkaart(G):
    _type_info = [("instantie", Instantie), ("meldingsbevoegde", Meldingsbevoegde), ("bronsysteem", Unicode)]


class Match(G):
    _type_info = [
        ("matchId", Unicode),
        ("meldingId", Unicode),
        ("soort", Unicode),
        ("status", Unicode),
        ("sinds", DateTime),
        ("partij", _many(Contactkaart)),
        ("regievoerder", Unicode),
        ("laatsteAfstemming", Date),
    ]


class Archiefsignaal(G):
    _type_info = [("partij", _many(Contactkaart))]


class Signaal(G):
    _type_info = [
        ("volgnummer", Integer),
        ("soort", Unicode),
        ("tijdstip", DateTime),
        ("meldingId", Unicode),
        ("match", Match),
        ("archiefsignaal", Archiefsignaal),
        ("einddatum", Date),
        ("reden", Unicode),
    ]


class Foutmelding(G):
    _type_info = [("taal", XmlAttribute(Unicode)), ("tekst", XmlData(Unicode))]


class Bevinding(G):
    _type_info = [("code", Unicode), ("melding", _many(Foutmelding)), ("xpath", Unicode)]


# --- Ketenpartner request and response elements ---------------------------------------------


class KP(ComplexModel):
    __namespace__ = ns.KETENPARTNER
    __init__ = snel_init


def _element(name: str, fields: list[tuple[str, Any]]) -> Any:
    return type(name, (KP,), {"__type_name__": name, "_type_info": fields})


MeldingAfgeven = _element(
    "MeldingAfgeven",
    [
        ("stuurgegevens", Stuurgegevens),
        ("jongere", Jongere),
        ("meldingsbevoegde", Meldingsbevoegde),
        ("geplandeEinddatum", Date),
        ("afgeschermd", Boolean),
    ],
)
MeldingAfgevenResponse = _element(
    "MeldingAfgevenResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("meldingId", Unicode),
        ("geplandeEinddatum", Date),
        ("match", _many(Match)),
        ("archiefsignaal", Archiefsignaal),
    ],
)

MeldingItem = _element(
    "MeldingItem",
    [
        ("referentie", Unicode),
        ("jongere", Jongere),
        ("meldingsbevoegde", Meldingsbevoegde),
        ("geplandeEinddatum", Date),
        ("afgeschermd", Boolean),
    ],
)
MeldingResultaat = _element(
    "MeldingResultaat",
    [
        ("referentie", Unicode),
        ("meldingId", Unicode),
        ("geplandeEinddatum", Date),
        ("match", _many(Match)),
        ("archiefsignaal", Archiefsignaal),
        ("fout", Bevinding),
    ],
)
MeldingenAfgeven = _element("MeldingenAfgeven", [("stuurgegevens", Stuurgegevens), ("item", _many(MeldingItem))])
MeldingenAfgevenResponse = _element(
    "MeldingenAfgevenResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("afgegeven", Integer),
        ("geweigerd", Integer),
        ("resultaat", _many(MeldingResultaat)),
    ],
)

RegievoerderVastleggen = _element(
    "RegievoerderVastleggen", [("stuurgegevens", Stuurgegevens), ("matchId", Unicode), ("regievoerder", Unicode)]
)
RegievoerderVastleggenResponse = _element(
    "RegievoerderVastleggenResponse", [("stuurgegevens", StuurgegevensAntwoord), ("match", Match)]
)
AfstemmingVastleggen = _element(
    "AfstemmingVastleggen", [("stuurgegevens", Stuurgegevens), ("matchId", Unicode), ("datum", Date)]
)
AfstemmingVastleggenResponse = _element(
    "AfstemmingVastleggenResponse", [("stuurgegevens", StuurgegevensAntwoord), ("match", Match)]
)
CasusGebeurtenis = _element(
    "CasusGebeurtenis",
    [
        ("stuurgegevens", Stuurgegevens),
        ("gebeurtenis", Unicode),
        ("casustype", Unicode),
        ("jongere", Jongere),
        ("meldingsbevoegde", Meldingsbevoegde),
        ("reden", Unicode),
    ],
)
CasusGebeurtenisResponse = _element(
    "CasusGebeurtenisResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("actie", Unicode),
        ("uitleg", Unicode),
        ("meldingId", Unicode),
        ("match", _many(Match)),
        ("archiefsignaal", Archiefsignaal),
    ],
)

MeldingWijzigen = _element(
    "MeldingWijzigen",
    [
        ("stuurgegevens", Stuurgegevens),
        ("meldingId", Unicode),
        ("meldingsbevoegde", Meldingsbevoegde),
        ("geplandeEinddatum", Date),
    ],
)
MeldingWijzigenResponse = _element(
    "MeldingWijzigenResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("meldingId", Unicode),
        ("geplandeEinddatum", Date),
        ("match", _many(Match)),
    ],
)

MeldingBeeindigen = _element(
    "MeldingBeeindigen", [("stuurgegevens", Stuurgegevens), ("meldingId", Unicode), ("reden", Unicode)]
)
MeldingBeeindigenResponse = _element(
    "MeldingBeeindigenResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("meldingId", Unicode),
        ("resultaat", Unicode),
        ("beeindigdeMatches", Integer),
    ],
)

MatchesOpvragen = _element(
    "MatchesOpvragen",
    [("stuurgegevens", Stuurgegevens), ("meldingId", Unicode), ("pagina", Integer), ("paginaGrootte", Integer)],
)
MatchesOpvragenResponse = _element(
    "MatchesOpvragenResponse",
    [("stuurgegevens", StuurgegevensAntwoord), ("totaal", Integer), ("pagina", Integer), ("match", _many(Match))],
)

EigenMelding = _element(
    "EigenMelding",
    [
        ("meldingId", Unicode),
        ("status", Unicode),
        ("afgegeven", DateTime),
        ("geplandeEinddatum", Date),
        ("beeindigd", DateTime),
        ("reden", Unicode),
    ],
)
EigenMeldingenOpvragen = _element(
    "EigenMeldingenOpvragen",
    [("stuurgegevens", Stuurgegevens), ("status", Unicode), ("pagina", Integer), ("paginaGrootte", Integer)],
)
EigenMeldingenOpvragenResponse = _element(
    "EigenMeldingenOpvragenResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("totaal", Integer),
        ("pagina", Integer),
        ("melding", _many(EigenMelding)),
    ],
)

SignalenOphalen = _element(
    "SignalenOphalen", [("stuurgegevens", Stuurgegevens), ("vanafVolgnummer", Integer), ("maximaal", Integer)]
)
SignalenOphalenResponse = _element(
    "SignalenOphalenResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("bevestigdTotEnMet", Integer),
        ("meer", Boolean),
        ("signaal", _many(Signaal)),
    ],
)

SignalenBevestigen = _element("SignalenBevestigen", [("stuurgegevens", Stuurgegevens), ("totEnMetVolgnummer", Integer)])
SignalenBevestigenResponse = _element(
    "SignalenBevestigenResponse", [("stuurgegevens", StuurgegevensAntwoord), ("bevestigdTotEnMet", Integer)]
)


BerichtValideren = _element("BerichtValideren", [("stuurgegevens", Stuurgegevens), ("bericht", AnyXml)])
BerichtValiderenResponse = _element(
    "BerichtValiderenResponse",
    [("stuurgegevens", StuurgegevensAntwoord), ("geldig", Boolean), ("bevinding", _many(Bevinding))],
)

OntvangstbewijsOpvragen = _element(
    "OntvangstbewijsOpvragen", [("stuurgegevens", Stuurgegevens), ("ontvangstbewijs", Ontvangstbewijs)]
)
OntvangstbewijsOpvragenResponse = _element(
    "OntvangstbewijsOpvragenResponse",
    [
        ("stuurgegevens", StuurgegevensAntwoord),
        ("status", Unicode),
        ("boomgrootte", Integer),
        ("auditpad", _many(Unicode)),
        ("checkpoint", AnyXml),
        ("cosignatuur", _many(AnyXml)),
    ],
)

Ping = _element("Ping", [("stuurgegevens", Stuurgegevens)])
PingResponse = _element("PingResponse", [("stuurgegevens", StuurgegevensAntwoord), ("versie", Unicode)])


# --- organisation profiles and designated professionals -------------------------------------------


class Privacyprotocol(KP):
    _type_info = [("titel", Unicode), ("versie", Unicode), ("link", Unicode)]


class Regierol(KP):
    _type_info = [("magRegievoeren", Boolean), ("omschrijving", Unicode), ("voorkeur", Integer)]


class Profiel(KP):
    _type_info = [
        ("instantie", Instantie),
        ("privacyprotocol", Privacyprotocol),
        ("doelgroep", Unicode),
        ("signaleringscriteria", Unicode),
        ("procedures", Unicode),
        ("meldingLooptijdJaren", Integer),
        ("regie", Regierol),
        ("gemeente", Unicode),
        ("sector", Unicode),
        ("aanwijzingVerplicht", Boolean),
    ]


ProfielenOpvragen = _element("ProfielenOpvragen", [("stuurgegevens", Stuurgegevens), ("oin", Unicode)])
ProfielenOpvragenResponse = _element(
    "ProfielenOpvragenResponse", [("stuurgegevens", StuurgegevensAntwoord), ("profiel", _many(Profiel))]
)
MeldingsbevoegdeAanwijzen = _element(
    "MeldingsbevoegdeAanwijzen",
    [
        ("stuurgegevens", Stuurgegevens),
        ("medewerkerId", Unicode),
        ("naam", Unicode),
        ("functie", Unicode),
        ("telefoon", Unicode),
        ("email", Unicode),
    ],
)
MeldingsbevoegdeAanwijzenResponse = _element(
    "MeldingsbevoegdeAanwijzenResponse",
    [("stuurgegevens", StuurgegevensAntwoord), ("medewerkerId", Unicode), ("aangewezenSinds", DateTime)],
)
