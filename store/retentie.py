"""The reads and deletes of the retention run (``gateway.onderhoud``), inside one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, exists, literal, or_, select
from sqlalchemy.orm import Session

from store import models as m
from store.repository import ACTIEF
from store.sporen import Sporen

GEARCHIVEERD = "gearchiveerd"


class Retentie:
    def __init__(self, session: Session) -> None:
        self.s = session

    def melding(self, rij_id: int) -> m.Melding | None:
        return self.s.get(m.Melding, rij_id)

    def jongeren_te_verwijderen(self, vandaag: date, geboren_uiterlijk: date) -> dict[int, str]:
        """Youths whose meldingen must all go, by id: ``overlijden`` (died on or before ``vandaag``) or
        ``leeftijd`` (born on or before ``geboren_uiterlijk``), from the birth date on record and the
        population register."""
        p = m.BrpPersoon
        overleden = p.overlijdensdatum.is_not(None) & (p.overlijdensdatum <= vandaag)
        uit_brp = (
            select(m.Jongere.id, overleden)
            .join(p, m.Jongere.sleutel == literal("bsn:") + p.bsn)
            .where(overleden | (p.geboortedatum <= geboren_uiterlijk))
        )
        redenen = {
            jid: "leeftijd"
            for jid in self.s.scalars(select(m.Jongere.id).where(m.Jongere.geboortedatum <= geboren_uiterlijk))
        }
        for jid, dood in self.s.execute(uit_brp):
            redenen[jid] = "overlijden" if dood else "leeftijd"
        return redenen

    def actieve_meldingen_van(self, jongeren: Sequence[int], aantal: int) -> Sequence[int]:
        """Up to ``aantal`` active meldingen (row ids) of these youths."""
        return self.s.scalars(
            select(m.Melding.id)
            .where(m.Melding.jongere_id.in_(jongeren), m.Melding.status == ACTIEF)
            .order_by(m.Melding.id)
            .limit(aantal)
        ).all()

    def verlopen_meldingen(self, vandaag: date, aantal: int) -> Sequence[int]:
        """Up to ``aantal`` active meldingen whose planned end date has come."""
        return self.s.scalars(
            select(m.Melding.id)
            .where(m.Melding.status == ACTIEF, m.Melding.geplande_einddatum <= vandaag)
            .order_by(m.Melding.id)
            .limit(aantal)
        ).all()

    def te_waarschuwen(self, uiterlijk: date, aantal: int) -> Sequence[int]:
        """Up to ``aantal`` of our own active meldingen ending on or before ``uiterlijk`` whose filer has not
        been warned yet."""
        return self.s.scalars(
            select(m.Melding.id)
            .where(
                m.Melding.status == ACTIEF,
                m.Melding.bron_systeem.is_(None),
                m.Melding.verloop_gemeld.is_(False),
                m.Melding.geplande_einddatum <= uiterlijk,
            )
            .order_by(m.Melding.id)
            .limit(aantal)
        ).all()

    def vernietig_archief(self, vandaag: date, jongeren: Iterable[int]) -> list[str]:
        """Destroy archived meldingen past their archive period or of these youths; their meldingIds."""
        ids = list(jongeren)
        archief = self.s.scalars(
            select(m.Melding).where(
                m.Melding.status == GEARCHIVEERD,
                or_(m.Melding.archief_tot <= vandaag, m.Melding.jongere_id.in_(ids) if ids else m.Melding.id < 0),
            )
        ).all()
        weg = [a.melding_id for a in archief]
        for a in archief:
            self.s.delete(a)
        self.s.flush()
        Sporen(self.s).vergeet(weg)
        return weg

    def vergeet_lege_jongeren(self) -> int:
        """Forget youths with nothing left on record: their key, their ended matches and contacts."""
        vergeten = self.s.scalars(
            select(m.Jongere.id).where(~exists().where(m.Melding.jongere_id == m.Jongere.id))
        ).all()
        if vergeten:
            # Signals and stored answers that still show their matches go with them.
            Sporen(self.s).vergeet((), self.s.scalars(select(m.Match.match_id).where(m.Match.jongere_id.in_(vergeten))))
            matches = select(m.Match.id).where(m.Match.jongere_id.in_(vergeten))
            self.s.execute(delete(m.Afstemming).where(m.Afstemming.match_id.in_(matches)))
            self.s.execute(delete(m.Match).where(m.Match.jongere_id.in_(vergeten)))
            self.s.execute(delete(m.Jongere).where(m.Jongere.id.in_(vergeten)))
        return len(vergeten)

    def vergeet_antwoorden(self, voor: datetime) -> int:
        """Stored answers (for retries) of requests handled before ``voor``: the retry window has passed."""
        result: Any = self.s.execute(delete(m.Bericht).where(m.Bericht.tijdstip < voor))
        return int(result.rowcount)

    def vergeet_signalen(self, voor: datetime) -> int:
        """Signals their instantie has acknowledged (and, with a push endpoint, received by push), and every
        signal that arose before ``voor``."""
        i = m.Instantie
        afgehandeld = exists().where(
            i.id == m.Signaal.instantie_id,
            m.Signaal.volgnummer <= i.signaal_bevestigd,
            or_(i.callback_url.is_(None), m.Signaal.volgnummer <= i.push_tot),
        )
        result: Any = self.s.execute(delete(m.Signaal).where(or_(afgehandeld, m.Signaal.tijdstip < voor)))
        return int(result.rowcount)

    def vergeet_afgeleverd(self) -> int:
        """Deliveries to other systems that were made (their payload carries a contact card)."""
        return Sporen(self.s).vergeet_afgeleverd()

    def vergeet_beheerders(self, ingetrokken_voor: datetime) -> int:
        """Console operators whose access was revoked before ``ingetrokken_voor`` (the log retention): the
        log entries that name them have lost their payloads by then, and nobody needs the row to read them."""
        res = self.s.execute(
            delete(m.Beheerder).where(m.Beheerder.actief.is_(False), m.Beheerder.ingetrokken < ingetrokken_voor)
        )
        return int(getattr(res, "rowcount", 0) or 0)

    def vergeet_bevoegden(self, ingetrokken_voor: datetime) -> int:
        """Designated professionals whose designation was revoked before ``ingetrokken_voor`` (the log
        retention): their meldingen were handed over or have ended, and the log payloads naming them are gone."""
        res = self.s.execute(
            delete(m.MeldingsbevoegdeRij).where(
                m.MeldingsbevoegdeRij.actief.is_(False), m.MeldingsbevoegdeRij.ingetrokken < ingetrokken_voor
            )
        )
        return int(getattr(res, "rowcount", 0) or 0)

    def vergeet_message_ids(self, voor: datetime) -> None:
        """MessageIDs of signed requests recorded before ``voor`` (their Timestamp can no longer pass)."""
        self.s.execute(delete(m.WsaBericht).where(m.WsaBericht.tijdstip < voor))
