"""The kinds and states of the verwijsindex, as they are stored and as the contract names them.

The values are the strings of the contract (``schemas/xsd/gegevens-v1.xsd``) and of the database columns,
so a member compares equal to, and is stored as, that string.
"""

from __future__ import annotations

from enum import StrEnum


class MeldingStatus(StrEnum):
    ACTIEF = "actief"
    GEARCHIVEERD = "gearchiveerd"  # ended with the risk gone or at its end date: kept for the archive period
    BEEINDIGD = "beeindigd"  # ended otherwise (another system's melding, or deleted right after)
    INGETROKKEN = "ingetrokken"  # another system's melding, withdrawn there


class MatchSoort(StrEnum):
    CLIENTMATCH = "clientmatch"  # active meldingen of two or more instanties on one youth
    GEZINSMATCH = "gezinsmatch"  # active meldingen on related youths (population register)


class MatchStatus(StrEnum):
    ACTIEF = "actief"
    BEEINDIGD = "beeindigd"


class SignaalSoort(StrEnum):
    NIEUWE_MATCH = "nieuweMatch"
    GEWIJZIGDE_MATCH = "gewijzigdeMatch"
    BEEINDIGDE_MATCH = "beeindigdeMatch"
    VERHUIZING = "verhuizing"
    ARCHIEFSIGNAAL = "archiefsignaal"
    MELDING_VERLOOPT_BINNENKORT = "meldingVerlooptBinnenkort"
    MELDING_BEEINDIGD = "meldingBeeindigd"  # the receiver's own melding ended without its doing; with the reason


class Reden(StrEnum):
    """Why a melding ends: by its instantie (the contract's RedenBeeindiging), or by the index itself."""

    ONTERECHT = "onterecht"  # unjustified: deleted
    RISICO_WEGGENOMEN = "risicoWeggenomen"  # the risk is gone: archived
    VERLOPEN = "verlopen"  # its planned end date passed: archived
    LEEFTIJD = "leeftijd"  # the youth turned 23: deleted
    OVERLIJDEN = "overlijden"  # the youth died: deleted
    GEWIST = "gewist"  # the data subject's erasure (``vir-gateway betrokkene wissen``): deleted


# Reasons the filer did not give itself: its record system learns them by a ``meldingBeeindigd`` signal.
BUITEN_FILER = frozenset({Reden.VERLOPEN, Reden.LEEFTIJD, Reden.OVERLIJDEN, Reden.GEWIST})

# Ending reasons that keep the melding in the archive (Jeugdwet: risk gone, or expired); the rest delete.
ARCHIVEREN = frozenset({Reden.RISICO_WEGGENOMEN, Reden.VERLOPEN})
