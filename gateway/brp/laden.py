"""The embedded population register: loading a snapshot, and what the index does with a change.

``Bevolkingsregister`` is the adapter interface the index relies on; ``EmbeddedBrp`` answers it
from the ``brp_*`` tables that ``vir-gateway brp load FILE`` fills. A connection to the real BRP
(through a provider such as the Haal Centraal API) would implement the same interface and feed the
same tables or answer directly.

A load replaces the register as a whole (a file is the register as of its peildatum) in one
transaction with its consequences: a youth with an active melding whose home address changed gives
its reporters a ``verhuizing`` signal, and every family match is recomputed, since households and
parents may have changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.orm import Session

from gateway.brp.bestand import Bevolking
from gateway.domain.regels import Regels
from gateway.index import Verwijsindex
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from store.bevolking import Bevolkingstabellen
from store.db import Database
from store.outbox import Outbox
from store.repository import Repository


class Bevolkingsregister(Protocol):
    """What the index asks of the population register."""

    def verwanten(self, bsn: str) -> set[str]:
        """Persons sharing a non-institution home address or a parent with ``bsn``."""
        ...

    def levensdata(self, bsn: str) -> tuple[date, date | None] | None:
        """Birth date and death date (None while alive), or None if unknown."""
        ...


class EmbeddedBrp:
    """The register in our own tables (``vir-gateway brp load``)."""

    def __init__(self, session: Session) -> None:
        self.tabellen = Bevolkingstabellen(session)

    def verwanten(self, bsn: str) -> set[str]:
        return self.tabellen.verwanten(bsn)

    def levensdata(self, bsn: str) -> tuple[date, date | None] | None:
        return self.tabellen.levensdata(bsn)


@dataclass(frozen=True)
class Geladen:
    personen: int
    adressen: int
    verhuisd: int  # youths with an active melding whose home address changed
    verhuissignalen: int


def laden(
    db: Database,
    bevolking: Bevolking,
    regels: Regels,
    logboek: Logboek,
    nu: datetime,
    *,
    actor: str,
    federatie: Callable[[Session], Outbox] | None = None,
) -> Geladen:
    """Replace the register; the load and its ``beheer`` entry (naming ``actor``, the operator) commit together.
    ``federatie``: this node's outbox. On a hub the register carries every person's federation pseudonym, so it
    relates youths other systems name by pseudonym only, and their systems learn the family matches."""
    with db.transaction() as s:
        tabellen = Bevolkingstabellen(s)
        voor = tabellen.adressen_van_jongeren()
        adressen = [
            {"id": a.id, "postcode": a.postcode, "huisnummer": a.huisnummer, "gemeente": a.gemeente,
             "instelling": a.instelling}
            for a in bevolking.adressen
        ]  # fmt: skip
        outbox = federatie(s) if federatie is not None else None
        pseudoniem = outbox.pseudoniem if outbox is not None and outbox.hub else None
        personen = [
            {"bsn": p.bsn, "geboortedatum": p.geboortedatum, "geslacht": p.geslacht,
             "overlijdensdatum": p.overlijdensdatum, "adres_id": p.adres,
             "pseudoniem": pseudoniem(f"bsn:{p.bsn}") if pseudoniem is not None else None}
            for p in bevolking.personen
        ]  # fmt: skip
        ouders = [{"kind_bsn": p.bsn, "ouder_bsn": o} for p in bevolking.personen for o in dict.fromkeys(p.ouders)]
        tabellen.vervang(adressen, personen, ouders)
        na = tabellen.adressen_van_jongeren()
        repo = Repository(s)
        index = Verwijsindex(repo, regels, nu, outbox)
        verhuisd = sorted(b for b, adres in voor.items() if b in na and na[b] != adres)
        signalen = 0
        for bsn in verhuisd:
            jongere_id = repo.bestaande_jongere(f"bsn:{bsn}")
            assert jongere_id is not None
            for melding in repo.actieve_meldingen(jongere_id):
                if melding.bron_systeem is None:
                    index.verhuissignaal(melding)
                    signalen += 1
        # Households and parents may have changed: every youth with an active melding or a family match.
        for jongere_id in tabellen.jongeren_met_actieve_melding_of_gezinsmatch():
            index.herbereken_gezin(jongere_id)
        index.afronden()
        resultaat = Geladen(len(personen), len(adressen), len(verhuisd), signalen)
        verslag = {
            "peildatum": bevolking.peildatum.isoformat(),
            "personen": resultaat.personen,
            "adressen": resultaat.adressen,
            "verhuisd": resultaat.verhuisd,
            "verhuissignalen": signalen,
        }
        logboek.schrijf(s, [Logregel(logboek.nu(), "beheer", "brp-laden", actor, json.dumps(verslag).encode())])
    logboek.misschien_checkpoint()
    return resultaat
