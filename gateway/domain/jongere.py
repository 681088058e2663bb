"""The key under which the index knows a youth.

With a BSN the key is ``bsn:<BSN>``. Without one, the index derives a verwijsindex-servicenummer from
the normalised family name (with prefix), birth date and sex, so that two organisations that write the
same youth's name the same way find each other:

    normalise(name) = lower-case letters a–z only, after removing accents ("Çelik-de Vries" → "celikdevries")
    vsn = first 16 hex digits of SHA-256("v1|" + normalise(voorvoegsel + geslachtsnaam) + "|" + birth date + "|" + sex)
    key = "vsn:" + vsn

The derivation is deterministic, so every node of a federation computes the same key.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import date


def normaliseer_naam(naam: str) -> str:
    decomposed = unicodedata.normalize("NFKD", naam)
    return "".join(c for c in decomposed.lower() if "a" <= c <= "z")


def servicenummer(geslachtsnaam: str, voorvoegsel: str | None, geboortedatum: date, geslacht: str) -> str:
    naam = normaliseer_naam(f"{voorvoegsel or ''}{geslachtsnaam}")
    material = f"v1|{naam}|{geboortedatum.isoformat()}|{geslacht}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


@dataclass(frozen=True)
class Jongere:
    sleutel: str
    geboortedatum: date | None

    @classmethod
    def met_bsn(cls, bsn: str, geboortedatum: date | None) -> Jongere:
        return cls(f"bsn:{bsn}", geboortedatum)

    @classmethod
    def zonder_bsn(cls, geslachtsnaam: str, voorvoegsel: str | None, geboortedatum: date, geslacht: str) -> Jongere:
        return cls(f"vsn:{servicenummer(geslachtsnaam, voorvoegsel, geboortedatum, geslacht)}", geboortedatum)
