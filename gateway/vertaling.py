"""Between the wire and the domain: one converter per direction, for both services.

    *_uit_bericht   a Spyne message object (``gateway.berichten``) → a domain value
    *_naar_bericht  a domain value → a Spyne message object

Nothing here reads the store or applies a business rule beyond what the message itself says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from gateway import berichten as B
from gateway.domain.jongere import Jongere
from gateway.domain.model import Contactkaart, MatchBeeld, Meldingsbevoegde, SignaalBeeld
from gateway.domain.regels import Regels
from gateway.domain.sleutelring import Sleutelring
from gateway.domain.tijd import in_utc
from gateway.errors import GatewayError, RuleError

# --- message → domain ---------------------------------------------------------------------------


def meldingsbevoegde_uit_bericht(bericht: Any) -> Meldingsbevoegde:
    return Meldingsbevoegde(bericht.naam, bericht.functie, bericht.telefoon, bericht.email)


def kaart_uit_bericht(bericht: Any) -> Contactkaart:
    return Contactkaart(
        bericht.instantie.oin,
        bericht.instantie.naam,
        bericht.instantie.vestiging,
        meldingsbevoegde_uit_bericht(bericht.meldingsbevoegde),
        bericht.bronsysteem,
    )


def controleer_bsn_toegestaan(bericht: Any, bsn_toegestaan: bool, xpath: str) -> None:
    """The one check of a youth that needs the sender's profile, and the first: may it send BSNs?"""
    if bericht.bsn is not None and not bsn_toegestaan:
        raise RuleError(code="VIR-BSN-NIET-TOEGESTAAN", xpath=f"{xpath}/g:bsn")


def jongere_gelezen(
    bericht: Any, *, regels: Regels, vandaag: date, xpath: str, vsn_ring: Callable[[], Sleutelring]
) -> Jongere | GatewayError:
    """The youth of a request, checked as far as the message itself allows (BSN check digit, age), its refusal
    (or a key ring that cannot be read) returned rather than raised: it is read before the request's transaction
    (``gateway/afgifte.py``) and raised in it after ``controleer_bsn_toegestaan``. ``xpath``: where the youth
    stands in the request, for the faults; ``vsn_ring``: the national key of the verwijsindex-servicenummer,
    asked only for a youth without BSN."""
    try:
        if bericht.bsn is not None:
            regels.controleer_bsn(bericht.bsn, f"{xpath}/g:bsn")
            regels.controleer_leeftijd(bericht.geboortedatum, vandaag, f"{xpath}/g:geboortedatum")
            return Jongere.met_bsn(bericht.bsn, bericht.geboortedatum)
        zonder = bericht.zonderBsn
        regels.controleer_leeftijd(zonder.geboortedatum, vandaag, f"{xpath}/g:zonderBsn/g:geboortedatum")
        return Jongere.zonder_bsn(
            zonder.geslachtsnaam, zonder.voorvoegsel, zonder.geboortedatum, zonder.geslacht, vsn_ring()
        )
    except GatewayError as exc:
        return exc


def regie_uit_bericht(bericht: Any) -> dict[str, Any] | None:
    """A match's coordination as the federation message carries it, in the message's own shape (plain values)."""
    if bericht is None:
        return None
    staat: dict[str, Any] = {}
    if bericht.regievoerder is not None and bericht.gekozen is not None:
        staat["regievoerder"] = {"systeem": bericht.regievoerder.systeem, "oin": bericht.regievoerder.oin}
        staat["gekozen"] = in_utc(bericht.gekozen).isoformat()
        staat["gekozenDoor"] = bericht.gekozenDoor or bericht.regievoerder.systeem
    if bericht.laatsteAfstemming is not None:
        af = bericht.laatsteAfstemming
        staat["laatsteAfstemming"] = {
            "datum": af.datum.isoformat(),
            "partij": {"systeem": af.partij.systeem, "oin": af.partij.oin},
        }
    return staat or None


# --- domain → message ---------------------------------------------------------------------------


def kaart_naar_bericht(kaart: Contactkaart) -> Any:
    mb = kaart.meldingsbevoegde
    return B.Contactkaart(
        instantie=B.Instantie(oin=kaart.oin, naam=kaart.naam, vestiging=kaart.vestiging),
        meldingsbevoegde=B.Meldingsbevoegde(naam=mb.naam, functie=mb.functie, telefoon=mb.telefoon, email=mb.email),
        bronsysteem=kaart.bronsysteem,
    )


def match_naar_bericht(beeld: MatchBeeld) -> Any:
    return B.Match(
        matchId=beeld.match_id,
        meldingId=beeld.melding_id,
        soort=beeld.soort,
        status=beeld.status,
        sinds=in_utc(beeld.sinds),
        partij=[kaart_naar_bericht(p) for p in beeld.partijen],
        regievoerder=beeld.regievoerder,
        laatsteAfstemming=beeld.laatste_afstemming,
    )


def archief_naar_bericht(kaarten: tuple[Contactkaart, ...] | None) -> Any:
    return B.Archiefsignaal(partij=[kaart_naar_bericht(k) for k in kaarten]) if kaarten else None


def signaal_naar_bericht(signaal: SignaalBeeld) -> Any:
    """A notification as the pull queue and the push endpoint carry it."""
    return B.Signaal(
        volgnummer=signaal.volgnummer,
        soort=signaal.soort,
        tijdstip=in_utc(signaal.tijdstip),
        meldingId=signaal.melding_id,
        match=match_naar_bericht(signaal.match) if signaal.match else None,
        archiefsignaal=archief_naar_bericht(signaal.archief),
        einddatum=signaal.einddatum,
        reden=signaal.reden,
    )


def eigen_melding_naar_bericht(melding: Any) -> Any:
    """One of the caller's own meldingen (a ``store.models.Melding``): its state, nothing of the youth."""
    return B.EigenMelding(
        meldingId=melding.melding_id,
        status=melding.status,
        afgegeven=in_utc(melding.afgegeven),
        geplandeEinddatum=melding.geplande_einddatum,
        beeindigd=in_utc(melding.beeindigd) if melding.beeindigd else None,
        reden=melding.reden,
    )


def bevinding_naar_bericht(code: str, nl: str, en: str, xpath: str | None) -> Any:
    """One finding of ``BerichtValideren`` or one refused item of a batch."""
    return B.Bevinding(
        code=code, xpath=xpath, melding=[B.Foutmelding(taal="nl", tekst=nl), B.Foutmelding(taal="en", tekst=en)]
    )


def fout_naar_bevinding(exc: GatewayError) -> Any:
    return bevinding_naar_bericht(exc.code, exc.message_nl, exc.message_en, exc.xpath)


# --- organisation profiles (ProfielenOpvragen) ----------------------------------------------------


def profiel_naar_bericht(p: dict[str, Any]) -> Any:
    """A profile as chain partners read it (``gateway.profielen.gedeeld_profiel``)."""
    privacy = p["privacyprotocol"]
    regie = p["regie"]
    return B.Profiel(
        instantie=B.Instantie(oin=p["oin"], naam=p["naam"], vestiging=p["vestiging"]),
        privacyprotocol=B.Privacyprotocol(**privacy) if privacy else None,
        doelgroep=p["doelgroep"],
        signaleringscriteria=p["signaleringscriteria"],
        procedures=p["procedures"],
        meldingLooptijdJaren=p["meldingLooptijdJaren"],
        regie=B.Regierol(
            magRegievoeren=regie["magRegievoeren"], omschrijving=regie["omschrijving"], voorkeur=regie["voorkeur"]
        ),
        gemeente=p["gemeente"],
        sector=p["sector"],
        aanwijzingVerplicht=p["aanwijzingVerplicht"],
    )
