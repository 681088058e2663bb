"""The key under which the index knows a youth.

With a BSN the key is ``bsn:<BSN>``. Without one, the index derives a verwijsindex-servicenummer from
the normalised family name (with prefix), birth date and sex, so that two organisations that write the
same youth's name the same way find each other. Name, birth date and sex are few enough to try them all,
so the number is keyed: an HMAC-SHA256 under the national key (``VIR_VSN_SLEUTEL``, a versioned key ring,
``gateway.domain.sleutelring``) that every node holds and nobody else does:

    normalise(name) = lower-case letters a–z only, after removing accents ("Çelik-de Vries" → "celikdevries")
    material = normalise(voorvoegsel + geslachtsnaam) + "|" + birth date + "|" + sex
    vsn(v)   = first 32 hex digits of HMAC-SHA256(key version v, "vir-vsn" NUL material)
    key      = "vsn:" + v + ":" + vsn(v)

Version 0 is the unkeyed number of earlier releases (``"vsn:" + first 16 hex digits of SHA-256("v1|" +
material)``). A youth filed again is found under the key of any version still in the ring (or version 0), and
its row takes the current key (``Jongere.eerdere``; docs/federation.md describes the migration).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date

from gateway.domain.sleutelring import Sleutelring

VSN_DOEL = "vir-vsn"


def normaliseer_naam(naam: str) -> str:
    decomposed = unicodedata.normalize("NFKD", naam)
    return "".join(c for c in decomposed.lower() if "a" <= c <= "z")


def _materiaal(geslachtsnaam: str, voorvoegsel: str | None, geboortedatum: date, geslacht: str) -> str:
    naam = normaliseer_naam((voorvoegsel or "") + geslachtsnaam)
    return f"{naam}|{geboortedatum.isoformat()}|{geslacht}"


def servicenummer(
    geslachtsnaam: str, voorvoegsel: str | None, geboortedatum: date, geslacht: str, ring: Sleutelring, versie: int
) -> str:
    """The key (``vsn:…``) of a youth without BSN under key version ``versie`` (0: the unkeyed one)."""
    materiaal = _materiaal(geslachtsnaam, voorvoegsel, geboortedatum, geslacht)
    if versie == 0:
        return "vsn:" + hashlib.sha256(f"v1|{materiaal}".encode()).hexdigest()[:16]
    return f"vsn:{versie}:{ring.mac(VSN_DOEL, materiaal, versie).hex()[:32]}"


@dataclass(frozen=True)
class Jongere:
    sleutel: str
    geboortedatum: date | None
    # Keys the same youth had under earlier versions of the national key: a row under one of them is the
    # youth's, and takes ``sleutel``.
    eerdere: tuple[str, ...] = ()

    @classmethod
    def met_bsn(cls, bsn: str, geboortedatum: date | None) -> Jongere:
        return cls(f"bsn:{bsn}", geboortedatum)

    @classmethod
    def zonder_bsn(
        cls, geslachtsnaam: str, voorvoegsel: str | None, geboortedatum: date, geslacht: str, ring: Sleutelring
    ) -> Jongere:
        sleutels = [
            servicenummer(geslachtsnaam, voorvoegsel, geboortedatum, geslacht, ring, v)
            for v in (*sorted(ring.versies, reverse=True), 0)
        ]
        return cls(sleutels[0], geboortedatum, tuple(sleutels[1:]))


PSEUDONIEM_DOEL = "vir-pseudoniem"


def pseudoniem(sleutel: str, ring: Sleutelring) -> str:
    """The youth's federation pseudonym: ``psn:<version>:`` + the first 32 hex digits of HMAC-SHA256 of its key
    under the federation key (``VIR_FEDERATIE_SLEUTEL``) in use. Only nodes of the federation can compute it,
    so a pseudonym cannot be tested against a list of BSNs by anyone else. A pseudonym is its own."""
    if sleutel.startswith("psn:"):
        return sleutel
    return f"psn:{ring.huidig}:{ring.mac(PSEUDONIEM_DOEL, sleutel)[:16].hex()}"


def pseudoniem_versie(waarde: str) -> int | None:
    """The key version of a pseudonym (None: not a pseudonym)."""
    delen = waarde.split(":")
    if len(delen) != 3 or delen[0] != "psn" or not delen[1].isdigit():
        return None
    return int(delen[1])
