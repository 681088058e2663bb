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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from gateway.brp.bestand import Bevolking
from gateway.domain.regels import Regels
from gateway.index import Verwijsindex
from gateway.log.logboek import Logboek
from gateway.log.regel import Regel
from store import models as m
from store.db import Database
from store.repository import ACTIEF, Repository


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
        self.s = session

    def verwanten(self, bsn: str) -> set[str]:
        return Repository(self.s).verwanten(bsn)

    def levensdata(self, bsn: str) -> tuple[date, date | None] | None:
        p = self.s.get(m.BrpPersoon, bsn)
        return None if p is None else (p.geboortedatum, p.overlijdensdatum)


@dataclass(frozen=True)
class Geladen:
    personen: int
    adressen: int
    verhuisd: int  # youths with an active melding whose home address changed
    verhuissignalen: int


def _adressen_van_jongeren(s: Session) -> dict[str, str | None]:
    """Home address of every youth with an active melding, by BSN, as the register has it now."""
    q = (
        select(m.BrpPersoon.bsn, m.BrpPersoon.adres_id)
        .join(m.Jongere, m.Jongere.sleutel == "bsn:" + m.BrpPersoon.bsn)
        .where(select(m.Melding.id).where(m.Melding.jongere_id == m.Jongere.id, m.Melding.status == ACTIEF).exists())
    )
    return {bsn: adres for bsn, adres in s.execute(q)}


def _chunks(rows: list[Any], n: int = 5000) -> Iterable[list[Any]]:
    for i in range(0, len(rows), n):
        yield rows[i : i + n]


def laden(db: Database, bevolking: Bevolking, regels: Regels, logboek: Logboek, nu: datetime) -> Geladen:
    with db.transaction() as s:
        voor = _adressen_van_jongeren(s)
        for tabel in (m.BrpOuder, m.BrpPersoon, m.BrpAdres):
            s.execute(delete(tabel))
        adressen = [
            {"id": a.id, "postcode": a.postcode, "huisnummer": a.huisnummer, "gemeente": a.gemeente,
             "instelling": a.instelling}
            for a in bevolking.adressen
        ]  # fmt: skip
        personen = [
            {"bsn": p.bsn, "geboortedatum": p.geboortedatum, "geslacht": p.geslacht,
             "overlijdensdatum": p.overlijdensdatum, "adres_id": p.adres}
            for p in bevolking.personen
        ]  # fmt: skip
        ouders = [{"kind_bsn": p.bsn, "ouder_bsn": o} for p in bevolking.personen for o in dict.fromkeys(p.ouders)]
        for tabel, rows in ((m.BrpAdres, adressen), (m.BrpPersoon, personen), (m.BrpOuder, ouders)):
            for chunk in _chunks(rows):
                s.execute(insert(tabel), chunk)
        na = _adressen_van_jongeren(s)
        ix = Verwijsindex(Repository(s), regels, nu)
        verhuisd = sorted(b for b, adres in voor.items() if b in na and na[b] != adres)
        signalen = 0
        for bsn in verhuisd:
            jid = ix.repo.bestaande_jongere(f"bsn:{bsn}")
            assert jid is not None
            for melding in ix.repo.actieve_meldingen(jid):
                if melding.bron_systeem is None:
                    ix.verhuissignaal(melding)
                    signalen += 1
        # Households and parents may have changed: every youth with an active melding or a family match.
        betrokken = s.scalars(
            select(m.Jongere.id)
            .where(
                select(m.Melding.id).where(m.Melding.jongere_id == m.Jongere.id, m.Melding.status == ACTIEF).exists()
                | select(m.Match.id)
                .where(m.Match.jongere_id == m.Jongere.id, m.Match.status == ACTIEF, m.Match.soort == "gezinsmatch")
                .exists()
            )
            .order_by(m.Jongere.id)
        ).all()
        for jid in betrokken:
            ix.herbereken_gezin(jid)
        resultaat = Geladen(len(personen), len(adressen), len(verhuisd), signalen)
        verslag = {
            "peildatum": bevolking.peildatum.isoformat(),
            "personen": resultaat.personen,
            "adressen": resultaat.adressen,
            "verhuisd": resultaat.verhuisd,
            "verhuissignalen": signalen,
        }
        logboek.schrijf(s, [Regel(logboek.nu(), "beheer", "brp-laden", "beheerder", json.dumps(verslag).encode())])
    logboek.misschien_checkpoint()
    return resultaat
